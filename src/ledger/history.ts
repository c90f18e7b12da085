import { existsSync, readdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { EtlError } from '../errors.js';
import type { RunRecord, StepSummary } from '../runner/records.js';
import { SCHEMA_VERSION } from '../runner/schema-version.js';
import { summaryLine } from '../runner/step-records.js';
import { writeJsonAtomic } from './atomic.js';
import { type OnProblem, readRecord } from './record-file.js';
import { readStep } from './step-log.js';
import { NAME_PATTERN } from '../definitions/patterns.js';
import { checkSequenceName, lockFile, RUN_ID_PATTERN, RUNS_DIR, runFolder, runIdTime } from './layout.js';
import { isAlive, readLock } from '../lock-file.js';
import type { LockInfo } from './lock.js';
import { describeOrphans, endOrphans } from './orphans.js';
import type { LedgerCache } from './read-cache.js';

export interface RunRef {
  sequence: string;
  id: string;
  /** Relative to the repository. */
  folder: string;
  /** The ledger root (a repository, or a ledger branch's worktree) the folder is in. */
  root: string;
}

/**
 * Where runs are read from: one root, or several (a ledger branch's worktree first, then
 * the repository's own runs/ recorded before the switch), read as one ledger.
 */
export type LedgerView = string | string[];

const descending = (names: string[]) => names.sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));

function listDirs(path: string, pattern: RegExp, cache?: LedgerCache): string[] {
  const read = () => {
    try {
      return descending(readdirSync(path).filter((name) => pattern.test(name)));
    } catch {
      return [];
    }
  };
  return cache ? cache.list(path, read) : read();
}

/** The sequences that have runs in the ledger. */
export function ledgerSequences(repo: string, cache?: LedgerCache): string[] {
  return [...listDirs(join(repo, RUNS_DIR), new RegExp(NAME_PATTERN), cache)].reverse();
}

/**
 * One sequence's runs, newest first, reading folders lazily: the newest day's folder is
 * read first and older ones only if more runs are asked for. `since` (YYYYMMDD) stops the
 * walk at older days.
 */
function* sequenceRuns(
  repo: string,
  sequence: string,
  since?: string,
  before?: string,
  cache?: LedgerCache,
): Generator<RunRef> {
  const base = join(repo, RUNS_DIR, sequence);
  for (const year of listDirs(base, /^\d{4}$/, cache)) {
    if (since && year < since.slice(0, 4)) return;
    if (before && year > before.slice(0, 4)) continue;
    for (const month of listDirs(join(base, year), /^\d{2}$/, cache)) {
      if (since && year + month < since.slice(0, 6)) return;
      if (before && year + month > before.slice(0, 6)) continue;
      for (const day of listDirs(join(base, year, month), /^\d{2}$/, cache)) {
        if (since && year + month + day < since) return;
        if (before && year + month + day > before.slice(0, 8)) continue;
        for (const id of listDirs(join(base, year, month, day), RUN_ID_PATTERN, cache)) {
          yield { sequence, id, folder: join(RUNS_DIR, sequence, year, month, day, id), root: repo };
        }
      }
    }
  }
}

/**
 * All runs (or one sequence's), newest first: a merge of each sequence's lazy walk. `before`
 * (a run id, or a time) starts the walk after it: day folders newer than it are not read.
 */
export function* runsNewestFirst(
  view: LedgerView,
  options: { sequence?: string; since?: Date; before?: string | Date; cache?: LedgerCache } = {},
): Generator<RunRef> {
  // Run ids start with their start time (20261125T031828123Z), so times compare as text.
  const stamp = (at: Date) => at.toISOString().replace(/[-:]/g, '').replace('.', '');
  const sinceId = options.since && stamp(options.since);
  const beforeId = options.before instanceof Date ? stamp(options.before) : options.before;
  const roots = typeof view === 'string' ? [view] : view;
  const walks = roots.flatMap((root) =>
    (options.sequence ? [checkSequenceName(options.sequence)] : ledgerSequences(root, options.cache)).map((s) =>
      sequenceRuns(root, s, sinceId?.slice(0, 8), beforeId?.slice(0, 8), options.cache),
    ),
  );
  const seen = roots.length > 1 ? new Set<string>() : undefined;
  const heads = walks.map((walk) => walk.next());
  for (;;) {
    let best = -1;
    for (const [i, head] of heads.entries()) {
      if (!head.done && (best === -1 || head.value.id > (heads[best]!.value as RunRef).id)) best = i;
    }
    if (best === -1) return;
    const ref = heads[best]!.value as RunRef;
    heads[best] = walks[best]!.next();
    if (seen?.has(ref.id)) continue; // the same run in two roots: the first root's copy
    seen?.add(ref.id);
    if (beforeId !== undefined && ref.id >= beforeId) continue;
    if (sinceId === undefined || ref.id >= sinceId) yield ref;
  }
}

/**
 * A run's record. While it runs, run.json's step list is brought up to date only now and
 * then (recorder.ts): each step's state is taken from its own record, written when it ends,
 * and the first step not ended is the one running.
 */
export function readRun(
  repo: string,
  ref: Pick<RunRef, 'folder'> & { root?: string },
  cache?: LedgerCache,
  onProblem?: OnProblem,
): RunRecord | undefined {
  const root = ref.root ?? repo;
  const folder = join(root, ref.folder);
  const path = join(folder, 'run.json');
  const read = () => readRunAt(root, folder, path, onProblem);
  return cache ? cache.record(path, read) : read();
}

function readRunAt(root: string, folder: string, path: string, onProblem?: OnProblem): RunRecord | undefined {
  // Undefined for a run that crashed before its first record (nothing to show), and for a
  // record that cannot be used (record-file.ts says why, once).
  const run = readRecord('run', root, path, onProblem);
  if (run?.status !== 'running') return run;
  run.steps = run.steps.map((line) => {
    if (line.status !== 'pending' && line.status !== 'running') return line;
    // An empty or torn record (a power loss before its flush) counts as not written.
    const step = readStep(folder, line.record);
    return step ? summaryLine(step, line.record) : line;
  });
  // A list's step record is written when it ends: the first one not ended is the one running.
  // A graph's steps write theirs as they start.
  if (run.max_parallel !== undefined) return run;
  const current = run.steps.findIndex((line) => line.status === 'pending' || line.status === 'running');
  if (current !== -1) run.steps[current] = { ...run.steps[current]!, status: 'running' };
  return run;
}

/** The run a command was asked for: its record (abandoned if its runner is gone), or an error saying why there is none. */
export function requireRun(ref: RunRef): RunRecord {
  let why = 'is missing: the run stopped before it wrote one';
  const record = readRun(ref.root, ref, undefined, (reason) => {
    why = reason;
  });
  if (!record) throw new EtlError('unreadable-run', `run ${ref.id} cannot be read: ${ref.folder}/run.json ${why}`);
  return abandonedIfRunnerGone(ref.root, record);
}

/**
 * Why a run still marked `running` was abandoned: its runner is gone (no lock of its own, or
 * a lock whose process no longer exists on this host). Undefined while it may be running;
 * runs started on another host are left alone: from here we cannot tell.
 */
function abandonedBecause(repo: string, run: RunRecord): string | undefined {
  if (run.status !== 'running' || run.host !== hostname()) return undefined;
  const lock = readLock<LockInfo>(join(repo, lockFile(run.sequence)));
  if (lock && lock.run_id === run.id && isAlive(lock)) return undefined;
  return `the runner (pid ${run.pid} on ${run.host}) stopped without finishing the run`;
}

/**
 * A run as a reader shows it: one whose runner is gone is abandoned, as the next reap will
 * record it (a run's start, etl ledger sync or reap, a daemon's tick). Nothing is written:
 * a read never changes the ledger, and works on a read-only checkout.
 */
export function abandonedIfRunnerGone(repo: string, run: RunRecord): RunRecord {
  const reason = abandonedBecause(repo, run);
  if (reason === undefined) return run;
  // What the spawner ended is said as the reap will record it; what still runs, as it is.
  return abandonedRecord(run, reason + describeOrphans(repo, runFolder(run.sequence, run.id), run));
}

/** Records a run whose runner is gone as abandoned (see markAbandoned); the record as it now is. */
export function reapIfAbandoned(repo: string, run: RunRecord): RunRecord {
  const reason = abandonedBecause(repo, run);
  if (reason === undefined) return run;
  return markAbandoned(repo, runFolder(run.sequence, run.id), reason) ?? run;
}

/** A running run's record as abandoned: its running step cancelled, the ones after it skipped. */
function abandonedRecord(run: RunRecord, error: string): RunRecord {
  return {
    ...run,
    status: 'abandoned',
    error,
    steps: run.steps.map(
      (s): StepSummary =>
        s.status === 'running'
          ? { ...s, status: 'cancelled' }
          : s.status === 'pending'
            ? { ...s, status: 'skipped' }
            : s,
    ),
  };
}

/**
 * A run folder without run.json (its runner was killed as it started), once no live runner
 * holds its sequence's lock for it: recorded as abandoned. Undefined while it may still start.
 */
export function reapUnstarted(repo: string, folder: string): RunRecord | undefined {
  const [, sequence, , , , id] = folder.split('/') as [string, string, string, string, string, string];
  const lock = readLock<LockInfo>(join(repo, lockFile(sequence)));
  if (lock && lock.run_id === id && isAlive(lock)) return undefined;
  return markAbandoned(repo, folder, 'the runner stopped while the run was starting, before it wrote run.json');
}

/**
 * Rewrites a running run's record as abandoned; returns it, or undefined if it was not
 * running. A folder whose run.json was never written gets one, so that the run shows. What
 * its modules left running is killed first (on this host), and the error names the processes
 * ended: by its spawner as the runner died, by the caller (`killed`), or now. Whoever reaps
 * the run, the next run or a reader, leaves nothing of it running and writes the same note.
 */
export function markAbandoned(
  repo: string,
  folder: string,
  reason: string,
  killed: number[] = [],
): RunRecord | undefined {
  // A run.json that is there but cannot be used is left as it is: only a missing one is made.
  const unstarted = existsSync(join(repo, folder)) && !existsSync(join(repo, folder, 'run.json'));
  const run = readRun(repo, { folder }) ?? (unstarted ? unstartedRecord(folder) : undefined);
  if (run?.status !== 'running') return undefined;
  const abandoned = abandonedRecord(run, reason + endOrphans(repo, folder, run, killed));
  writeJsonAtomic(join(repo, folder, 'run.json'), abandoned);
  removeTemporaryFiles(join(repo, folder));
  return abandoned;
}

/** What is known of a run whose runner wrote no run.json: its folder's name. */
function unstartedRecord(folder: string): RunRecord {
  const [, sequence, , , , id] = folder.split('/') as [string, string, string, string, string, string];
  return {
    schema_version: SCHEMA_VERSION,
    id,
    sequence,
    status: 'running',
    trigger: { kind: 'unknown', actor: null, ci: null },
    definitions: { commit: null, dirty: null, files: {} },
    selection: null,
    host: 'unknown',
    pid: 0,
    runner_version: 'unknown',
    started_at: runIdTime(id),
    finished_at: null,
    duration_ms: null,
    failed_step: null,
    error: null,
    steps: [],
  };
}

/** The temporary files a dead runner left in its run folder (records half made). */
export function removeTemporaryFiles(folder: string): void {
  for (const dir of [folder, join(folder, 'steps')]) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names)
      if (name.startsWith('.') && name.endsWith('.tmp')) rmSync(join(dir, name), { force: true });
  }
}

/**
 * Finds one run: its id or a unique prefix of it, the hash at its end, its record's path (as
 * `etl run` prints it), SEQUENCE@latest, SEQUENCE@last-failed, or a bare SEQUENCE (its
 * latest run). A prefix that names a day (20261125...) reads only that day's folders.
 */
export function findRun(repo: LedgerView, spec: string): RunRef {
  const path = /(?:^|\/)runs\/[^/]+\/\d{4}\/\d{2}\/\d{2}\/([^/]+?)(?:\/(?:run\.json)?)?$/.exec(spec);
  if (path) return findRun(repo, path[1]!);
  const at = /^(.+)@(latest|last-failed)(?:~(\d+))?$/.exec(spec);
  if (at) return latestOf(repo, at[1]!, at[2] as 'latest' | 'last-failed', Number(at[3] ?? 0));
  // A whole id names its day's folder: one look per sequence, however long the ledger.
  if (RUN_ID_PATTERN.test(spec)) {
    for (const root of typeof repo === 'string' ? [repo] : repo) {
      for (const sequence of ledgerSequences(root)) {
        const folder = runFolder(sequence, spec);
        if (existsSync(join(root, folder))) return { sequence, id: spec, folder, root };
      }
    }
  }
  if (/^[0-9a-f]{8}$/.test(spec)) {
    // The random part of an id: unique in practice, found by a walk over every run.
    const matches = [...runsNewestFirst(repo)].filter((ref) => ref.id.endsWith(`-${spec}`));
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1)
      throw new EtlError(
        'ambiguous-run',
        `"${spec}" ends more than one run id (${matches.map((m) => m.id).join(', ')}): give the whole id`,
      );
  }
  const isName = new RegExp(NAME_PATTERN).test(spec);
  if (/^[0-9TZa-f-]+$/.test(spec)) {
    const day = /^\d{8}/.test(spec)
      ? new Date(`${spec.slice(0, 4)}-${spec.slice(4, 6)}-${spec.slice(6, 8)}T00:00:00Z`)
      : undefined;
    const matches: RunRef[] = [];
    for (const ref of runsNewestFirst(repo, { since: day && !Number.isNaN(day.getTime()) ? day : undefined })) {
      if (ref.id.startsWith(spec)) matches.push(ref);
      if (matches.length > 1) break;
    }
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1)
      throw new EtlError(
        'ambiguous-run',
        `"${spec}" matches more than one run (${matches.map((m) => m.id).join(', ')}, ...): give more of the id`,
      );
    if (!isName) throw new EtlError('unknown-run', `no run id starts with "${spec}"`);
    try {
      return latestOf(repo, spec, 'latest');
    } catch {
      throw new EtlError('unknown-run', `no run id starts with "${spec}", and no sequence "${spec}" has runs`);
    }
  }
  if (isName) return latestOf(repo, spec, 'latest'); // a bare sequence name: its latest run
  throw new EtlError(
    'unknown-run',
    `"${spec}" is not a run id, an id prefix, a record path, or SEQUENCE@latest / SEQUENCE@latest~N / SEQUENCE@last-failed`,
  );
}

/** The newest run of a sequence (or its newest failed one), or the `back`-th before it. */
function latestOf(repo: LedgerView, sequence: string, which: 'latest' | 'last-failed', back = 0): RunRef {
  let left = back;
  for (const ref of runsNewestFirst(repo, { sequence })) {
    if (which === 'last-failed' && readRun(ref.root, ref)?.status !== 'failed') continue;
    if (left-- === 0) return ref;
  }
  throw new EtlError(
    'unknown-run',
    back > 0
      ? `sequence "${sequence}" has no ${back === 1 ? '' : `${back}th `}${which === 'latest' ? 'run' : 'failed run'} before its ${which === 'latest' ? 'latest' : 'last failed'} one in the ledger`
      : `no ${which === 'latest' ? '' : 'failed '}run of sequence "${sequence}" in the ledger`,
  );
}

export interface HistoryOptions {
  sequence?: string;
  status?: string;
  since?: Date;
  /** Only runs older than this run id, or started before this time (a page's cursor). */
  before?: string | Date;
  limit?: number;
  /** A long-lived reader's (etl ui) folders and records kept between calls. */
  cache?: LedgerCache;
}

/**
 * Runs newest first, as `etl history` lists them. Reads only as many records as it shows
 * (plus those a --status filter skips), so it stays fast however long the ledger grows.
 */
export function listHistory(repo: LedgerView, options: HistoryOptions = {}): RunRecord[] {
  const limit = options.limit ?? 20;
  const found: RunRecord[] = [];
  if (limit <= 0) return found;
  for (const ref of runsNewestFirst(repo, {
    sequence: options.sequence,
    since: options.since,
    before: options.before,
    cache: options.cache,
  })) {
    const record = readRun(ref.root, ref, options.cache);
    if (!record) continue;
    const run = abandonedIfRunnerGone(ref.root, record);
    if (options.status !== undefined && run.status !== options.status) continue;
    found.push(run);
    if (found.length >= limit) break;
  }
  return found;
}
