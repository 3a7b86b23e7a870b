/**
 * HF tokenizers through Hugging Face's own JS implementation (`@huggingface/tokenizers`).
 * A folder with only `vocab.txt` gets the tokenizer.json that `BertTokenizerFast` would build from it
 * (BertNormalizer, BertPreTokenizer, WordPiece `##`, TemplateProcessing `[CLS] $A [SEP]`), assembled in memory.
 * Truncation and padding are done here because the JS library encodes one text at a time without them;
 * they follow HF's defaults for DistilBERT (truncate the content, keep the special tokens; pad on the right).
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { UserError, readRegularFile, specialFileKind } from '../util/index.js';

export interface EncodedBatch {
  inputIds: number[][];
  attentionMask: number[][];
}

export type Padding = boolean | 'longest' | 'max_length';

export interface Tokenizer {
  readonly vocabSize: number;
  readonly padTokenId: number;
  readonly clsTokenId: number;
  readonly sepTokenId: number;
  readonly unkTokenId: number;
  /** tokenizer_config.json `model_max_length` when it is a real limit, else 512. */
  readonly modelMaxLength: number;
  /** `[CLS] … [SEP]`, content truncated so the whole fits in maxLength (default modelMaxLength). */
  encode(text: string, opts?: { maxLength?: number }): number[];
  encodeBatch(texts: string[], opts?: { maxLength?: number; padding?: Padding }): EncodedBatch;
  /** WordPiece tokens with the special tokens, e.g. ['[CLS]', 'hello', ',', …, '[SEP]']. */
  tokenize(text: string, opts?: { maxLength?: number }): string[];
  decode(ids: number[], opts?: { skipSpecialTokens?: boolean }): string;
  idToToken(id: number): string | undefined;
  tokenToId(token: string): number | undefined;
}

interface TokenizerConfigJson {
  do_lower_case?: boolean;
  tokenize_chinese_chars?: boolean;
  strip_accents?: boolean | null;
  model_max_length?: number;
  unk_token?: string | { content: string };
  sep_token?: string | { content: string };
  pad_token?: string | { content: string };
  cls_token?: string | { content: string };
  mask_token?: string | { content: string };
  [key: string]: unknown;
}

/** tokenizer.json is a few MiB (multilingual vocabularies ~20 MiB); anything far above is not one. */
const MAX_TOKENIZER_FILE_BYTES = 512 * 2 ** 20;

/** A tokenizer file's text: a regular file only (a FIFO named tokenizer.json would block the read for ever). */
function readTokenizerFile(path: string): string {
  return readRegularFile(path, { maxBytes: MAX_TOKENIZER_FILE_BYTES }).toString('utf8');
}

function readJson<T>(path: string): T {
  const text = readTokenizerFile(path);
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

const tokenName = (v: string | { content: string } | undefined, dflt: string): string =>
  typeof v === 'string' ? v : v && typeof v.content === 'string' ? v.content : dflt;

/** The tokenizer.json object BertTokenizerFast builds from a WordPiece vocab.txt. */
export function bertTokenizerJsonFromVocab(vocabText: string, cfg: TokenizerConfigJson, source: string): Record<string, unknown> {
  const lines = vocabText.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const vocab: Record<string, number> = {};
  lines.forEach((raw, i) => {
    const tok = raw.replace(/\r$/, '');
    // as transformers' load_vocab: a duplicated line takes the later id
    vocab[tok] = i;
  });
  if (lines.length === 0) throw new UserError(`${source}: vocab.txt is empty`);
  const names = {
    unk: tokenName(cfg.unk_token, '[UNK]'),
    sep: tokenName(cfg.sep_token, '[SEP]'),
    pad: tokenName(cfg.pad_token, '[PAD]'),
    cls: tokenName(cfg.cls_token, '[CLS]'),
    mask: tokenName(cfg.mask_token, '[MASK]'),
  };
  for (const [role, t] of Object.entries(names)) {
    if (role !== 'mask' && vocab[t] === undefined) throw new UserError(`${source}: special token ${t} (${role}_token) is not in vocab.txt`);
  }
  const added = [names.pad, names.unk, names.cls, names.sep, names.mask]
    .filter((t) => vocab[t] !== undefined)
    .map((t) => ({ id: vocab[t]!, content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }))
    .sort((a, b) => a.id - b.id);
  const lowercase = cfg.do_lower_case ?? true;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: cfg.tokenize_chinese_chars ?? true,
      strip_accents: cfg.strip_accents ?? null,
      lowercase,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: names.cls, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: names.sep, type_id: 0 } }],
      pair: [
        { SpecialToken: { id: names.cls, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: names.sep, type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: names.sep, type_id: 1 } },
      ],
      special_tokens: {
        [names.cls]: { id: names.cls, ids: [vocab[names.cls]], tokens: [names.cls] },
        [names.sep]: { id: names.sep, ids: [vocab[names.sep]], tokens: [names.sep] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: names.unk, continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}

/** Canonical JSON (sorted keys) so equal tokenizers hash equally whatever the key order on disk. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

const fingerprints = new WeakMap<Tokenizer, string>();

class HfBackedTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly padTokenId: number;
  readonly clsTokenId: number;
  readonly sepTokenId: number;
  readonly unkTokenId: number;
  readonly modelMaxLength: number;
  /** Special tokens the post-processor puts before / after the content of a single sequence. */
  private readonly prefixLen: number;
  private readonly suffixLen: number;

  constructor(
    private readonly tok: HfTokenizer,
    cfg: TokenizerConfigJson,
    source: string,
  ) {
    const vocab = tok.get_vocab(true);
    let max = -1;
    for (const id of vocab.values()) if (id > max) max = id;
    this.vocabSize = max + 1;
    const id = (name: string, role: string): number => {
      const v = tok.token_to_id(name);
      if (v === undefined) throw new UserError(`${source}: ${role} ${name} is not in the vocabulary`);
      return v;
    };
    this.padTokenId = id(tokenName(cfg.pad_token, '[PAD]'), 'pad_token');
    this.clsTokenId = id(tokenName(cfg.cls_token, '[CLS]'), 'cls_token');
    this.sepTokenId = id(tokenName(cfg.sep_token, '[SEP]'), 'sep_token');
    this.unkTokenId = id(tokenName(cfg.unk_token, '[UNK]'), 'unk_token');
    const mml = cfg.model_max_length;
    this.modelMaxLength = typeof mml === 'number' && Number.isInteger(mml) && mml > 0 && mml < 1e6 ? mml : 512;
    const empty = tok.encode('', { add_special_tokens: true }).ids;
    const clsAt = empty.indexOf(this.clsTokenId);
    this.prefixLen = clsAt === 0 ? 1 : 0;
    this.suffixLen = empty.length - this.prefixLen;
  }

  private encodeOne(text: string, maxLength?: number): { ids: number[]; tokens: string[] } {
    if (typeof text !== 'string') throw new UserError(`tokenizer: expected a string, got ${typeof text}`);
    const max = maxLength ?? this.modelMaxLength;
    const specials = this.prefixLen + this.suffixLen;
    if (!Number.isInteger(max) || max < specials) throw new UserError(`max_length must be an integer >= ${specials}, got ${max}`);
    const e = this.tok.encode(text, { add_special_tokens: true });
    if (e.ids.length <= max) return { ids: e.ids, tokens: e.tokens };
    // HF truncation="longest_first" on one sequence: drop content from the right, keep the special tokens.
    const keep = max - this.suffixLen;
    return {
      ids: [...e.ids.slice(0, keep), ...e.ids.slice(e.ids.length - this.suffixLen)],
      tokens: [...e.tokens.slice(0, keep), ...e.tokens.slice(e.tokens.length - this.suffixLen)],
    };
  }

  encode(text: string, opts: { maxLength?: number } = {}): number[] {
    return this.encodeOne(text, opts.maxLength).ids;
  }

  tokenize(text: string, opts: { maxLength?: number } = {}): string[] {
    return this.encodeOne(text, opts.maxLength).tokens;
  }

  encodeBatch(texts: string[], opts: { maxLength?: number; padding?: Padding } = {}): EncodedBatch {
    const inputIds = texts.map((t) => this.encode(t, { maxLength: opts.maxLength }));
    const attentionMask = inputIds.map((ids) => ids.map(() => 1));
    const padding = opts.padding ?? false;
    if (padding === false) return { inputIds, attentionMask };
    const target = padding === 'max_length' ? (opts.maxLength ?? this.modelMaxLength) : Math.max(0, ...inputIds.map((r) => r.length));
    for (let i = 0; i < inputIds.length; i++) {
      const n = target - inputIds[i]!.length;
      if (n > 0) {
        inputIds[i]!.push(...new Array<number>(n).fill(this.padTokenId));
        attentionMask[i]!.push(...new Array<number>(n).fill(0));
      }
    }
    return { inputIds, attentionMask };
  }

  decode(ids: number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    return this.tok.decode(ids, { skip_special_tokens: opts.skipSpecialTokens ?? true });
  }

  idToToken(id: number): string | undefined {
    return this.tok.id_to_token(id);
  }

  tokenToId(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }
}

/** Builds a tokenizer from a tokenizer.json object (+ tokenizer_config.json object). */
export function tokenizerFromJson(tokenizerJson: Record<string, unknown>, config: TokenizerConfigJson = {}, source = 'tokenizer.json'): Tokenizer {
  const model = tokenizerJson.model as Record<string, unknown> | undefined;
  if (!model || typeof model !== 'object' || typeof model.vocab !== 'object') {
    throw new UserError(`${source}: no "model.vocab" — not a tokenizers-library tokenizer.json`);
  }
  // Older tokenizers-library files (like bert-base-uncased's) have no model "type"; WordPiece is the one with continuing_subword_prefix.
  const json = model.type === undefined && 'continuing_subword_prefix' in model ? { ...tokenizerJson, model: { ...model, type: 'WordPiece' } } : tokenizerJson;
  let hf: HfTokenizer;
  try {
    hf = new HfTokenizer(json, config);
  } catch (e) {
    throw new UserError(`${source}: could not build the tokenizer (${(e as Error).message})`);
  }
  const t = new HfBackedTokenizer(hf, config, source);
  const relevant = {
    do_lower_case: config.do_lower_case ?? null,
    strip_accents: config.strip_accents ?? null,
    tokenize_chinese_chars: config.tokenize_chinese_chars ?? null,
    model_max_length: t.modelMaxLength,
  };
  fingerprints.set(t, createHash('sha256').update(canonical({ ...json, truncation: null, padding: null })).update(canonical(relevant)).digest('hex').slice(0, 16));
  return t;
}

/**
 * Loads the tokenizer of a model folder: `tokenizer.json` (+ `tokenizer_config.json`), else `vocab.txt`
 * (+ `tokenizer_config.json` for do_lower_case, strip_accents, tokenize_chinese_chars and the special tokens).
 */
export async function loadTokenizer(dir: string): Promise<Tokenizer> {
  const st = statSync(dir, { throwIfNoEntry: false });
  if (!st) throw new UserError(`tokenizer folder ${dir} does not exist`);
  // a FIFO here must not reach a read that blocks for ever
  if (!st.isDirectory()) throw new UserError(`tokenizer folder ${dir}: ${st.isFile() ? 'a file' : specialFileKind(st)}, not a folder (give the folder that holds tokenizer.json or vocab.txt)`);
  const cfgPath = join(dir, 'tokenizer_config.json');
  const cfg: TokenizerConfigJson = existsSync(cfgPath) ? readJson<TokenizerConfigJson>(cfgPath) : {};
  const stm = join(dir, 'special_tokens_map.json');
  if (existsSync(stm)) {
    // special_tokens_map.json names the special tokens when tokenizer_config.json does not.
    const m = readJson<TokenizerConfigJson>(stm);
    for (const k of ['unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'] as const) if (cfg[k] === undefined && m[k] !== undefined) cfg[k] = m[k];
  }
  const tj = join(dir, 'tokenizer.json');
  if (existsSync(tj)) return tokenizerFromJson(readJson<Record<string, unknown>>(tj), cfg, tj);
  const vocab = join(dir, 'vocab.txt');
  if (existsSync(vocab)) return tokenizerFromJson(bertTokenizerJsonFromVocab(readTokenizerFile(vocab), cfg, vocab), cfg, vocab);
  throw new UserError(`${dir}: no tokenizer.json or vocab.txt (a DistilBERT tokenizer needs one of them)`);
}

/** Stable hash of what decides the ids (vocab, normalizer, templates, relevant config), for on-disk token caches. */
export function tokenizerFingerprint(tok: Tokenizer): string {
  const known = fingerprints.get(tok);
  if (known) return known;
  // A Tokenizer from elsewhere: hash its observable behaviour.
  const probe = 'Hello, my dog is cute. Café ÜBER naïve 你好 — 12,345 [MASK] unaffable';
  return createHash('sha256')
    .update(JSON.stringify([tok.vocabSize, tok.padTokenId, tok.clsTokenId, tok.sepTokenId, tok.encode(probe)]))
    .digest('hex')
    .slice(0, 16);
}
