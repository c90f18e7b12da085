// The ledger as one object: what the UI, the schedule, reviews, GitHub, notifications and the
// CLI read and write through, instead of free functions over paths. Its roots are a ledger
// branch's worktree and/or the repository (history.ts's LedgerView); a long-lived reader
// (etl ui) gives it a cache. Reads never write; the write moments are reap and markAbandoned.
import type { Env } from '../git/git.js';
import type { RunRecord, StepRecord } from '../runner/records.js';
import {
  abandonedIfRunnerGone,
  findRun,
  type HistoryOptions,
  type LedgerView,
  ledgerSequences,
  listHistory,
  markAbandoned,
  type RunRef,
  readRun,
  requireRun,
  runsNewestFirst,
} from './history.js';
import { ledgerView } from './ledger-branch.js';
import {
  type LineageEntry,
  type LineageQuery,
  lineageOf,
  type StepSources,
  sourcesOf,
  type UpstreamNode,
  upstreamOf,
} from './lineage.js';
import { type MetricPoint, type MetricsQuery, metricsHistory } from './metrics.js';
import type { LedgerCache } from './read-cache.js';
import { type Reaped, reapAbandoned } from './reap.js';
import { readLogTail, readStep } from './step-log.js';
import { standIn } from './earlier-runs.js';

export interface OpenLedgerOptions {
  env?: Env;
  /** Folders and records kept between reads (etl ui). */
  cache?: LedgerCache;
}

export class LedgerStore {
  /** Every root runs are read from, the one runs are written to first. */
  readonly roots: string[];

  constructor(
    view: LedgerView,
    readonly cache?: LedgerCache,
  ) {
    this.roots = typeof view === 'string' ? [view] : [...view];
  }

  /** The ledger of a repository: its ledger branch's worktree and, if runs are there too, the repository. */
  static async open(repo: string, options: OpenLedgerOptions = {}): Promise<LedgerStore> {
    return new LedgerStore(await ledgerView(repo, { env: options.env }), options.cache);
  }

  /** The same roots with a cache of their own (a server's, kept between requests). */
  withCache(cache: LedgerCache): LedgerStore {
    return new LedgerStore(this.view, cache);
  }

  /** Where runs are written (and reaped): a ledger branch's worktree, or the repository. */
  get writeRoot(): string {
    return this.roots[0]!;
  }

  /** The view as the internals take it: a single root stays a string. */
  get view(): LedgerView {
    return this.roots.length === 1 ? this.roots[0]! : this.roots;
  }

  /** The sequences with runs in any root, sorted. */
  sequences(): string[] {
    const names = new Set(this.roots.flatMap((root) => ledgerSequences(root, this.cache)));
    return [...names].sort();
  }

  /** The sequences with runs in one root. */
  sequencesIn(root: string): string[] {
    return ledgerSequences(root, this.cache);
  }

  /** Runs newest first (see runsNewestFirst), read lazily. */
  runsNewestFirst(options: { sequence?: string; since?: Date; before?: string | Date } = {}): Generator<RunRef> {
    return runsNewestFirst(this.view, { ...options, cache: this.cache });
  }

  /** Run records newest first, as etl history lists them, filtered and paged. */
  list(options: Omit<HistoryOptions, 'cache'> = {}): RunRecord[] {
    return listHistory(this.view, { ...options, cache: this.cache });
  }

  /** A run by id, id prefix, id hash, record path or SEQUENCE@latest (see findRun). */
  find(spec: string): RunRef {
    return findRun(this.view, spec);
  }

  /** A run's record as written (a running one with its steps brought up to date), or undefined. */
  readRun(ref: Pick<RunRef, 'folder'> & { root?: string }): RunRecord | undefined {
    return readRun(ref.root ?? this.writeRoot, ref, this.cache);
  }

  /** A run's record as a reader shows it: abandoned if its runner is gone (nothing is written). */
  readRunAsShown(ref: RunRef): RunRecord | undefined {
    const record = this.readRun(ref);
    return record && abandonedIfRunnerGone(ref.root, record);
  }

  /** A run a command was asked for: abandoned if its runner is gone, or an error saying why it cannot be read. */
  requireRun(ref: RunRef): RunRecord {
    return requireRun(ref);
  }

  /** A step's record in a run folder (absolute), or undefined while it is not written or unusable. */
  readStep(runFolder: string, recordPath: string): StepRecord | undefined {
    return readStep(runFolder, recordPath);
  }

  /** The end of a log inside runs/ (anything else is refused: undefined). */
  readLogTail(path: string, lines: number, chars = Infinity): string | undefined {
    return readLogTail(path, lines, chars);
  }

  metrics(sequence: string, query: MetricsQuery = {}): MetricPoint[] {
    return metricsHistory(this.view, sequence, query);
  }

  /** The runs that wrote or read `path` (absolute in `repo`), newest first. */
  lineage(repo: string, path: string, query: LineageQuery = {}): LineageEntry[] {
    return lineageOf(this.view, repo, path, query);
  }

  upstream(repo: string, path: string, query: LineageQuery = {}): UpstreamNode {
    return upstreamOf(this.view, repo, path, query);
  }

  /** For each step of a run, the steps that wrote what it read (the run page's links). */
  sources(repo: string, run: RunRecord, steps: StepRecord[], runs?: number): StepSources[] {
    return sourcesOf(this.view, repo, run, steps, runs, this.cache);
  }

  /** The record of the step a skipped one stands for, through a chain of skips. */
  standIn(step: StepRecord): StepRecord | undefined {
    return standIn(this.view, step);
  }

  /** Write moment: records this host's runs whose runner is gone as abandoned (see reapAbandoned). */
  reap(sequences?: string[], newest?: number): Reaped[] {
    return reapAbandoned(this.writeRoot, sequences, newest);
  }

  /** Write moment: records one running run as abandoned (see markAbandoned). */
  markAbandoned(folder: string, reason: string, killed: number[] = []): RunRecord | undefined {
    return markAbandoned(this.writeRoot, folder, reason, killed);
  }
}
