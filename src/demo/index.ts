/**
 * `tunescope demo`: a small but real study end to end — SST-2, a small from-scratch DistilBERT with the real
 * distilbert-base-uncased vocabulary, a face-centred central composite design over learning rate × batch size ×
 * epochs (three levels each, so the degree-2 model is estimable) with two seeds and replicated centre points, run by
 * two workers; `study plan`'s summary first, then the analysis and the report. Sized to finish in a few minutes on
 * a 2-core machine (see the README's Studies section for the measurement). The spec it writes is an ordinary study
 * spec: rerunning the demo resumes it, `tunescope study …` commands work on it.
 *
 * It composes the study, the analysis and the report, so it lives above all three (src/demo), not inside one.
 */
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { defaultVocabDir } from '../model/index.js';
import { snapshotFiles } from '../hub/index.js';
import { openStore } from '../store/index.js';
import { UserError, ensureDir, stringifyJson } from '../util/index.js';
import { buildReport, loadReportInput, writeReport } from '../report/index.js';
import {
  analyzeStudy, formatPlan, formatStudyAnalysis, loadStudySpec, planStudy, runStudy, specHash, studyRows, type StudyAnalysis, type StudyEvent,
  type StudySummary,
} from '../study/index.js';

export interface DemoOptions {
  out: string;
  workers?: number;
  threadsPerWorker?: number;
  /** training / evaluation sentences (subsampled with seed 42) */
  trainSamples?: number;
  evalSamples?: number;
  /** delete a previous demo store in `out` first */
  fresh?: boolean;
  signal?: AbortSignal;
  quiet?: boolean;
  /** lines of text as the demo goes (header, summary, analysis, footer) */
  print?: (text: string) => void;
  onEvent?: (e: StudyEvent) => void;
}

export interface DemoResult {
  specPath: string;
  storePath: string;
  summary: StudySummary;
  analysis: StudyAnalysis | null;
  files: Record<string, string>;
  seconds: number;
}

const PACKAGE_ROOT = resolve(fileURLToPath(new URL('../../', import.meta.url)));

function findSharedSst2(): string | null {
  for (const base of [join(PACKAGE_ROOT, '..', 'shared'), join(process.cwd(), '..', 'shared'), join(process.cwd(), 'shared')]) {
    const dir = join(base, 'datasets', 'sst2');
    if (existsSync(join(dir, 'train.tsv')) && existsSync(join(dir, 'validation.tsv'))) return resolve(dir);
  }
  return null;
}

/** The example spec for the paper's real model, if the package ships it. */
export function paperSpecPath(): string | null {
  const p = join(PACKAGE_ROOT, 'examples', 'paper-sst2.yaml');
  return existsSync(p) ? p : null;
}

/**
 * A face-centred CCD: learning rate from 2.5e-4 to 4e-3 on a log scale (its centre is 1e-3), batch size 16/32/64 on a
 * log scale, 1–3 epochs. The learning-rate range is wide on purpose: for a from-scratch model it is the factor that
 * matters, and a narrow range hides it under seed noise.
 */
export const DEMO_FACTORS = {
  learning_rate: { min: 2.5e-4, max: 4e-3, scale: 'log' as const },
  per_device_train_batch_size: { values: [16, 32, 64], scale: 'log' as const },
  num_train_epochs: { min: 1, max: 3 },
};
export const DEMO_CENTER_POINTS = 3;
/** The reference configuration: the design's centre (a design point, so the baseline costs no extra fine-tunes). */
export const DEMO_BASELINE = { learning_rate: 1e-3, per_device_train_batch_size: 32, num_train_epochs: 2 };
export const DEMO_SEEDS = [1, 2];
export const DEMO_MODEL = { dim: 32, n_layers: 1, n_heads: 2, hidden_dim: 128, max_position_embeddings: 128 };

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const t0 = Date.now();
  const print = opts.print ?? ((s: string) => process.stdout.write(s + '\n'));
  const out = resolve(opts.out);
  ensureDir(out, '--out');
  const trainSamples = opts.trainSamples ?? 4096;
  const evalSamples = opts.evalSamples ?? 400;

  const sst2 = findSharedSst2();
  let tokenizer = defaultVocabDir();
  if (!tokenizer) {
    print('the distilbert-base-uncased vocabulary is not beside the project: downloading its tokenizer files from the Hub');
    tokenizer = await snapshotFiles('distilbert/distilbert-base-uncased', ['vocab.txt', 'tokenizer.json', 'tokenizer_config.json']);
  }
  const storePath = join(out, 'demo.sqlite');
  const spec = {
    name: 'demo',
    description: 'tunescope demo: a small from-scratch DistilBERT on subsampled SST-2, face-centred CCD over learning rate × batch size × epochs, 2 seeds',
    model: { from_config: DEMO_MODEL, tokenizer },
    dataset: {
      name: sst2 ?? 'sst2',
      ...(sst2 ? { data_dir: sst2 } : {}),
      train_split: 'train',
      eval_split: 'validation',
      max_train_samples: trainSamples,
      max_eval_samples: evalSamples,
      seed: 42,
    },
    baseline: { config: DEMO_BASELINE },
    design: { type: 'ccd', variant: 'face_centered', center_points: DEMO_CENTER_POINTS, factors: DEMO_FACTORS },
    seeds: DEMO_SEEDS,
    args: { max_seq_length: 64 },
    execution: { workers: opts.workers ?? 2, threads_per_worker: opts.threadsPerWorker ?? 1 },
    store: storePath,
    analysis: { degree: 2, log_lr: true, standardize: false, frame: 'both' },
  };
  const specPath = join(out, 'demo.yaml');
  writeFileSync(specPath, `# written by \`tunescope demo\`; run it again with \`tunescope study run ${specPath}\`\n` + YAML.stringify(spec));
  const parsed = loadStudySpec(specPath);

  if (opts.fresh) {
    for (const f of ['demo.sqlite', 'demo.sqlite-wal', 'demo.sqlite-shm']) rmSync(join(out, f), { force: true });
  } else if (existsSync(storePath)) {
    const s = openStore(storePath);
    try {
      const st = await s.getStudy();
      if (st && st.specHash !== specHash(parsed)) {
        throw new UserError(`${storePath} holds a demo run with other settings: add --fresh to start over, or choose another --out`);
      }
    } finally {
      await s.close();
    }
  }

  const plan = planStudy(parsed);
  print('tunescope demo — a real designed study, end to end');
  print(`  data:     SST-2 ${sst2 ? `(${sst2})` : '(stanfordnlp/sst2 from the Hub)'}: ${trainSamples} training / ${evalSamples} validation sentences, subsampled with seed 42`);
  print(`  model:    a small DistilBERT (dim ${DEMO_MODEL.dim}, ${DEMO_MODEL.n_layers} layer, ${DEMO_MODEL.n_heads} heads) with the real distilbert-base-uncased vocabulary,`);
  print('            initialised FROM SCRATCH with each seed. It is NOT pretrained: its accuracies are far below the paper\'s 0.91;');
  print('            every number below is nevertheless a real fine-tune, evaluated on real SST-2 sentences.');
  print(`  design:   ${plan.design.summary}; × seeds {${DEMO_SEEDS.join(', ')}} = ${plan.n_trials} fine-tunes`);
  print(
    `  baseline: the design centre learning_rate ${DEMO_BASELINE.learning_rate}, per_device_train_batch_size ${DEMO_BASELINE.per_device_train_batch_size}, ` +
      `num_train_epochs ${DEMO_BASELINE.num_train_epochs} (mean over its seeds); relative frame = metric − baseline`,
  );
  print('');
  print('the plan (`tunescope study plan`), before anything trains:');
  print(formatPlan(plan).split('\n').filter((l) => !/^ {4}\S+=/.test(l) && !/points \(natural units/.test(l)).join('\n'));
  print('');
  print(`  store:    ${storePath} (Ctrl-C stops cleanly; run the demo again to resume)`);
  print('');

  const summary = await runStudy(parsed, {
    ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
    ...(opts.threadsPerWorker !== undefined ? { threadsPerWorker: opts.threadsPerWorker } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.quiet !== undefined ? { quiet: opts.quiet } : {}),
    onEvent: (e) => {
      if (e.type === 'warning') print(`warning: ${e.message}`);
      opts.onEvent?.(e);
    },
  });
  const files: Record<string, string> = { spec: specPath, store: storePath };
  print(
    `ran ${summary.ranNow} fine-tune(s) in ${summary.seconds.toFixed(1)} s with ${summary.workers} worker(s) × ${summary.threadsPerWorker} thread(s); ` +
      `${summary.counts.done}/${summary.total} done, ${summary.counts.failed} failed${summary.interrupted ? ' — interrupted: run the demo again to finish' : ''}`,
  );
  let analysis: StudyAnalysis | null = null;
  if (!summary.interrupted) {
    const store = openStore(storePath, { readonly: true });
    try {
      const rows = await studyRows(store);
      const csv = join(out, 'trials.csv');
      const { stringify } = await import('csv-stringify/sync');
      writeFileSync(csv, stringify(rows.rows, { header: true, columns: rows.columns }));
      files.trials = csv;
      analysis = await analyzeStudy(store);
      const json = join(out, 'analysis.json');
      writeFileSync(json, stringifyJson(analysis.json) + '\n');
      files.analysis = json;
    } finally {
      await store.close();
    }
    print('');
    print(formatStudyAnalysis(analysis));
    try {
      const html = join(out, 'report.html');
      writeReport(html, buildReport(await loadReportInput(storePath, { logLr: true, degree: 2, title: 'tunescope demo study (from-scratch DistilBERT on SST-2)' })));
      files.report = html;
    } catch (e) {
      print(`(the HTML report could not be written: ${(e as Error).message})`);
    }
  }
  const paper = paperSpecPath();
  if (paper) {
    copyFileSync(paper, join(out, 'paper-sst2.yaml'));
    files.paperSpec = join(out, 'paper-sst2.yaml');
  }
  print('');
  print('The paper\'s real model: the same study on the pretrained distilbert/distilbert-base-uncased-finetuned-sst-2-english');
  print('(full SST-2, HF default arguments around the paper\'s grid, baseline = its Hub card; hours on a CPU):');
  print(`  tunescope study run ${paper ? files.paperSpec : 'examples/paper-sst2.yaml'}`);
  print('');
  print(`files: ${Object.entries(files).map(([k, v]) => `${k} ${v}`).join('\n       ')}`);
  const seconds = (Date.now() - t0) / 1000;
  print(`demo wall time: ${seconds.toFixed(1)} s`);
  return { specPath, storePath, summary, analysis, files, seconds };
}
