import { statSync } from 'node:fs';
import { join } from 'node:path';
import { parseCron } from '../definitions/cron.js';
import { SEQUENCES_DIR, type Definitions } from '../definitions/model.js';
import { runGitSync } from '../git/run-git.js';
import type { LedgerStore } from '../ledger/store.js';
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
 * The scheduled sequences to run now: those whose latest tick has no whole run (any trigger;
 * a run of some steps only does not count) started at or after it in the ledger. GitHub delays scheduled workflows and sometimes drops them, so the
 * fired expression is not trusted alone: any schedule whose tick was missed (passed within
 * the catch-up window, and since the sequence's file was first committed) is due too, and
 * one already run since its tick is not run twice.
 */
export function dueSequences(definitions: Definitions, ledger: LedgerStore, options: DueOptions): DueSequence[] {
  const catchUpMs = options.catchUpMs ?? 24 * 3_600_000;
  const due: DueSequence[] = [];
  let existedSince: Map<string, number> | undefined;
  for (const sequence of [...definitions.sequences.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (sequence.schedule === undefined) continue;
    const cron = parseCron(sequence.schedule).cron;
    if (!cron) continue;
    const timezone = sequence.timezone ?? 'UTC';
    const tick = previousTick(cron, options.now, timezone);
    if (!tick || options.now.getTime() - tick.getTime() > catchUpMs) continue;
    const fired = options.cron === undefined || sameCron(options.cron, sequence.schedule);
    const latest = latestRunTick(ledger, sequence.name);
    if (latest !== undefined && latest >= tick.getTime()) continue; // already run for this tick
    if (!fired && options.now.getTime() - tick.getTime() < 5 * 60_000) continue; // its own workflow run is probably on its way
    // A tick from before the sequence existed was never missed: a new daily job waits for its
    // hour. (A tick that the schedule workflow says just fired is trusted.)
    const judged = !fired || options.cron === undefined;
    existedSince ??= judged ? sequencesExistedSince(definitions) : undefined;
    if (judged && tick.getTime() < existedSince!.get(sequence.file)!) continue;
    due.push({
      name: sequence.name,
      schedule: sequence.schedule,
      timezone,
      tick: tick.toISOString(),
      reason: fired ? 'fired' : 'missed',
    });
  }
  return due;
}

/**
 * The newest tick a whole run of the sequence (not one with --from or --only) was for, whatever
 * triggered it: its tick (the schedule's, --tick, a backfill's), which for a run without one is
 * its start. A run started after a tick for an older one (a backfill) does not count for it.
 */
export function latestRunTick(ledger: LedgerStore, sequence: string): number | undefined {
  let newest: number | undefined;
  for (const ref of ledger.runsNewestFirst({ sequence })) {
    const run = ledger.readRun(ref);
    if (!run) continue;
    const started = Date.parse(run.started_at);
    // A run's tick is never after its start: one that started earlier has no newer tick.
    if (newest !== undefined && started <= newest) break;
    if (run.selection !== null) continue;
    const tick = Date.parse(run.tick ?? run.trigger.tick ?? run.started_at);
    if (newest === undefined || tick > newest) newest = tick;
  }
  return newest;
}

/**
 * Since when each sequence file exists: the commit that added it (one `git log` for all),
 * else (not committed, not a repository) its modification time.
 */
function sequencesExistedSince(definitions: Definitions): Map<string, number> {
  const since = new Map<string, number>();
  // Sync: dueSequences, a sync function of the library's API, asks this in its loop.
  const additions = ['log', '--diff-filter=A', '--format=%x00%ct', '--name-only', '--', SEQUENCES_DIR];
  const log = runGitSync(definitions.repo, additions);
  if (log.code === 0) {
    // Newest first: the last time a file was added is the one that counts (a file deleted and
    // added again exists since it came back).
    for (const entry of log.stdout.toString().split('\0').filter(Boolean)) {
      const [time, ...files] = entry.split('\n').filter(Boolean);
      for (const file of files) if (!since.has(file)) since.set(file, Number(time) * 1000);
    }
  }
  for (const sequence of definitions.sequences.values()) {
    if (since.has(sequence.file)) continue;
    try {
      since.set(sequence.file, statSync(join(definitions.repo, sequence.file)).mtimeMs);
    } catch {
      since.set(sequence.file, Date.now());
    }
  }
  return since;
}

/** Two cron expressions written alike, spacing aside (GitHub hands back the workflow's text). */
export function sameCron(a: string, b: string): boolean {
  return a.trim().split(/\s+/).join(' ') === b.trim().split(/\s+/).join(' ');
}
