// Step metrics over time, from the ledger: for each run of a sequence, newest first, what each
// step wrote to ETL_METRICS (see src/runner/metrics.ts).
import { isSuccess } from '../runner/statuses.js';
import { join } from 'node:path';
import type { LastMetrics } from '../runner/expect.js';
import type { MetricValue } from '../runner/metrics.js';
import type { Role, RunRecord } from '../runner/records.js';
import { type LedgerView, readRun, abandonedIfRunnerGone, runsNewestFirst } from './history.js';
import { readStep } from './step-log.js';
import { standIn } from './earlier-runs.js';

export interface MetricPoint {
  run_id: string;
  started_at: string;
  status: string;
  step: { index: number; role: Role; name: string };
  metrics: Record<string, MetricValue>;
}

export interface MetricsQuery {
  /** A step's number (1-based) or name. */
  step?: string;
  /** Only this metric. */
  key?: string;
  /** Runs looked at, newest first. */
  limit?: number;
}

export function metricsHistory(view: LedgerView, sequence: string, query: MetricsQuery = {}): MetricPoint[] {
  const points: MetricPoint[] = [];
  let runs = 0;
  for (const ref of runsNewestFirst(view, { sequence })) {
    if (runs >= (query.limit ?? 20)) break;
    const record = readRun(ref.root, ref);
    if (!record) continue;
    runs++;
    const run = abandonedIfRunnerGone(ref.root, record);
    for (const summary of run.steps) {
      if (query.step !== undefined && query.step !== summary.name && query.step !== String(summary.index)) continue;
      const metrics = readStep(join(ref.root, ref.folder), summary.record)?.metrics;
      if (!metrics) continue;
      const kept = query.key === undefined ? metrics : query.key in metrics ? { [query.key]: metrics[query.key]! } : {};
      if (Object.keys(kept).length === 0) continue;
      points.push({
        run_id: run.id,
        started_at: run.started_at,
        status: run.status,
        step: { index: summary.index, role: summary.role, name: summary.name },
        metrics: kept,
      });
    }
  }
  return points;
}

/**
 * For a run about to go: what each step wrote in the sequence's last successful run (found
 * once, when a rule first asks), for the expect rule "within N% of last"; with why there is
 * nothing, when that run has no metrics of the step. Undefined: no successful run at all.
 */
export function lastSuccessfulMetrics(
  root: string,
  sequence: string,
  thisRun: string,
): (role: Role, index: number, name: string) => LastMetrics | undefined {
  let found: { folder: string; run: RunRecord } | null | undefined;
  return (role, index, name) => {
    if (found === undefined) {
      found = null;
      for (const ref of runsNewestFirst(root, { sequence })) {
        if (ref.id === thisRun) continue;
        const run = readRun(root, ref);
        if (run && isSuccess(run.status)) {
          found = { folder: ref.folder, run };
          break;
        }
      }
    }
    if (!found) return undefined;
    const run_id = found.run.id;
    // The same step, by its name (steps moved, or one added before it, keep theirs); of steps
    // that share a name, the one at the same place.
    const named = found.run.steps.filter((s) => s.role === role && s.name === name);
    const summary = named.length === 1 ? named[0] : named.find((s) => s.index === index);
    let step = summary && readStep(join(root, found.folder), summary.record);
    // Skipped as unchanged (or resumed), it stands for the run that did the work: its metrics.
    if (step?.skipped_as) step = standIn(root, step) ?? step;
    if (step?.metrics) return { run_id: step.run_id, metrics: step.metrics };
    const what = `${role === 'step' ? 'step' : `${role} step`} "${name}"`;
    const missing = !step
      ? `has no ${what}`
      : step.status !== 'succeeded'
        ? `did not run ${what} (${step.status})`
        : `wrote no metrics at ${what}`;
    return { run_id, metrics: {}, missing };
  };
}
