// What became of each tick the daemon saw, per sequence: a run (its id and status) or a skip
// (and why: still running, claimed by another daemon, stopping). A JSON line a tick in the
// daemon's state folder, kept to the newest few thousand; `etl history --ticks` reads it.
import { appendFileSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../ledger/atomic.js';
import type { DaemonEvent } from './scheduler.js';
import { scheduleStateDir } from './service.js';

export interface TickEntry {
  tick: string;
  sequence: string;
  /** The run's status (succeeded, failed, cancelled...) or "skipped". */
  outcome: string;
  run_id?: string;
  /** Why it was skipped, or why the run did not start. */
  reason?: string;
  /** When the daemon wrote it. */
  at: string;
}

/** A sequence's log is cut back to its newest KEPT entries once it holds twice as many. */
const KEPT = 2000;
/** Roughly the size of 2 * KEPT entries: the log is read and cut only past it. */
const CUT_AT_BYTES = 2 * KEPT * 200;

const ticksDir = (repo: string) => join(scheduleStateDir(repo), 'ticks');

/**
 * A tick's run status with why, said once: "failed: …", "cancelled before the run was recorded"
 * (not "cancelled: cancelled …": a cancelled run's error repeats its status).
 */
export function statusWithReason(status: string, error?: string): string {
  if (!error || error === status) return status;
  return error.startsWith(`${status} `) ? error : `${status}: ${error}`;
}

/** The entry a daemon event leaves, if any (ends and skips). */
export function tickEntry(event: DaemonEvent, at: Date): TickEntry | undefined {
  if (event.event === 'end')
    return {
      tick: event.tick,
      sequence: event.sequence,
      outcome: event.status,
      ...(event.run_id ? { run_id: event.run_id } : {}),
      ...(event.error && !event.run_id ? { reason: event.error } : {}),
      at: at.toISOString(),
    };
  if (event.event === 'skip')
    return {
      tick: event.tick,
      sequence: event.sequence,
      outcome: 'skipped',
      reason: event.reason,
      at: at.toISOString(),
    };
  return undefined;
}

export function appendTick(repo: string, entry: TickEntry): void {
  const dir = ticksDir(repo);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${entry.sequence}.jsonl`);
  appendFileSync(path, `${JSON.stringify(entry)}\n`);
  if (statSync(path).size > CUT_AT_BYTES) {
    const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
    if (lines.length > 2 * KEPT) writeFileAtomic(path, `${lines.slice(-KEPT).join('\n')}\n`);
  }
}

/** The ticks of one sequence (or of all), newest first, at most `limit`. */
export function readTicks(repo: string, sequence: string | undefined, limit: number): TickEntry[] {
  let files: string[];
  try {
    files = readdirSync(ticksDir(repo)).filter((f) => f.endsWith('.jsonl'));
  } catch {
    return [];
  }
  if (sequence !== undefined) files = files.filter((f) => f === `${sequence}.jsonl`);
  const entries: TickEntry[] = [];
  for (const file of files)
    for (const line of readFileSync(join(ticksDir(repo), file), 'utf8').split('\n')) {
      try {
        if (line) entries.push(JSON.parse(line) as TickEntry);
      } catch {
        // a line cut short by a crash: the others still count
      }
    }
  return entries
    .sort((a, b) => (a.tick === b.tick ? (a.at < b.at ? 1 : -1) : a.tick < b.tick ? 1 : -1))
    .slice(0, limit);
}
