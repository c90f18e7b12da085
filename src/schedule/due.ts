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
    const latest = latestFullRunStart(ledger, sequence.name);
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
 * When the latest run that counts for a tick started: a whole run of the sequence (not one
 * with --from or --only), whatever triggered it (the schedule, a person, a push).
 */
export function latestFullRunStart(ledger: LedgerStore, sequence: string): number | undefined {
  for (const ref of ledger.runsNewestFirst({ sequence })) {
    const run = ledger.readRun(ref);
    if (run && run.selection === null) return Date.parse(run.started_at);
  }
  return undefined;
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
