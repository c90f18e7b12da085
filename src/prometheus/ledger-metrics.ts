// The ledger as Prometheus metrics: one function fills a registry (each server has its own,
// never prom-client's global one) at every scrape, for `etl ui` and `etl schedule` alike.
// Labels are bounded: sequence, role, step (names from the definitions and records), status
// and metric key; never a run id or a tick, each of which would make a new series per run.
import { join } from 'node:path';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { parseCron } from '../definitions/cron.js';
import type { Definitions, SequenceDef } from '../definitions/model.js';
import { judgeFreshness, lastSuccess } from '../ledger/freshness.js';
import type { LedgerStore } from '../ledger/store.js';
import type { RunRecord } from '../runner/records.js';
import { isSuccess, RUN_STATUSES } from '../runner/statuses.js';
import { nextTick, previousTick } from '../schedule/next-tick.js';
import { RunTally } from './run-tally.js';

export interface LedgerSources {
  store: LedgerStore;
  /** The definitions that validate (schedules, freshness); undefined when none can be read. */
  definitions(): Promise<Definitions | undefined>;
  now(): Date;
  /** When the process serving the metrics started: etl_runs_total counts the runs that ended since. */
  since: Date;
}

/** The statuses a run ends with: every one has a series from the start, so that a first failure is an increase. */
export const ENDED_STATUSES = RUN_STATUSES.filter((status) => status !== 'running');

/** From a tenth of a second to half a day: a step of an ETL sequence takes anything in between. */
export const STEP_DURATION_BUCKETS = [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 12 * 3600];

/**
 * The most finished runs a sequence's step metrics are taken from (each key's newest value),
 * newest first, down to its newest successful one (where every step ran).
 */
const METRIC_RUNS = 5;

const STEP_LABELS = ['sequence', 'role', 'step'] as const;

/** Registers the ledger's metrics on `registry`; the function returned brings them up to date (call it before each scrape). */
export function ledgerMetrics(registry: Registry, sources: LedgerSources): () => Promise<void> {
  const registers = [registry];
  const metrics = {
    runs: new Counter({
      name: 'etl_runs_total',
      help: 'Runs that ended since this process started, by sequence and status',
      labelNames: ['sequence', 'status'],
      registers,
    }),
    running: new Gauge({ name: 'etl_runs_running', help: 'Runs going on now', labelNames: ['sequence'], registers }),
    stepDuration: new Histogram({
      name: 'etl_step_duration_seconds',
      help: 'How long the steps of the runs counted by etl_runs_total took (steps that did not run are left out)',
      labelNames: STEP_LABELS,
      buckets: STEP_DURATION_BUCKETS,
      registers,
    }),
    lastSuccess: new Gauge({
      name: 'etl_sequence_last_success_timestamp_seconds',
      help: 'When the newest successful run of the sequence ended (Unix time); absent when none did',
      labelNames: ['sequence'],
      registers,
    }),
    interval: new Gauge({
      name: 'etl_sequence_schedule_interval_seconds',
      help: 'The time between the latest two ticks of the sequence’s schedule',
      labelNames: ['sequence'],
      registers,
    }),
    freshness: new Gauge({
      name: 'etl_sequence_freshness_seconds',
      help: 'The sequence’s freshness setting: how recent its last success must be',
      labelNames: ['sequence'],
      registers,
    }),
    stale: new Gauge({
      name: 'etl_sequence_stale',
      help: '1 when no successful run of the sequence ended within its freshness, else 0',
      labelNames: ['sequence'],
      registers,
    }),
    stepMetric: new Gauge({
      name: 'etl_step_metric',
      help: 'The newest numeric value each step wrote to ETL_METRICS, by key',
      labelNames: [...STEP_LABELS, 'key'],
      registers,
    }),
  };
  const tally = new RunTally(sources.since);
  const intervals = new ScheduleIntervals();
  const stepMetrics = new StepMetricsCache();
  return async () => {
    const definitions = await sources.definitions();
    const now = sources.now();
    const { store } = sources;
    const names = [...new Set([...(definitions?.sequences.keys() ?? []), ...store.sequences()])].sort();
    for (const sequence of names) for (const status of ENDED_STATUSES) metrics.runs.inc({ sequence, status }, 0);
    for (const run of tally.ended(store, names, now)) countRun(metrics, run);
    for (const gauge of [metrics.running, metrics.lastSuccess, metrics.interval, metrics.freshness, metrics.stale])
      gauge.reset();
    metrics.stepMetric.reset();
    for (const sequence of names) {
      metrics.running.set({ sequence }, tally.running(sequence));
      // Read once: the last-success gauge and the freshness both judge from it.
      const last = lastSuccess(store, sequence);
      if (last?.finished_at) metrics.lastSuccess.set({ sequence }, Date.parse(last.finished_at) / 1000);
      const def = definitions?.sequences.get(sequence);
      if (def) sequenceSettings(metrics, last, def, now, intervals);
      for (const { role, step, key, value } of stepMetrics.newest(store, sequence))
        metrics.stepMetric.set({ sequence, role, step, key }, value);
    }
    stepMetrics.forgetUnused();
  };
}

type Metrics = {
  runs: Counter<'sequence' | 'status'>;
  stepDuration: Histogram<(typeof STEP_LABELS)[number]>;
  interval: Gauge<'sequence'>;
  freshness: Gauge<'sequence'>;
  stale: Gauge<'sequence'>;
};

/** A run that ended: its status, and how long each step that ran took. */
function countRun(metrics: Metrics, run: RunRecord): void {
  metrics.runs.inc({ sequence: run.sequence, status: run.status });
  for (const step of run.steps) {
    if (step.duration_ms === null || step.status === 'skipped' || step.status === 'pending') continue;
    metrics.stepDuration.observe({ sequence: run.sequence, role: step.role, step: step.name }, step.duration_ms / 1000);
  }
}

/** What the definition sets: its schedule's interval, its freshness and whether it is stale. */
function sequenceSettings(
  metrics: Metrics,
  last: RunRecord | undefined,
  def: SequenceDef,
  now: Date,
  intervals: ScheduleIntervals,
): void {
  const sequence = def.name;
  const interval = def.schedule === undefined ? undefined : intervals.at(def.schedule, def.timezone ?? 'UTC', now);
  if (interval !== undefined) metrics.interval.set({ sequence }, interval / 1000);
  const freshness = judgeFreshness(def, last, now);
  if (!freshness) return;
  metrics.freshness.set({ sequence }, freshness.freshness_ms / 1000);
  metrics.stale.set({ sequence }, freshness.stale ? 1 : 0);
}

/**
 * The time between a schedule's latest two ticks (ms): "has not succeeded for two periods"
 * is judged with it. A weekday schedule's is 3 days on a Monday, 1 day on the other days.
 * Kept until the schedule's next tick: finding ticks in a time zone costs some 2 ms a schedule,
 * too much for every sequence at every scrape.
 */
class ScheduleIntervals {
  private readonly kept = new Map<string, { interval: number | undefined; until: number }>();

  at(schedule: string, timezone: string, now: Date): number | undefined {
    const key = `${schedule}\n${timezone}`;
    const kept = this.kept.get(key);
    if (kept && now.getTime() < kept.until) return kept.interval;
    const { cron } = parseCron(schedule);
    if (!cron) return undefined;
    const latest = previousTick(cron, now, timezone);
    const before = latest && previousTick(cron, new Date(latest.getTime() - 1), timezone);
    const interval = latest && before ? latest.getTime() - before.getTime() : undefined;
    this.kept.set(key, { interval, until: nextTick(cron, now, timezone)?.getTime() ?? Number.POSITIVE_INFINITY });
    return interval;
  }
}

interface StepValue {
  role: string;
  step: string;
  key: string;
  value: number;
}

/** The numeric metrics of finished runs, read once per run (a finished run's step records never change). */
class StepMetricsCache {
  private readonly runs = new Map<string, { values: StepValue[]; success: boolean }>();
  private readonly used = new Set<string>();

  /** Each (role, step, key)'s newest number among the sequence's newest finished runs. */
  newest(store: LedgerStore, sequence: string): StepValue[] {
    const found = new Map<string, StepValue>();
    let looked = 0;
    for (const ref of store.runsNewestFirst({ sequence })) {
      if (looked >= METRIC_RUNS) break;
      let kept = this.runs.get(ref.id);
      if (!kept) {
        const run = store.readRunAsShown(ref);
        if (!run || run.status === 'running') continue;
        kept = { values: runValues(store, join(ref.root, ref.folder), run), success: isSuccess(run.status) };
        this.runs.set(ref.id, kept);
      }
      looked++;
      this.used.add(ref.id);
      for (const value of kept.values) {
        const id = `${value.role}\n${value.step}\n${value.key}`;
        if (!found.has(id)) found.set(id, value);
      }
      if (kept.success) break;
    }
    return [...found.values()];
  }

  forgetUnused(): void {
    for (const id of this.runs.keys()) if (!this.used.has(id)) this.runs.delete(id);
    this.used.clear();
  }
}

function runValues(store: LedgerStore, folder: string, run: RunRecord): StepValue[] {
  const values: StepValue[] = [];
  for (const summary of run.steps) {
    const metrics = store.readStep(folder, summary.record)?.metrics ?? {};
    for (const [key, value] of Object.entries(metrics))
      if (typeof value === 'number' && Number.isFinite(value))
        values.push({ role: summary.role, step: summary.name, key, value });
  }
  return values;
}
