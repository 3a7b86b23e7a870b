/**
 * `tunescope predict --model ID_OR_DIR "sentence" …` (or `--file TSV`): label and class probabilities per text,
 * as HF's text-classification pipeline with top_k=None (softmax over the logits, eval mode).
 */
import type { Command } from 'commander';
import { positiveInt } from '../options.js';
import { loadPretrained, nonFiniteTensor, DistilBertForSequenceClassification, type Batch } from '../../model/index.js';
import { loadTokenizer } from '../../tokenizer/index.js';
import { UserError, decodeUtf8, readRegularFile, stringifyJson } from '../../util/index.js';

export interface Prediction {
  text: string;
  label: string;
  score: number;
  probabilities: Record<string, number>;
  /** The gold label when the TSV has a label column. */
  gold?: string;
}

interface PredictOptions {
  model: string;
  file?: string;
  textColumn?: string;
  labelColumn?: string;
  maxLength?: string;
  batchSize?: string;
  json?: boolean;
  offline?: boolean;
  revision?: string;
  tokenizer?: string;
  threads?: string;
  device?: string;
}

function posInt(v: string | undefined, flag: string): number | undefined {
  return v === undefined ? undefined : positiveInt(flag)(v);
}

/** GLUE-style TSV: a header naming the text column (`sentence`/`text` or --text-column), or one text per line without header. */
export function readTextsTsv(path: string, textColumn?: string, labelColumn?: string): { texts: string[]; gold: (string | undefined)[] } {
  const bytes = readRegularFile(path); // a FIFO would block the read for ever
  const raw = decodeUtf8(bytes, path);
  const lines = raw.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new UserError(`${path}: empty file`);
  const header = lines[0]!.split('\t');
  let col = textColumn !== undefined ? header.indexOf(textColumn) : header.findIndex((h) => h === 'sentence' || h === 'text');
  if (textColumn !== undefined && col < 0) throw new UserError(`${path}: line 1: no column ${JSON.stringify(textColumn)} in header [${header.join(', ')}]`);
  const texts: string[] = [];
  const gold: (string | undefined)[] = [];
  if (col < 0) {
    if (header.length > 1) {
      throw new UserError(`${path}: line 1: no "sentence" or "text" column in header [${header.join(', ')}]; name it with --text-column`);
    }
    // one text per line, no header
    lines.forEach((l, i) => {
      if (l.trim() === '') throw new UserError(`${path}: line ${i + 1}: empty text`);
      texts.push(l);
      gold.push(undefined);
    });
    return { texts, gold };
  }
  const lcol = labelColumn !== undefined ? header.indexOf(labelColumn) : header.indexOf('label');
  if (labelColumn !== undefined && lcol < 0) throw new UserError(`${path}: line 1: no column ${JSON.stringify(labelColumn)} in header`);
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.split('\t');
    if (f.length !== header.length) throw new UserError(`${path}: line ${i + 1}: ${f.length} columns, header has ${header.length}`);
    const t = f[col]!;
    if (t.trim() === '') throw new UserError(`${path}: line ${i + 1}, column ${JSON.stringify(header[col])}: empty text`);
    texts.push(t);
    gold.push(lcol >= 0 ? f[lcol] : undefined);
  }
  if (texts.length === 0) throw new UserError(`${path}: no rows after the header`);
  return { texts, gold };
}

/** Loads model + tokenizer once and classifies texts in batches (dynamic padding to each batch's longest). */
export async function predictTexts(
  texts: string[],
  opts: { model: string; maxLength?: number; batchSize?: number; offline?: boolean; revision?: string; tokenizerDir?: string; intraOpNumThreads?: number; device?: string },
): Promise<{ predictions: Prediction[]; notes: string[] }> {
  const pm = await loadPretrained(opts.model, { hub: { offline: opts.offline || undefined, revision: opts.revision } });
  // NaN/Inf weights (a diverged run saved as is) give NaN probabilities with a made-up label: refuse them by name
  const bad = nonFiniteTensor(pm.parameters);
  if (bad) throw new UserError(`${opts.model}: tensor ${bad.name} holds ${bad.count} NaN/Inf value(s) of ${bad.size}: its predictions would be NaN (weights of a diverged training run?)`);
  const tokDir = opts.tokenizerDir ?? pm.tokenizerDir;
  if (!tokDir) throw new UserError(`${opts.model}: no tokenizer files (tokenizer.json or vocab.txt); pass --tokenizer DIR`);
  const tok = await loadTokenizer(tokDir);
  if (tok.vocabSize > pm.config.vocab_size) {
    throw new UserError(`tokenizer in ${tokDir} has ${tok.vocabSize} tokens but the model's vocab_size is ${pm.config.vocab_size}`);
  }
  const maxLength = Math.min(opts.maxLength ?? tok.modelMaxLength, pm.config.max_position_embeddings);
  const labels = Array.from({ length: pm.config.num_labels }, (_, i) => pm.config.id2label[String(i)] ?? `LABEL_${i}`);
  const net = await DistilBertForSequenceClassification.create(pm.config, pm.parameters, {
    intraOpNumThreads: opts.intraOpNumThreads,
    ...(opts.device !== undefined ? { executionProvider: opts.device } : {}),
  });
  const predictions: Prediction[] = [];
  try {
    const bs = opts.batchSize ?? 32;
    for (let s = 0; s < texts.length; s += bs) {
      const chunk = texts.slice(s, s + bs);
      const enc = tok.encodeBatch(chunk, { maxLength, padding: 'longest' });
      const L = enc.inputIds[0]!.length;
      const batch: Batch = {
        inputIds: Int32Array.from(enc.inputIds.flat()),
        attentionMask: Int32Array.from(enc.attentionMask.flat()),
        batchSize: chunk.length,
        seqLength: L,
      };
      const { logits } = await net.forward(batch);
      const C = labels.length;
      chunk.forEach((text, b) => {
        const row = Array.from(logits.subarray(b * C, (b + 1) * C), Number);
        const m = Math.max(...row);
        const e = row.map((v) => Math.exp(v - m));
        const z = e.reduce((a, v) => a + v, 0);
        const p = e.map((v) => v / z);
        let best = 0;
        for (let c = 1; c < C; c++) if (p[c]! > p[best]!) best = c;
        predictions.push({ text, label: labels[best]!, score: p[best]!, probabilities: Object.fromEntries(labels.map((l, c) => [l, p[c]!])) });
      });
    }
  } finally {
    await net.dispose();
  }
  return { predictions, notes: pm.notes };
}

export function register(program: Command): void {
  program
    .command('predict')
    .description('classify sentences with a DistilBERT checkpoint (local folder or Hub id); prints the label and class probabilities')
    .argument('[texts...]', 'sentences to classify')
    .requiredOption('--model <id-or-dir>', 'model folder (config.json + model.safetensors) or Hugging Face Hub id')
    .option('--file <tsv>', 'TSV with a header and a "sentence"/"text" column (or one sentence per line, no header)')
    .option('--text-column <name>', 'text column of --file')
    .option('--label-column <name>', 'gold label column of --file (default "label" when present): prints accuracy')
    .option('--max-length <n>', 'truncate to this many tokens incl. [CLS]/[SEP] (default: the tokenizer\'s model_max_length)')
    .option('--batch-size <n>', 'texts per forward pass', '32')
    .option('--tokenizer <dir>', 'tokenizer folder when the model has none')
    .option('--threads <n>', 'ONNX Runtime intra-op threads')
    .option('--device <provider>', 'ONNX Runtime execution provider: cpu (default), cuda, webgpu, … where installed')
    .option('--revision <rev>', 'Hub branch, tag or commit', undefined)
    .option('--offline', 'use only the local Hub cache (same as HF_HUB_OFFLINE=1)')
    .option('--json', 'print JSON instead of a table')
    .action(async (textsArg: string[], o: PredictOptions) => {
      const texts = [...textsArg];
      let gold: (string | undefined)[] = texts.map(() => undefined);
      if (o.file) {
        const r = readTextsTsv(o.file, o.textColumn, o.labelColumn);
        texts.push(...r.texts);
        gold = [...gold, ...r.gold];
      }
      if (texts.length === 0) throw new UserError('nothing to classify: give sentences as arguments or --file TSV');
      const { predictions, notes } = await predictTexts(texts, {
        model: o.model,
        maxLength: posInt(o.maxLength, '--max-length'),
        batchSize: posInt(o.batchSize, '--batch-size'),
        offline: o.offline,
        revision: o.revision,
        tokenizerDir: o.tokenizer,
        intraOpNumThreads: posInt(o.threads, '--threads'),
        device: o.device,
      });
      for (const n of notes) process.stderr.write(`tunescope: note: ${n}\n`);
      predictions.forEach((p, i) => {
        if (gold[i] !== undefined) p.gold = gold[i];
      });
      // accuracy when gold labels are given: they may be names (POSITIVE) or class ids (1)
      const labelled = predictions.filter((p) => p.gold !== undefined);
      let accuracy: number | undefined;
      if (labelled.length) {
        const names = Object.keys(predictions[0]!.probabilities);
        const goldName = (g: string): string | undefined => (names.includes(g) ? g : /^\d+$/.test(g) ? names[Number(g)] : undefined);
        // a gold label the model does not know would silently count as wrong: name its line instead
        const first = textsArg.length;
        predictions.forEach((p, i) => {
          if (p.gold !== undefined && goldName(p.gold) === undefined) {
            throw new UserError(
              `${o.file}: line ${i - first + 2}, column ${JSON.stringify(o.labelColumn ?? 'label')}: gold label ${JSON.stringify(p.gold)} is neither a label of the model (${names.join(', ')}) nor a class id 0–${names.length - 1}`,
            );
          }
        });
        const hit = (p: Prediction): boolean => goldName(p.gold!) === p.label;
        accuracy = labelled.filter(hit).length / labelled.length;
      }
      if (o.json) {
        process.stdout.write(stringifyJson(accuracy === undefined ? predictions : { predictions, accuracy, n: labelled.length }, 2) + '\n');
        return;
      }
      const names = Object.keys(predictions[0]!.probabilities);
      const out = [['label', ...names.map((n) => `p(${n})`), 'text'].join('\t')];
      for (const p of predictions) out.push([p.label, ...names.map((n) => p.probabilities[n]!.toFixed(4)), p.text].join('\t'));
      if (accuracy !== undefined) out.push(`# accuracy ${accuracy.toFixed(4)} on ${labelled.length} labelled rows`);
      process.stdout.write(out.join('\n') + '\n');
    });
}
