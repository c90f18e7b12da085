// Which runs ended since the last scrape, so that Prometheus' counters count each run once.
// The counters are this process's, as Prometheus expects of a counter: they count the runs
// that ended since it started (`since`), once each, whoever ran them (etl schedule, etl run by
// hand, another clone whose runs are pulled in), and start at 0 when it starts again.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { lockFile } from '../ledger/layout.js';
import type { LedgerStore } from '../ledger/store.js';
import type { RunRecord } from '../runner/records.js';

/**
 * How far back, by start, a run is still looked for: one that turns up late (pulled from
 * another clone after it ended) is counted if it started within this of the scrape. Each
 * scrape walks this much of each sequence's runs (records kept by the store's cache).
 */
export const LATE_MS = 24 * 3_600_000;

/** A run id's leading time ("20261125T031828123Z"), which sorts as the ids do. */
const idTime = (ms: number) => new Date(ms).toISOString().replace(/[-:.]/g, '');

export class RunTally {
  /** Per sequence, the runs looked at within the window: ended (true) or still running (false). */
  private readonly seen = new Map<string, Map<string, boolean>>();
  private first = true;

  constructor(private readonly since: Date) {}

  /**
   * The runs of each sequence that ended since the last call, oldest first; the first call,
   * those that ended since `since`.
   */
  ended(store: LedgerStore, sequences: Iterable<string>, now: Date): RunRecord[] {
    const horizon = idTime(now.getTime() - LATE_MS);
    const ended: RunRecord[] = [];
    for (const sequence of sequences) ended.push(...this.endedIn(store, sequence, horizon));
    this.first = false;
    return ended.sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** How many runs of the sequence were running at the last call (within the window). */
  running(sequence: string): number {
    let count = 0;
    for (const done of this.seen.get(sequence)?.values() ?? []) if (!done) count++;
    return count;
  }

  private endedIn(store: LedgerStore, sequence: string, horizon: string): RunRecord[] {
    const seen = this.seen.get(sequence) ?? new Map<string, boolean>();
    this.seen.set(sequence, seen);
    // A run seen running is followed until it ends, however long ago it started.
    let floor = horizon;
    for (const [id, done] of seen) if (!done && id < floor) floor = id;
    const ended: RunRecord[] = [];
    const walked = new Set<string>();
    const settledBefore = this.first && !locked(store, sequence) ? this.since.getTime() : undefined;
    for (const ref of store.runsNewestFirst({ sequence })) {
      if (ref.id < floor) break;
      walked.add(ref.id);
      if (seen.get(ref.id) === true) continue;
      // At the first look, with no run of the sequence going on here: a record last written
      // before `since` is of a run that had ended by then. Not read: a day of a busy ledger
      // is thousands of records.
      if (settledBefore !== undefined && writtenBefore(join(ref.root, ref.folder), settledBefore)) {
        seen.set(ref.id, true);
        continue;
      }
      const run = store.readRunAsShown(ref);
      if (!run) continue;
      const done = run.status !== 'running';
      seen.set(ref.id, done);
      if (done && (!this.first || endedSince(run, this.since))) ended.push(run);
    }
    // Out of the window, or a running run whose folder went (nothing will end it): forgotten.
    for (const [id, done] of seen) if ((done && id < horizon) || !walked.has(id)) seen.delete(id);
    return ended;
  }
}

/** Whether a finished run ended at or after `since` (a record without an end: judged by its start). */
function endedSince(run: RunRecord, since: Date): boolean {
  return Date.parse(run.finished_at ?? run.started_at) >= since.getTime();
}

/** Whether a run of the sequence holds its lock (or a dead one left it) in any root of the ledger. */
function locked(store: LedgerStore, sequence: string): boolean {
  return store.roots.some((root) => statSync(join(root, lockFile(sequence)), { throwIfNoEntry: false }) !== undefined);
}

function writtenBefore(folder: string, at: number): boolean {
  const stat = statSync(join(folder, 'run.json'), { throwIfNoEntry: false });
  return stat !== undefined && stat.mtimeMs < at;
}
