/**
 * Issue 17 (medium): the from-config model folder is written atomically and a cached one is verified against the
 * spec's config. Before: a kill while config.json was written left it truncated ("not valid JSON" in every later
 * trial) or from other settings (dropout 0.1 where the spec says 0.0), and it was reused as is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { materializeModel } from '../../src/study/index.js';
import { sharedPath, tempDir } from '../helpers.js';

const TOK = sharedPath('models', 'distilbert-base-uncased');

test('from_config folder: complete when named, a truncated or foreign config.json is rebuilt, no temp folders left', { skip: !existsSync(TOK) && 'needs ../shared' }, () => {
  const d = tempDir('tunescope-modeldir-');
  try {
    const store = join(d.path, 'runs', 's.sqlite');
    const model = { kind: 'from_config' as const, config: { dim: 16, n_layers: 1, n_heads: 2, hidden_dim: 32, max_position_embeddings: 32, dropout: 0.0 }, tokenizer: TOK };
    const dir = materializeModel(model, store);
    const read = () => JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { dropout: number; dim: number };
    assert.equal(read().dropout, 0);
    assert.equal(read().dim, 16);
    // a kill mid-write (old code: writeFileSync in place) left half a file
    const full = readFileSync(join(dir, 'config.json'), 'utf8');
    writeFileSync(join(dir, 'config.json'), full.slice(0, 40));
    assert.equal(materializeModel(model, store), dir);
    assert.equal(readFileSync(join(dir, 'config.json'), 'utf8'), full);
    // a config from other settings under the same name is not used
    writeFileSync(join(dir, 'config.json'), full.replace('"dropout": 0', '"dropout": 0.1'));
    assert.equal(read().dropout, 0.1);
    materializeModel(model, store);
    assert.equal(read().dropout, 0);
    assert.ok(readdirSync(dir).some((f) => f === 'vocab.txt' || f === 'tokenizer.json'));
    assert.deepEqual(readdirSync(join(d.path, 'runs', 'models')).filter((f) => f.startsWith('.')), [], 'no temp folders left');
  } finally {
    d.cleanup();
  }
});
