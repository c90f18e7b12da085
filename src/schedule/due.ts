import { parseCron } from '../definitions/cron.js';
import type { Definitions } from '../definitions/model.js';
import { runsNewestFirst, readRun } from '../ledger/history.js';
import { previousTick } from './next-tick.js';

export interface DueSequence {
  name: string;
  schedule: string;
  timezone: string;
  /** The tick this run is for (ISO 8601 UTC). */
  tick: string;
  /** Why it is due: the tick that fired, or one that GitHub dropped. */
  reason: 'fired' | 'missed';
}

export interface DueOptions {
  /** The cron expression that fired (github.event.schedule); without it, every schedule is looked at. */
  cron?: string;
  now: Date;
  /** How far back a dropped tick is still caught up. */
  catchUpMs?: number;
}

/**
 * The scheduled sequences to run now: those whose latest tick has no run started at or
 * after it in the ledger. GitHub delays scheduled workflows and sometimes drops them, so the
 * fired expression is not trusted alone: any schedule whose tick was missed (within the
 * catch-up window) is due too, and one already run since its tick is not run twice.
 */
export function dueSequences(definitions: Definitions, ledger: string, options: DueOptions): DueSequence[] {
  const catchUpMs = options.catchUpMs ?? 24 * 3_600_000;
  const due: DueSequence[] = [];
  for (const sequence of [...definitions.sequences.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (sequence.schedule === undefined) continue;
    const cron = parseCron(sequence.schedule).cron;
    if (!cron) continue;
    const timezone = sequence.timezone ?? 'UTC';
    const tick = previousTick(cron, options.now, timezone);
    if (!tick || options.now.getTime() - tick.getTime() > catchUpMs) continue;
    const fired = options.cron === undefined || sameCron(options.cron, sequence.schedule);
    const latest = latestRunStart(ledger, sequence.name);
    if (latest !== undefined && latest >= tick.getTime()) continue; // already run for this tick
    if (!fired && options.now.getTime() - tick.getTime() < 5 * 60_000) continue; // its own workflow run is probably on its way
    due.push({ name: sequence.name, schedule: sequence.schedule, timezone, tick: tick.toISOString(), reason: fired ? 'fired' : 'missed' });
  }
  return due;
}

function latestRunStart(ledger: string, sequence: string): number | undefined {
  for (const ref of runsNewestFirst(ledger, { sequence })) {
    const run = readRun(ledger, ref);
    if (run) return Date.parse(run.started_at);
  }
  return undefined;
}

/** Two cron expressions written alike, spacing aside (GitHub hands back the workflow's text). */
export function sameCron(a: string, b: string): boolean {
  return a.trim().split(/\s+/).join(' ') === b.trim().split(/\s+/).join(' ');
}
