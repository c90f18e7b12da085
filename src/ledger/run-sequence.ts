import { rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { EtlError } from '../errors.js';
import { MODULES_FILE, type Definitions } from '../definitions/model.js';
import { executePlan, type RunObserver } from '../runner/engine.js';
import { planRun } from '../runner/plan.js';
import type { RunRecord, Trigger } from '../runner/records.js';
import { markAbandoned } from './history.js';
import { newRunId, runFolder } from './layout.js';
import { acquireLock } from './lock.js';
import { pinDefinitions } from './pin.js';
import { openRecorder } from './recorder.js';

export interface RunSequenceOptions {
  /** Validated definitions (see validate()). */
  definitions: Definitions;
  sequence: string;
  env?: Record<string, string | undefined>;
  signal?: AbortSignal;
  from?: number;
  only?: number;
  trigger?: Trigger;
  /** Sees every event after it is recorded: a terminal view, a notifier. */
  observer?: Partial<RunObserver>;
  logLimit?: number;
  graceMs?: number;
  runnerVersion?: string;
  now?: () => Date;
}

export interface RunOutcome {
  run: RunRecord;
  /** The run's folder, relative to the repository. */
  folder: string;
  /** The scratch folder, kept after a failure for a person to look into. */
  scratch?: string;
}

/**
 * start_etl: takes the sequence's lock, pins the definitions, runs the plan with every
 * change recorded under runs/, and releases the lock. Throws EtlError('locked') when
 * another run of the sequence holds the lock.
 */
export async function runSequence(options: RunSequenceOptions): Promise<RunOutcome> {
  const { definitions, sequence } = options;
  const env = options.env ?? process.env;
  const now = options.now ?? (() => new Date());
  const plan = planRun(definitions, sequence, env);
  const repo = definitions.repo;
  const startedAt = now();
  const runId = newRunId(startedAt);
  const folder = runFolder(sequence, runId);

  const lock = ledgerWrite(() => acquireLock(repo, sequence, { run_id: runId, started_at: startedAt.toISOString(), folder }), repo);
  try {
    if (lock.replaced) markAbandoned(repo, lock.replaced.folder, `the runner (pid ${lock.replaced.pid} on ${lock.replaced.host}) stopped without finishing the run; its lock was taken over by run ${runId}`);
    const files = [definitions.sequences.get(sequence)!.file, MODULES_FILE, ...[...plan.steps, ...plan.on_failure].flatMap((s) => s.module_files)];
    const pinned = await pinDefinitions(repo, files);
    const scratch = join(tmpdir(), `etl-${sequence}-${runId}`);
    const run = await ledgerWriteAsync(() => executePlan(plan, {
      runId,
      folder: join(repo, folder),
      scratch,
      trigger: options.trigger ?? { kind: 'manual', actor: null, ci: null },
      definitions: pinned,
      env,
      observer: ledgerWrite(() => openRecorder(join(repo, folder), options.observer), repo),
      signal: options.signal,
      from: options.from,
      only: options.only,
      logLimit: options.logLimit,
      graceMs: options.graceMs,
      host: hostname(),
      pid: process.pid,
      runnerVersion: options.runnerVersion ?? 'unknown',
      now,
      startedAt,
    }), repo);
    // end_etl: the scratch folder goes with a success; after a failure it is evidence.
    if (run.status === 'succeeded') rmSync(scratch, { recursive: true, force: true });
    return { run, folder, scratch: run.status === 'succeeded' ? undefined : scratch };
  } finally {
    lock.release();
  }
}

/** A file system error while writing the ledger is the user's to fix (a full disk, a file named runs): say so plainly. */
function asLedgerError(error: unknown, repo: string): unknown {
  const e = error as NodeJS.ErrnoException;
  if (error instanceof EtlError || typeof e?.code !== 'string' || typeof e.syscall !== 'string') return error;
  const where = e.path ? ` ${relative(repo, e.path) || e.path}` : '';
  return new EtlError('ledger-write', `cannot write the run's records: ${e.code} (${e.syscall}${where})`, undefined, { cause: error });
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
