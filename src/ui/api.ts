// The JSON API of `etl ui` (and of the pages it serves): what the ledger holds, read the way
// `etl history` reads it, lazily, so that no call reads every run of a large ledger. A URL
// names runs by their full id and sequences by their name, both checked against their
// patterns: nothing in a URL becomes a path before it has been.
import type { Handler } from '../definitions/handlers.js';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Definitions } from '../definitions/model.js';
import { type GitHubWeb, runLinks } from '../github/remote.js';
import { NAME_PATTERN } from '../definitions/patterns.js';
import type { RunRef } from '../ledger/history.js';
import { freshnessOf } from '../ledger/freshness.js';
import { insideRuns } from '../ledger/inside-runs.js';
import { RUN_ID_PATTERN, stepFiles } from '../ledger/layout.js';
import { blobOnDisk } from '../ledger/pin.js';
import { pinDiff, pinnedFiles } from '../ledger/pinned.js';
import type { LedgerStore } from '../ledger/store.js';
import { maskPlan, type Plan, planRun, stepsOfRole } from '../runner/plan.js';
import type { RunRecord, StepRecord } from '../runner/records.js';
import type {
  DefinitionsAnswer,
  LineageAnswer,
  MetricsAnswer,
  RunAnswer,
  RunsAnswer,
  ScheduleAnswer,
  SequencesAnswer,
} from './api-types.js';
import { isSuccess, RUN_STATUSES } from '../runner/statuses.js';
import { listSequences } from '../schedule/overview.js';
import { readStatus } from '../schedule/service.js';

export interface ApiContext {
  /** The pipeline repository: git objects (the pinned definitions) are read from it. */
  repo: string;
  /** Where runs are read from (a ledger branch's worktree first, then the repository); a server's keeps a cache. */
  store: LedgerStore;
  /** The repository's GitHub address, when its origin is on GitHub: a run's links. */
  remote?: GitHubWeb;
  /** The definitions, when they validate (a sequence's schedule, description, steps). */
  definitions(): Promise<Definitions | undefined>;
  now(): Date;
  /** The environment runs get (a running step's argv is planned with it, secrets masked). */
  env?: Record<string, string | undefined>;
}

export interface ApiResponse {
  status: number;
  /** A JSON body, plain text with `type`, or a part of a file streamed from the disk. */
  json?: unknown;
  text?: string;
  type?: string;
  file?: { path: string; start: number; end: number; headers: Record<string, string> };
}

const STATUSES: readonly string[] = RUN_STATUSES;
const NAME = new RegExp(NAME_PATTERN);
/** Recent runs shown per sequence on the overview (its strip, its success rate). */
export const RECENT_RUNS = 20;
/** The most runs one answer of /api/runs holds (older ones: the next page). */
export const MAX_PAGE = 500;
/** The most runs a sequence's metrics are read from: as many as a report holds (etl report --runs). */
export const MAX_RUNS_PER_SEQUENCE = 10_000;
/** A log is served whole up to this size; a bigger one from its end (the kept log is capped anyway). */
const MAX_LOG_BYTES = 8 * 1024 * 1024;

const notFound = (what: string): ApiResponse => ({ status: 404, json: { error: `${what} not found` } });
const badRequest = (message: string): ApiResponse => ({ status: 400, json: { error: message } });

/** Answers one API request; `path` is the URL's path below /api. */
export async function handleApi(context: ApiContext, method: string, path: string, query: URLSearchParams) {
  const parts = path.split('/').filter(Boolean);
  // Not a read of the API: there is nothing to write here (actions live elsewhere, if allowed).
  if (!['sequences', 'runs', 'schedule'].includes(parts[0] ?? '')) return notFound('page');
  if (method !== 'GET' && method !== 'HEAD') return { status: 405, json: { error: 'only GET' } } as ApiResponse;
  if (parts.length === 1 && parts[0] === 'schedule') return schedule(context);
  if (parts.length === 1 && parts[0] === 'sequences') return sequences(context);
  if (parts.length === 1 && parts[0] === 'runs') return runs(context, query);
  if (parts.length === 3 && parts[0] === 'sequences' && parts[2] === 'metrics')
    return metrics(context, parts[1]!, query);
  if (parts[0] === 'runs' && parts.length >= 2) {
    const id = parts[1]!;
    if (!RUN_ID_PATTERN.test(id)) return notFound('run');
    if (parts.length === 2) return oneRun(context, id);
    if (parts.length === 3 && parts[2] === 'definitions') return runDefinitions(context, id);
    if (parts.length === 3 && parts[2] === 'lineage') return runLineage(context, id);
    if (parts.length === 5 && parts[2] === 'steps' && parts[4] === 'log')
      return stepLog(context, id, parts[3]!, query.get('from'));
  }
  return notFound('page');
}

/** Every sequence, defined or with runs: its schedule, next firing, last run and recent runs. */
async function sequences(context: ApiContext): Promise<ApiResponse> {
  const definitions = await context.definitions();
  const now = context.now();
  const defined = definitions ? listSequences(definitions, now) : [];
  const names = new Set(defined.map((s) => s.name));
  for (const name of context.store.sequences()) names.add(name);
  const list = [...names].sort().map((name) => {
    const recent = context.store.list({ sequence: name, limit: RECENT_RUNS });
    const finished = recent.filter((r) => r.status !== 'running');
    const sequence = definitions?.sequences.get(name);
    const freshness = sequence && freshnessOf(context.store, sequence, now);
    const entry = defined.find((s) => s.name === name);
    return {
      ...(entry ? { ...entry, ...(freshness ? { freshness } : {}) } : { name, defined: false as const }),
      last: recent[0] ?? null,
      recent: recent.map((r) => ({ id: r.id, status: r.status, duration_ms: r.duration_ms, started_at: r.started_at })),
      success_rate: finished.length ? finished.filter((r) => isSuccess(r.status)).length / finished.length : null,
    };
  });
  return { status: 200, json: { sequences: list, now: now.toISOString() } satisfies SequencesAnswer };
}

/** Runs newest first, a page at a time: `before` is the cursor (the last id of the page before). */
function runs(context: ApiContext, query: URLSearchParams): ApiResponse {
  const sequence = query.get('sequence') ?? undefined;
  if (sequence !== undefined && !NAME.test(sequence)) return badRequest('not a sequence name');
  const status = query.get('status') ?? undefined;
  if (status !== undefined && !STATUSES.includes(status)) return badRequest(`status is one of ${STATUSES.join(', ')}`);
  const limit = Number(query.get('limit') ?? 50);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) return badRequest(`limit is 1 to ${MAX_PAGE}`);
  const cursor = query.get('before') ?? undefined;
  if (cursor !== undefined && !RUN_ID_PATTERN.test(cursor)) return badRequest('before is a run id');
  const since = time(query.get('since'));
  const until = time(query.get('until'));
  if (since === null || until === null) return badRequest('since and until are dates (2026-11-01) or times');
  // The older bound of the two: the cursor, or the end of the range.
  const before = cursor ?? until;
  const page = context.store.list({ sequence, status, since, before, limit: limit + 1 });
  const more = page.length > limit;
  const shown = page.slice(0, limit);
  return {
    status: 200,
    json: { runs: shown, next: more ? shown.at(-1)!.id : null } satisfies RunsAnswer,
  };
}

/** What a sequence's steps wrote to ETL_METRICS in its newest runs (`limit`, default 50), newest first. */
function metrics(context: ApiContext, sequence: string, query: URLSearchParams): ApiResponse {
  if (!NAME.test(sequence)) return notFound('sequence');
  const limit = Number(query.get('limit') ?? 50);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_RUNS_PER_SEQUENCE)
    return badRequest(`limit is 1 to ${MAX_RUNS_PER_SEQUENCE}`);
  return { status: 200, json: { points: context.store.metrics(sequence, { limit }) } satisfies MetricsAnswer };
}

/**
 * The scheduler of this repository, as `etl status` reads it: whether its daemon is running
 * (its lock's process alive), and the status file it keeps: per sequence the next tick, the
 * run going on, the last tick's outcome (with why it could not start), the ticks skipped.
 */
function schedule(context: ApiContext): ApiResponse {
  const { status, alive, lock } = readStatus(context.repo);
  return {
    status: 200,
    json: {
      alive,
      daemon: lock ? { pid: lock.pid, host: lock.host, started_at: lock.started_at } : null,
      status: status ?? null,
    } satisfies ScheduleAnswer,
  };
}

/** undefined when absent, null when unreadable. */
function time(value: string | null): Date | undefined | null {
  if (value === null || value === '') return undefined;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? null : at;
}

/**
 * One run, with every step's own record (attempts, argv, exit codes, log summary), and
 * `running_argv`: the argv of each step running now, by "role-index".
 */
async function oneRun(context: ApiContext, id: string): Promise<ApiResponse> {
  const found = locate(context, id);
  if (!found) return notFound('run');
  return {
    status: 200,
    json: {
      run: found.run,
      steps: stepRecords(context.store, found),
      links: runLinks(found.run, context.remote),
      running_argv: await runningArgv(context, found.run),
    } satisfies RunAnswer,
  };
}

/**
 * A step's record (and the argv in it) is written when the step ends: while it runs, its argv
 * is planned again from the definitions, as the run planned it (its params and tick, secrets
 * masked), when those on disk are still the ones the run pinned. Otherwise none is given.
 */
async function runningArgv(context: ApiContext, run: RunRecord): Promise<Record<string, string[]>> {
  const running = run.steps.filter((line) => line.status === 'running');
  if (run.status !== 'running' || running.length === 0) return {};
  const pinned = Object.entries(run.definitions.files);
  if (pinned.some(([file, blob]) => blobOnDisk(context.repo, file) !== blob)) return {};
  const definitions = await context.definitions();
  if (!definitions) return {};
  const env = context.env ?? {};
  let plan: Plan;
  try {
    const values = { params: run.params, tick: run.tick === undefined ? undefined : new Date(run.tick) };
    plan = maskPlan(planRun(definitions, run.sequence, env, values), env);
  } catch {
    return {};
  }
  const argv: Record<string, string[]> = {};
  for (const line of running) {
    const step = stepsOfRole(plan, line.role).find((s) => s.index === line.index);
    if (step && step.module === line.module) argv[`${line.role}-${line.index}`] = step.argv;
  }
  return argv;
}

/** A run's step records (readStep reads none that lies outside runs/). */
function stepRecords(store: LedgerStore, { run, folder }: { run: RunRecord; folder: string }): StepRecord[] {
  const steps: StepRecord[] = [];
  for (const line of run.steps) {
    const step = store.readStep(folder, line.record);
    if (step) steps.push(step);
  }
  return steps;
}

/**
 * The definitions a run ran, each file's content read from git by the blob hash it pinned,
 * and what changed since the sequence's run before it (a unified diff per file).
 */
function runDefinitions(context: ApiContext, id: string): ApiResponse {
  const found = locate(context, id);
  if (!found) return notFound('run');
  const { run } = found;
  const [previous] = context.store.list({ sequence: run.sequence, before: run.id, limit: 1 });
  return {
    status: 200,
    json: {
      commit: run.definitions.commit,
      dirty: run.definitions.dirty,
      files: pinnedFiles(context.repo, run.definitions),
      previous: previous ? { id: previous.id, commit: previous.definitions.commit } : null,
      changes: previous ? pinDiff(context.repo, previous.definitions, run.definitions) : [],
    } satisfies DefinitionsAnswer,
  };
}

/** For each step of a run, the steps (of this run or earlier ones) that wrote what it read. */
function runLineage(context: ApiContext, id: string): ApiResponse {
  const found = locate(context, id);
  if (!found) return notFound('run');
  const sources = context.store.sources(context.repo, found.run, stepRecords(context.store, found), 200);
  return { status: 200, json: { sources } satisfies LineageAnswer };
}

/** A run by its whole id: its record and folder, when they lie inside runs/ (no link out of it). */
function locate(context: ApiContext, id: string): { run: RunRecord; folder: string; root: string } | undefined {
  let ref: RunRef;
  try {
    ref = context.store.find(id);
  } catch {
    return undefined;
  }
  const folder = join(ref.root, ref.folder);
  if (ref.id !== id) return undefined;
  const run = context.store.readRunAsShown(ref); // none outside runs/
  if (!run) return undefined;
  return { run, folder, root: ref.root };
}

/**
 * A step's kept log; `step` is "3" (a step) or "on_failure-1" (a handler's step). Streamed
 * from the file (the server holds a chunk at a time, however long it is), from byte `from` on
 * when given: a page following a running step asks for what was added since its last read,
 * the offset the answer's X-Log-Size header gave.
 */
function stepLog(context: ApiContext, id: string, step: string, from: string | null): ApiResponse {
  const match = /^(?:(on_success|on_failure|on_cancel|on_exit)-)?([1-9]\d{0,5})$/.exec(step);
  if (!match) return notFound('step');
  if (from !== null && !/^\d{1,15}$/.test(from)) return badRequest('from is a byte offset');
  const role = (match[1] as Handler | undefined) ?? 'step';
  const found = locate(context, id);
  const line = found?.run.steps.find((s) => s.role === role && s.index === Number(match[2]));
  // The module's name makes the file's: as validated, never a path of its own.
  if (!found || !line || !NAME.test(line.module)) return notFound('step');
  // Where the runner writes it (the ledger's layout), readable while the step still runs.
  const count = found.run.steps.filter((s) => s.role === role).length;
  const path = join(found.folder, stepFiles(line, count).log);
  let size = 0;
  try {
    // A log that is a link out of runs/ is served as empty.
    if (insideRuns(found.root, path)) size = statSync(path).size;
  } catch {
    // not written yet
  }
  const start = from === null ? Math.max(0, size - MAX_LOG_BYTES) : Math.min(Number(from), size);
  const headers = { 'X-Log-Size': String(size), 'X-Log-Start': String(start) };
  return { status: 200, type: 'text/plain; charset=utf-8', file: { path, start, end: size, headers } };
}
