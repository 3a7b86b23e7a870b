/** RawRun (a tool's names) → ImportedRun (HF names), through the NameMapper; seed and data_seed get their own fields. */
import type { NameMapper } from './names.js';
import type { ImportedRun, ParamValue, RawRun } from './types.js';

function asSeed(v: ParamValue | undefined): number | null {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return Number(v);
  return null;
}

export function normalizeRun(raw: RawRun, mapper: NameMapper): ImportedRun {
  const params: Record<string, ParamValue> = {};
  const metrics: Record<string, number | null> = {};
  const provenance: Record<string, string> = {};
  const notes = [...raw.notes];
  let seed: number | null = null;
  let dataSeed: number | null = null;
  for (const [name, p] of Object.entries(raw.params)) {
    const to = mapper.param(name);
    if (to === 'seed' || to === 'data_seed') {
      const s = asSeed(p.value);
      if (s === null) {
        notes.push(`${name} = ${JSON.stringify(p.value)} is not an integer seed`);
        continue;
      }
      if (to === 'seed' ? seed !== null : dataSeed !== null) continue;
      if (to === 'seed') seed = s;
      else dataSeed = s;
      provenance[to] = p.from;
      continue;
    }
    if (to in params) {
      // two of the tool's names for one HF name (lr and learning_rate): the first read wins, the other is said
      if (params[to] !== p.value) notes.push(`${name} = ${JSON.stringify(p.value)} not used: ${to} is already ${JSON.stringify(params[to])} (from ${provenance[to]})`);
      continue;
    }
    params[to] = p.value;
    provenance[to] = p.from;
  }
  for (const [name, m] of Object.entries(raw.metrics)) {
    const to = mapper.metric(name);
    if (to in params) {
      notes.push(`metric ${name} not used: ${to} is a hyperparameter`);
      continue;
    }
    if (to in metrics) {
      if (metrics[to] !== m.value && !(Number.isNaN(metrics[to]) && Number.isNaN(m.value)))
        notes.push(`${name} = ${String(m.value)} not used: ${to} is already ${String(metrics[to])} (from ${provenance[to]})`);
      continue;
    }
    metrics[to] = m.value;
    provenance[to] = m.from;
  }
  const history = raw.history.map((h) => ({
    ...h,
    values: Object.fromEntries(Object.entries(h.values).map(([k, v]) => [mapper.metric(k), v])),
  }));
  return { kind: raw.kind, source: raw.source, runId: raw.runId, group: raw.group, state: raw.state, params, seed, dataSeed, metrics, provenance, history, attrs: raw.attrs, notes };
}
