// What a long-lived reader of the ledger (etl ui) keeps between requests, so that an overview
// of hundreds of sequences does not read thousands of folders and records each time: a
// folder's listing while its modification time is unchanged (adding or removing a run, a
// day or a sequence changes it, whoever does it: a runner, a git pull), and finished run
// records (never rewritten once finished; a running one is read every time).
import { statSync } from 'node:fs';
import type { RunRecord } from '../runner/records.js';

/** Entries kept of each kind; the oldest go first beyond this (a walk of a whole big ledger). */
const MAX_ENTRIES = 50_000;

export class LedgerCache {
  private readonly listings = new Map<string, { mtimeMs: number; names: string[] }>();
  private readonly records = new Map<string, RunRecord>();

  /** A folder's entries, as `read` lists them, read again only when the folder changed. */
  list(path: string, read: () => string[]): string[] {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) return [];
    const kept = this.listings.get(path);
    if (kept?.mtimeMs === stat.mtimeMs) return kept.names;
    const names = read();
    remember(this.listings, path, { mtimeMs: stat.mtimeMs, names });
    return names;
  }

  /** A run record by its run.json path; finished ones are kept. */
  record(path: string, read: () => RunRecord | undefined): RunRecord | undefined {
    const kept = this.records.get(path);
    if (kept) return kept;
    const run = read();
    if (run && run.status !== 'running') remember(this.records, path, run);
    return run;
  }
}

function remember<T>(map: Map<string, T>, key: string, value: T): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_ENTRIES) map.delete(map.keys().next().value!);
}
