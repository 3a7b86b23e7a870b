/**
 * One served study: a read-only StudyStore plus what the dashboard derives from it — the live summary
 * (counts, ETA, workers), the trials, and the report (recomputed only when the set of finished trials changes,
 * then cached). Change detection is server-side: `changeToken()` (SQLite's data_version) is cheap to ask,
 * so the server asks it a few times a second and pushes what changed to the event streams.
 */
import { createHash } from 'node:crypto';
import { buildReport, chartSpecs, reportInputFromStore, type ReportDocument, type ReportInput } from '../report/index.js';
import { runIsAlive, type TrialProgress } from '../study/index.js';
import type { EpochMetricsRow, RunRecord, StudyRecord, StudyStore, TrialRecord, TrialStatus } from '../store/index.js';
import { isUserError } from '../util/index.js';

export interface WorkerActivity {
  runId: string | null;
  worker: string | null;
  trialId: string;
  config: Record<string, number>;
  seed: number;
  startedAt: string | null;
  /** the running trial's last reported step (only when the study runs in this process: `study run --serve`) */
  progress: TrialProgress | null;
}

/** A run as the store records it (role and worker name included: the view sends them), and whether it is alive. */
export interface RunView extends RunRecord {
  alive: boolean;
}

export interface StudySummaryView {
  id: string;
  name: string;
  location: string;
  createdAt: string;
  model: string;
  design: string;
  factors: string[];
  total: number;
  counts: Record<TrialStatus, number>;
  /** mean wall time of the finished trials, seconds */
  meanTrialSeconds: number | null;
  /** seconds until the remaining trials are done at the current parallelism; null when unknown or idle */
  etaSeconds: number | null;
  workers: WorkerActivity[];
  runs: RunView[];
  baseline: Record<string, number> | null;
  /** changes whenever the done trials change (the analysis' cache key) */
  analysisKey: string;
}

export interface TrialView {
  id: string;
  ordinal: number;
  kind: 'train' | 'evaluate';
  role: string;
  status: TrialStatus;
  attempts: number;
  config: Record<string, number>;
  seed: number;
  /** HF data_seed; null: the data order follows seed */
  dataSeed: number | null;
  metrics: Record<string, number | null> | null;
  worker: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  seconds: number | null;
  error: string | null;
}

export interface AnalysisView {
  key: string;
  done: number;
  title: string;
  /** the report's sections (escaped HTML, no scripts) */
  body: string;
  specs: Record<string, unknown>;
  drawn: number;
  charts: number;
  /** why there is no analysis (e.g. no finished trials); body is empty then */
  message: string | null;
}

export interface BuiltReport {
  view: AnalysisView;
  json: string;
  doc: ReportDocument | null;
}

/** A logged training step (loss and learning rate), as the store keeps it (null: a non-finite value). */
export interface StepLog {
  step: number;
  epoch: number;
  loss: number | null;
  lr: number | null;
}

export type StudyChange = { kind: 'summary'; summary: StudySummaryView } | { kind: 'trials' } | { kind: 'analysis'; key: string } | { kind: 'step'; trialId: string; log: StepLog };

const roleOf = (t: TrialRecord): string => (t.kind === 'evaluate' ? 'baseline-evaluation' : t.inDesign && t.isBaseline ? 'design+baseline' : t.isBaseline ? 'baseline' : 'design');
const secondsBetween = (a: string | null, b: string | null): number | null => (a && b ? Math.max(0, (Date.parse(b) - Date.parse(a)) / 1000) : null);

function describeSpec(spec: unknown): { model: string; design: string; factors: string[]; analysis: { degree: 1 | 2 | 3; logLr: boolean; standardize: boolean } } {
  const s = (spec ?? {}) as {
    model?: { kind?: string; id?: string };
    design?: { type?: string; factors?: { name?: string }[]; n?: number };
    seeds?: unknown[];
    analysis?: { degree?: unknown; log_lr?: unknown; standardize?: unknown };
  };
  const model = s.model?.kind === 'pretrained' && typeof s.model.id === 'string' ? s.model.id : s.model?.kind === 'from_config' ? 'from config' : 'unknown';
  const factors = (s.design?.factors ?? []).map((f) => String(f.name ?? '')).filter(Boolean);
  const seeds = Array.isArray(s.seeds) ? s.seeds.length : 0;
  const design = `${s.design?.type ?? 'unknown'}${typeof s.design?.n === 'number' ? ` n=${s.design.n}` : ''} over ${factors.join(', ') || '—'}${seeds ? ` × ${seeds} seed${seeds === 1 ? '' : 's'}` : ''}`;
  const d = s.analysis?.degree;
  return {
    model,
    design,
    factors,
    analysis: { degree: d === 1 || d === 3 ? d : 2, logLr: s.analysis?.log_lr !== false, standardize: s.analysis?.standardize === true },
  };
}

export class ServedStudy {
  readonly listeners = new Set<(c: StudyChange) => void>();
  private token: string | null = null;
  private study: StudyRecord | null = null;
  private trials: TrialRecord[] = [];
  private runs: RunRecord[] = [];
  private baseline: Record<string, number> | null = null;
  private trialsDigest = '';
  private summaryCache: StudySummaryView | null = null;
  private trialsJsonCache: string | null = null;
  private analysisKey = '';
  private analysis: { key: string; value: Promise<BuiltReport> } | null = null;
  private readonly progress = new Map<string, TrialProgress>();
  /** per running trial: the attempt and the last step of it seen in the store (to push new steps to the streams) */
  private readonly stepHeads = new Map<string, { attempt: number; step: number }>();
  private refreshing: Promise<void> | null = null;
  /** how many times the report was built, and how many states of the finished trials were seen (builds ≤ states) */
  analysisBuilds = 0;
  analysisStates = 0;

  constructor(
    readonly id: string,
    readonly store: StudyStore,
    readonly label: string,
    private readonly version: string,
  ) {}

  get name(): string {
    return this.study?.name ?? this.id;
  }

  /** Re-read the store if it changed; tell listeners what changed. Concurrent calls share one read. */
  refresh(): Promise<void> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async currentToken(): Promise<string> {
    if (this.store.changeToken) return this.store.changeToken();
    // stores without a change counter: counts and heartbeats move whenever a writer does anything
    const [c, runs] = await Promise.all([this.store.counts(), this.store.listRuns()]);
    return JSON.stringify([c, runs.map((r) => [r.id, r.heartbeatAt, r.finishedAt])]);
  }

  private async doRefresh(): Promise<void> {
    const token = await this.currentToken();
    if (token === this.token && this.study) return;
    this.token = token;
    const [study, trials, runs, baseline] = await Promise.all([this.store.getStudy(), this.store.listTrials(), this.store.listRuns(), this.store.getBaseline()]);
    this.study = study;
    this.trials = trials;
    this.runs = runs;
    this.baseline = baseline?.metrics ?? null;
    for (const id of [...this.progress.keys()]) if (!trials.some((t) => t.id === id && t.status === 'running')) this.progress.delete(id);
    const digest = createHash('sha1').update(JSON.stringify(trials.map((t) => [t.id, t.status, t.attempts, t.worker, t.finishedAt]))).digest('hex');
    const doneKey = createHash('sha1')
      .update(JSON.stringify([trials.filter((t) => t.status === 'done').map((t) => [t.id, t.finishedAt]), this.baseline]))
      .digest('hex')
      .slice(0, 16);
    const trialsChanged = digest !== this.trialsDigest;
    this.trialsJsonCache = null;
    const analysisChanged = doneKey !== this.analysisKey;
    this.trialsDigest = digest;
    this.analysisKey = doneKey;
    if (analysisChanged) this.analysisStates++;
    this.summaryCache = null;
    this.emit({ kind: 'summary', summary: this.summary() });
    if (trialsChanged) this.emit({ kind: 'trials' });
    if (analysisChanged) this.emit({ kind: 'analysis', key: doneKey });
    await this.newSteps(trials);
  }

  /**
   * Steps that writers (any process: `study run`, queue workers) added to running trials since the last look: one
   * `step` change per trial that has new ones, so the open curves are re-read. Only the steps after the last seen
   * step of the trial's current attempt are read.
   */
  private async newSteps(trials: TrialRecord[]): Promise<void> {
    if (this.listeners.size === 0) return;
    const running = trials.filter((t) => t.status === 'running');
    for (const id of [...this.stepHeads.keys()]) if (!running.some((t) => t.id === id)) this.stepHeads.delete(id);
    for (const t of running) {
      const head = this.stepHeads.get(t.id);
      const after = head && head.attempt === t.attempts ? head.step : -1;
      const mine = (await this.store.stepLogs(t.id, { afterStep: after })).filter((r) => r.attempt === t.attempts);
      const last = mine[mine.length - 1];
      if (!last) continue;
      this.stepHeads.set(t.id, { attempt: t.attempts, step: last.step });
      this.emit({ kind: 'step', trialId: t.id, log: { step: last.step, epoch: last.epoch, loss: last.loss, lr: last.learningRate } });
    }
  }

  private emit(c: StudyChange): void {
    for (const l of this.listeners) l(c);
  }

  /**
   * Live step reports of a study running in this process (`study run --serve`): the workers' progress at once;
   * the curves follow from the store, which the runner writes in batches.
   */
  onProgress(trialId: string, p: TrialProgress): void {
    this.progress.set(trialId, p);
    this.summaryCache = null;
  }

  summary(): StudySummaryView {
    if (this.summaryCache) return this.summaryCache;
    const d = describeSpec(this.study?.spec);
    const counts: Record<TrialStatus, number> = { pending: 0, running: 0, done: 0, failed: 0 };
    for (const t of this.trials) counts[t.status]++;
    const durations = this.trials.filter((t) => t.status === 'done').map((t) => secondsBetween(t.startedAt, t.finishedAt)).filter((x): x is number => x !== null);
    const mean = durations.length ? durations.reduce((a, b) => a + b, 0) / durations.length : null;
    const runs: RunView[] = this.runs.map((r) => ({ ...r, alive: runIsAlive(r) }));
    const parallel = Math.max(counts.running, runs.filter((r) => r.alive).reduce((a, r) => a + r.workers, 0));
    const remaining = counts.pending + counts.running;
    let eta: number | null = null;
    if (mean !== null && parallel > 0 && remaining > 0) {
      // the running trials are part-way through: count the time they have already had
      const nowMs = Date.now();
      const spent = this.trials.filter((t) => t.status === 'running' && t.startedAt).reduce((a, t) => a + Math.min(mean, (nowMs - Date.parse(t.startedAt!)) / 1000), 0);
      eta = Math.max(0, (remaining * mean - spent) / parallel);
    }
    const workers: WorkerActivity[] = this.trials
      .filter((t) => t.status === 'running')
      .map((t) => ({ runId: t.runId, worker: t.worker, trialId: t.id, config: t.config, seed: t.seed, startedAt: t.startedAt, progress: this.progress.get(t.id) ?? null }));
    this.summaryCache = {
      id: this.id,
      name: this.name,
      location: this.label,
      createdAt: this.study?.createdAt ?? '',
      model: d.model,
      design: d.design,
      factors: d.factors,
      total: this.trials.length,
      counts,
      meanTrialSeconds: mean,
      etaSeconds: eta,
      workers,
      runs,
      baseline: this.baseline,
      analysisKey: this.analysisKey,
    };
    return this.summaryCache;
  }

  trialViews(): TrialView[] {
    return this.trials.map((t) => ({
      id: t.id,
      ordinal: t.ordinal,
      kind: t.kind,
      role: roleOf(t),
      status: t.status,
      attempts: t.attempts,
      config: t.config,
      seed: t.seed,
      dataSeed: t.dataSeed,
      metrics: t.metrics,
      worker: t.worker,
      startedAt: t.startedAt,
      finishedAt: t.finishedAt,
      seconds: t.trainSeconds ?? secondsBetween(t.startedAt, t.finishedAt),
      error: t.error,
    }));
  }

  /** The trials API's answer, serialised once per change of the store (it is the most requested URL). */
  trialsJson(): string {
    this.trialsJsonCache ??= JSON.stringify({ factors: this.summary().factors, trials: this.trialViews() });
    return this.trialsJsonCache;
  }

  trial(id: string): TrialRecord | null {
    return this.trials.find((t) => t.id === id) ?? null;
  }

  async epochs(trialId: string): Promise<EpochMetricsRow[]> {
    return this.store.epochMetrics(trialId);
  }

  /** The trial's logged steps, from the store (whichever process ran it, whichever attempts wrote them). */
  async stepLogs(trialId: string): Promise<StepLog[]> {
    return (await this.store.stepLogs(trialId)).map((r) => ({ step: r.step, epoch: r.epoch, loss: r.loss, lr: r.learningRate }));
  }

  /** The report of the finished trials, built once per change of them (concurrent requests share the build). */
  async report(): Promise<BuiltReport> {
    const key = this.analysisKey;
    if (this.analysis?.key === key) return this.analysis.value;
    const done = this.trials.filter((t) => t.status === 'done' && t.inDesign).length;
    const value = (async () => {
      this.analysisBuilds++;
      let input: ReportInput;
      try {
        const d = describeSpec(this.study?.spec);
        input = await reportInputFromStore(this.store, { ...d.analysis, version: this.version }, this.label);
      } catch (e) {
        if (!isUserError(e)) throw e;
        const view: AnalysisView = { key, done, title: this.name, body: '', specs: {}, drawn: 0, charts: 0, message: e.message };
        return { view, json: JSON.stringify(view), doc: null };
      }
      const doc = buildReport(input);
      const specs = chartSpecs(doc.charts);
      const view: AnalysisView = { key, done, title: input.title, body: doc.body, specs, drawn: Object.keys(specs).length, charts: doc.charts.length, message: null };
      // serialised once: the page of every listening client asks for it after each finished trial
      return { view, json: JSON.stringify(view), doc };
    })();
    this.analysis = { key, value };
    value.catch(() => {
      if (this.analysis?.value === value) this.analysis = null;
    });
    return value;
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.store.close();
  }
}
