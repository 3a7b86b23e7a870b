/**
 * Training curves of one or several trials as Vega-Lite specs: training loss and learning rate against the
 * optimizer step (every logged step, as the store keeps them for any trial; for a store written before step logs
 * existed, the value at each epoch's end), and the evaluation metrics after each epoch. Trials are told apart by colour.
 */
import type { EpochMetricsRow } from '../store/index.js';
import type { StepLog } from './study.js';

export interface TrialCurves {
  trialId: string;
  label: string;
  epochs: EpochMetricsRow[];
  steps: StepLog[];
}

export interface CurveCharts {
  loss: Record<string, unknown> | null;
  learningRate: Record<string, unknown> | null;
  evaluation: Record<string, unknown> | null;
  /** why a chart is missing (no epochs logged yet, …) */
  missing: string[];
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const finite = (x: number | null | undefined): x is number => typeof x === 'number' && Number.isFinite(x);

function lineChart(title: string, rows: Record<string, unknown>[], x: { field: string; title: string }, y: { field: string; title: string; log?: boolean }): Record<string, unknown> {
  return {
    $schema: SCHEMA,
    title,
    width: 420,
    height: 220,
    data: { values: rows },
    mark: { type: 'line', point: true, tooltip: true },
    encoding: {
      x: { field: x.field, type: 'quantitative', title: x.title },
      y: { field: y.field, type: 'quantitative', title: y.title, scale: y.log ? { type: 'log' } : { zero: false } },
      color: { field: 'trial', type: 'nominal', title: 'trial' },
      detail: { field: 'source', type: 'nominal' },
    },
  };
}

export function curveCharts(trials: TrialCurves[]): CurveCharts {
  const loss: Record<string, unknown>[] = [];
  const lr: Record<string, unknown>[] = [];
  const evals: Record<string, unknown>[] = [];
  for (const t of trials) {
    // logged steps when we have them; otherwise the loss/lr recorded at each epoch's end
    const useSteps = t.steps.length > 0;
    for (const s of t.steps) {
      if (finite(s.loss)) loss.push({ trial: t.label, step: s.step, epoch: s.epoch, loss: s.loss, source: 'step' });
      if (finite(s.lr)) lr.push({ trial: t.label, step: s.step, epoch: s.epoch, learning_rate: s.lr, source: 'step' });
    }
    for (const e of t.epochs) {
      if (!useSteps && finite(e.trainLoss)) loss.push({ trial: t.label, step: e.step, epoch: e.epoch, loss: e.trainLoss, source: 'epoch' });
      if (!useSteps && finite(e.learningRate)) lr.push({ trial: t.label, step: e.step, epoch: e.epoch, learning_rate: e.learningRate, source: 'epoch' });
      for (const [metric, v] of Object.entries(e.metrics)) if (finite(v)) evals.push({ trial: t.label, epoch: e.epoch, metric, value: v });
    }
  }
  const missing: string[] = [];
  if (loss.length === 0) missing.push('No training loss logged yet.');
  if (lr.length === 0) missing.push('No learning rate logged yet.');
  if (evals.length === 0) missing.push('No evaluation after an epoch yet.');
  const evaluation =
    evals.length === 0
      ? null
      : {
          $schema: SCHEMA,
          title: 'Evaluation metrics after each epoch',
          data: { values: evals },
          facet: { column: { field: 'metric', type: 'nominal', title: null } },
          spec: {
            width: 220,
            height: 200,
            mark: { type: 'line', point: true, tooltip: true },
            encoding: {
              x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
              y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
              color: { field: 'trial', type: 'nominal', title: 'trial' },
            },
          },
          resolve: { scale: { y: 'independent' } },
        };
  return {
    loss: loss.length ? lineChart('Training loss', loss, { field: 'step', title: 'optimizer step' }, { field: 'loss', title: 'training loss' }) : null,
    learningRate: lr.length ? lineChart('Learning rate', lr, { field: 'step', title: 'optimizer step' }, { field: 'learning_rate', title: 'learning rate' }) : null,
    evaluation,
    missing,
  };
}
