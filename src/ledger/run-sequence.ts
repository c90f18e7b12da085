import { readdirSync, rmSync, statSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { filesToPin, validSequenceFiles } from '../definitions/sequence-files.js';
import { type Definitions, MODULES_FILE } from '../definitions/model.js';
import { EtlError } from '../errors.js';
import { sleep } from '../timers.js';
import { executePlan, openRunSpawner, type RunObserver } from '../runner/engine.js';
import { type Plan, planRun, type RunValues } from '../runner/plan.js';
import type { Spawner } from '../runner/spawner.js';
import type { ParentRun, RunRecord, Trigger } from '../runner/records.js';
import { tellParent } from '../runner/call.js';
import { lockFile, newRunId, RUN_ID_PATTERN, runFolder, runIdTime, stepFiles } from './layout.js';
import { liveHolder } from '../lock-file.js';
import { acquireLock, type LockInfo, type ReplacedLock } from './lock.js';
import { lastSuccessfulMetrics } from './metrics.js';
import { blobOnDisk, pinDefinitions } from './pin.js';
import { checkLedgerTarget, checkRunsFolder } from './preflight.js';
import type { PushOptions, PushResult } from '../git/push.js';
import { lastDoneSteps } from './earlier-runs.js';
import { openRecorder } from './recorder.js';
import type { RetentionOutcome } from './retention/after-run.js';
import { noteUnrecorded } from './unrecorded.js';

export interface RunSequenceOptions {
  /** Validated definitions (see validate()). */
  definitions: Definitions;
  sequence: string;
  /** The repository whose runs/ records the run; default: the definitions' own. */
  ledger?: string;
  env?: Record<string, string | undefined>;
  /** Told when the run waits for another run of the sequence (its `concurrency`). */
  onWaiting?(message: string): void;
  signal?: AbortSignal;
  /** Aborting ends the kill grace at once (a second Ctrl-C). */
  hurry?: AbortSignal;
  from?: number;
  only?: number;
  /** etl run --resume: the run picked up at `from`. */
  resumedFrom?: string;
  /** A resumed graph: the steps that stand as the resumed run did them (resumePoint). */
  resumedDone?: number[];
  /** What those steps wrote to ETL_OUTPUTS, by step name (resumePoint). */
  resumedOutputs?: Record<string, Record<string, string>>;
  /**
   * The run whose step started this one (src/runner/call.ts parentRunOf): recorded as
   * parent_run, and told this run's id through the step's ETL_OUTPUTS in `env`.
   */
  parentRun?: ParentRun;
  /** skip_unchanged for every step (--skip-unchanged); force: none (--force). */
  skipUnchanged?: boolean;
  force?: boolean;
  trigger?: Trigger;
  /** The run's parameters and tick (etl run --param, --tick). */
  values?: RunValues;
  /** Hash the steps' local input, config and output into their records (default true). */
  lineage?: boolean;
  /** Get ready, then start at this time (etl run --start-at); `signal` meanwhile: nothing runs. */
  startAt?: Date;
  /** With startAt: the definition files as they were read (definitionsAsRead, taken then). */
  definitionsRead?: DefinitionsRead;
  /** Sees every event after it is recorded: a terminal view, a notifier. */
  observer?: Partial<RunObserver>;
  logLimit?: number;
  graceMs?: number;
  runnerVersion?: string;
  now?: () => Date;
  /** Commit the run's folder when it ends; with progress, also at the start and after each step. */
  commit?: { progress?: boolean; lockWaitMs?: number; onWait?: (message: string) => void };
  /** Push after committing (implies commit). */
  push?: PushOptions;
}

export interface RunOutcome {
  run: RunRecord;
  /** The run's folder, relative to the ledger repository. */
  folder: string;
  /** The scratch folder, kept after a failure for a person to look into. */
  scratch?: string;
  /** The commit that recorded the run, with --commit. */
  commit?: string;
  push?: PushResult;
  /** Committing or pushing failed after the run ended: the records are on disk. */
  ledgerError?: EtlError;
  /** The sequence's retention, applied after its committed run (a failure is said here, never the run's). */
  retention?: RetentionOutcome;
}

/**
 * start_etl: takes the sequence's lock, pins the definitions, runs the plan with every
 * change recorded under runs/, releases the lock, and (when asked) commits and pushes the
 * run's folder. Throws EtlError('locked') when another run of the sequence holds the lock.
 */
export async function runSequence(options: RunSequenceOptions): Promise<RunOutcome> {
  const { definitions, sequence } = options;
  const env = options.env ?? process.env;
  const plan = planRun(definitions, sequence, env, options.values);
  const ledger = options.ledger ?? definitions.repo;
  // "commit" means four things here: the --commit settings (options.commit), whether the run
  // goes into git at all (inGit), queueing a commit of a folder (queueCommit), and the commit
  // that recorded the run (outcome.commit).
  const inGit = options.commit !== undefined || options.push !== undefined;
  checkRunsFolder(ledger, sequence);
  await checkLedgerTarget(ledger, { commit: inGit, push: options.push }, env);
  if (options.startAt)
    await waitForStart(
      options.startAt,
      definitions.repo,
      options.definitionsRead ?? definitionsAsRead(definitions, sequence),
      options.signal,
    );
  await waitForTurn(ledger, sequence, definitions.sequences.get(sequence)?.concurrency, options);
  const startedAt = (options.now ?? (() => new Date()))();
  const runId = newRunId(startedAt);
  const git = new GitQueue();
  // Committing, pushing and taking over a dead run's lock load their code when they happen:
  // a plain run starts some 10 ms sooner.
  const queueCommit = (path: string, run: RunRecord) =>
    git.add(async () =>
      (await import('./commit.js')).commitRunFolder(ledger, path, run, {
        env,
        lockWaitMs: options.commit?.lockWaitMs,
        onWait: options.commit?.onWait,
      }),
    );
  const context: RunContext = {
    options,
    plan,
    ledger,
    env,
    runId,
    folder: runFolder(sequence, runId),
    startedAt,
    inGit,
    queueCommit,
  };
  const { run, scratch } = await runLocked(context);
  // end_etl: the scratch folder goes with a success; after a failure it is evidence.
  if (run.status === 'succeeded') rmSync(scratch, { recursive: true, force: true });
  const outcome: RunOutcome = {
    run,
    folder: context.folder,
    scratch: run.status === 'succeeded' ? undefined : scratch,
  };
  if (inGit) await recordInGit(outcome, context, git);
  return outcome;
}

/**
 * The sequence's `concurrency` when another run of it holds its lock: skip goes on (and
 * acquireLock refuses, exit 3), queue waits for that run to end, cancel_previous cancels it
 * first (SIGTERM, as a person's stop: it records itself cancelled) and then waits.
 */
async function waitForTurn(
  ledger: string,
  sequence: string,
  policy: 'skip' | 'queue' | 'cancel_previous' | undefined,
  options: Pick<RunSequenceOptions, 'signal' | 'onWaiting'>,
): Promise<void> {
  if (policy === undefined || policy === 'skip') return;
  const path = join(ledger, lockFile(sequence));
  let told: number | undefined;
  for (let holder = liveHolder<LockInfo>(path); holder; holder = liveHolder<LockInfo>(path)) {
    if (told !== holder.pid) {
      told = holder.pid;
      const cancel = policy === 'cancel_previous' && holder.host === hostname();
      if (cancel) signalRunner(holder.pid);
      options.onWaiting?.(
        `${cancel ? 'cancelling' : 'waiting for'} run ${holder.run_id} of "${sequence}" (pid ${holder.pid} on ${holder.host}, since ${holder.started_at}): concurrency ${policy}`,
      );
    }
    if (!(await sleep(100, options.signal)))
      // As with skip: the other run held the lock, and nothing ran (exit 3).
      throw new EtlError('locked', `stopped while waiting for run ${holder.run_id} to end; nothing ran`);
  }
}

/** The blob of each definition file a sequence's plan is made from, as on disk now. */
export type DefinitionsRead = Record<string, string | null>;

/** Taken right after the definitions are read: what waitForStart compares with. */
export function definitionsAsRead(definitions: Definitions, sequence: string): DefinitionsRead {
  const files = [MODULES_FILE, definitions.sequences.get(sequence)?.file].filter((file) => file !== undefined);
  return Object.fromEntries(files.map((file) => [file, blobOnDisk(definitions.repo, file)]));
}

/**
 * --start-at: the definitions were read and checked before the start time. One edited
 * meanwhile would run in the form read, pinned in the form edited: the run does not start, and
 * says why (etl run checks the files as they are, so an edit is never silently run in its old form).
 */
async function waitForStart(startAt: Date, repo: string, read: DefinitionsRead, signal?: AbortSignal) {
  if (!(await sleep(startAt.getTime() - Date.now(), signal)))
    throw new EtlError('not-started', 'stopped before its start time; nothing ran');
  const edited = Object.keys(read).filter((file) => blobOnDisk(repo, file) !== read[file]);
  if (edited.length > 0)
    throw new EtlError(
      'not-started',
      `${edited.join(' and ')} changed while the run waited for its start time (${startAt.toISOString()}); nothing ran: the definitions are checked as they are, so run it again`,
    );
}

function signalRunner(pid: number): void {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {} // gone already: the lock is free, or stale
}

/** What the parts of one runSequence share. */
interface RunContext {
  options: RunSequenceOptions;
  plan: Plan;
  ledger: string;
  env: Record<string, string | undefined>;
  runId: string;
  /** The run's folder, relative to the ledger. */
  folder: string;
  startedAt: Date;
  inGit: boolean;
  queueCommit(path: string, run: RunRecord): Promise<string | undefined>;
}

/** Takes the sequence's lock, runs the plan and releases the lock, whatever happens. */
async function runLocked(context: RunContext): Promise<{ run: RunRecord; scratch: string }> {
  const { options, ledger, runId, folder, startedAt } = context;
  const lock = ledgerWrite(
    () => acquireLock(ledger, options.sequence, { run_id: runId, started_at: startedAt.toISOString(), folder }),
    ledger,
  );
  let spawner: Promise<Spawner> | undefined;
  try {
    if (lock.replaced) await takeOver(lock.replaced, context);
    // Python starts while git answers for the pin.
    spawner = openRunSpawner(context.plan, context.env, options.graceMs, join(ledger, folder));
    spawner.catch(() => {}); // its failure is reported where the run awaits it
    return await executeRun(context, spawner);
  } finally {
    // This run's spawner, whether the run went through or stopped before it (the pin failed).
    void spawner?.then(
      (started) => started.close(),
      () => {},
    );
    lock.release();
  }
}

/** A dead runner's lock taken over: its run is marked abandoned, and committed before this one's. */
async function takeOver(replaced: ReplacedLock, context: RunContext): Promise<void> {
  const { markAbandoned } = await import('./history.js');
  const abandoned = markAbandoned(
    context.ledger,
    replaced.folder,
    `the runner (pid ${replaced.pid} on ${replaced.host}) stopped without finishing the run; its lock was taken over by run ${context.runId}`,
    replaced.killed,
  );
  if (abandoned && context.inGit) void context.queueCommit(replaced.folder, abandoned);
}

/** Pins the definitions and runs the plan, every change recorded in the run's folder. */
async function executeRun(
  context: RunContext,
  spawner: Promise<Spawner>,
): Promise<{ run: RunRecord; scratch: string }> {
  const { options, plan, ledger, env, runId, folder, startedAt } = context;
  const { definitions, sequence } = options;
  // The steps' module_files are among these: the plan reads them from the same resolver.
  const files = filesToPin(definitions.repo, validSequenceFiles(definitions, sequence));
  const pinned = await pinDefinitions(definitions.repo, files, env);
  const scratch = join(tmpdir(), `etl-${sequence}-${runId}`);
  removeOldScratch(sequence, startedAt);
  // Before the run's folder is made: a spawner that cannot start leaves nothing behind.
  const modules = await spawner;
  // Until a commit records it, the folder is on the list `etl ledger sync` reads.
  noteUnrecorded(ledger, runId, folder);
  if (options.parentRun) tellParent(env, runId);
  const observer = ledgerWrite(
    () => openRecorder(join(ledger, folder), chainObservers(options.observer, progressCommits(context))),
    ledger,
  );
  const run = await ledgerWriteAsync(
    () =>
      executePlan(plan, {
        runId,
        folder: join(ledger, folder),
        scratch,
        trigger: options.trigger ?? { kind: 'manual', actor: null, ci: null },
        definitions: pinned,
        env,
        lastMetrics: lastSuccessfulMetrics(ledger, sequence, runId),
        lineage: options.lineage,
        observer,
        signal: options.signal,
        hurry: options.hurry,
        from: options.from,
        only: options.only,
        resumedFrom: options.resumedFrom,
        resumedDone: options.resumedDone,
        resumedOutputs: options.resumedOutputs,
        parentRun: options.parentRun,
        skipUnchanged: options.skipUnchanged,
        force: options.force,
        lastDone: lastDoneSteps(ledger, sequence, runId),
        logLimit: options.logLimit,
        graceMs: options.graceMs,
        host: hostname(),
        pid: process.pid,
        runnerVersion: options.runnerVersion ?? 'unknown',
        now: options.now ?? (() => new Date()),
        startedAt,
        files: stepFiles,
        spawner: modules,
        // A progress commit is made between steps: the next one must not start before it.
        startAhead: !options.commit?.progress,
      }),
    ledger,
  );
  return { run, scratch };
}

/** With --commit's progress: a commit at the start and after each step, made before the run goes on, so each holds what its message says. */
function progressCommits({ options, folder, queueCommit }: RunContext): Partial<RunObserver> {
  if (!options.commit?.progress) return {};
  return {
    runStarted: async (started) => void (await queueCommit(folder, started)),
    stepFinished: async (current, step) => {
      if (step.status !== 'skipped') await queueCommit(folder, current);
    },
  };
}

/** The run's commit (after any queued before it) and its push; a failure is the outcome's ledgerError. */
async function recordInGit(outcome: RunOutcome, context: RunContext, git: GitQueue): Promise<void> {
  const { options, ledger, env } = context;
  try {
    const runCommit = await context.queueCommit(outcome.folder, outcome.run);
    await git.idle();
    outcome.commit = runCommit;
    // Before the push, which then carries the prune too.
    const retention = options.definitions.sequences.get(options.sequence)?.retention;
    if (retention && runCommit)
      outcome.retention = await (await import('./retention/after-run.js')).applyRetention(
        ledger,
        options.definitions.repo,
        options.sequence,
        retention,
        env,
      );
    if (options.push)
      outcome.push = await (await import('../git/push.js')).pushLedger(ledger, { env, ...options.push });
  } catch (error) {
    if (!(error instanceof EtlError)) throw error;
    outcome.ledgerError = error;
  }
}

/** A failed run's scratch folder is kept for a person to look into: for a week, not forever. */
const SCRATCH_KEPT_MS = 7 * 86_400_000;

function removeOldScratch(sequence: string, now: Date): void {
  const prefix = `etl-${sequence}-`;
  let names: string[];
  try {
    names = readdirSync(tmpdir()).filter(
      (name) => name.startsWith(prefix) && RUN_ID_PATTERN.test(name.slice(prefix.length)),
    );
  } catch {
    return;
  }
  for (const name of names) {
    // Only folders of runs started over a week ago (the run id says when) are looked at:
    // every run goes through this, and killed runs may leave thousands of young ones.
    if (now.getTime() - Date.parse(runIdTime(name.slice(prefix.length))) <= SCRATCH_KEPT_MS) continue;
    const path = join(tmpdir(), name);
    try {
      if (now.getTime() - statSync(path).mtimeMs > SCRATCH_KEPT_MS) rmSync(path, { recursive: true, force: true });
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
}

/**
 * Git commands one after another, in the order asked. A failure does not stop the queue
 * (the next commit may still succeed) and is reported by idle().
 */
class GitQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private firstError: unknown;

  /** Never rejects: resolves with the task's value, or undefined if it failed. */
  add<T>(task: () => Promise<T>): Promise<T | undefined> {
    const next = this.tail.then(task).catch((error: unknown) => {
      this.firstError ??= error;
      return undefined;
    });
    this.tail = next;
    return next;
  }

  /** Resolves when every queued command is done; rejects with the first failure. */
  async idle(): Promise<void> {
    await this.tail;
    if (this.firstError !== undefined) throw this.firstError;
  }
}

/** Calls the observers in order, each after the one before has finished. */
export function chainObservers(...observers: Array<Partial<RunObserver> | undefined>): Partial<RunObserver> {
  const all = observers.filter((o): o is Partial<RunObserver> => o !== undefined);
  const each = async (call: (o: Partial<RunObserver>) => void | Promise<void>) => {
    for (const observer of all) await call(observer);
  };
  return {
    runStarted: (run) => each((o) => o.runStarted?.(run)),
    stepStarted: (run, step) => each((o) => o.stepStarted?.(run, step)),
    stepFinished: (run, step) => each((o) => o.stepFinished?.(run, step)),
    runFinished: (run) => each((o) => o.runFinished?.(run)),
    output: (step, text) => {
      for (const o of all) o.output?.(step, text);
    },
    moduleStarted: (step, pid) => {
      for (const o of all) o.moduleStarted?.(step, pid);
    },
  };
}

/** A file system error while writing the ledger is the user's to fix (a full disk, a file named runs): say so plainly. */
function asLedgerError(error: unknown, repo: string): unknown {
  const e = error as NodeJS.ErrnoException;
  if (error instanceof EtlError || typeof e?.code !== 'string' || typeof e.syscall !== 'string') return error;
  const where = e.path ? ` ${relative(repo, e.path) || e.path}` : '';
  return new EtlError('ledger-write', `cannot write the run's records: ${e.code} (${e.syscall}${where})`, undefined, {
    cause: error,
  });
}

function ledgerWrite<T>(write: () => T, repo: string): T {
  try {
    return write();
  } catch (error) {
    throw asLedgerError(error, repo);
  }
}

async function ledgerWriteAsync<T>(write: () => Promise<T>, repo: string): Promise<T> {
  try {
    return await write();
  } catch (error) {
    throw asLedgerError(error, repo);
  }
}
