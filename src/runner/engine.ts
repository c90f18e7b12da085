// The seed's lifecycle, start_etl -> exec_module ... -> end_etl, or error_handler on a
// failure, as one loop over a Plan. The engine knows nothing of the ledger: it reports every
// change of state to an observer, which decides what to write where.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { handlerDeadline, sequenceDeadline } from './deadline.js';
import { DEFAULT_GRACE_MS, execStep, type RunState, skipStep } from './exec-step.js';
import type { LastMetrics } from './expect.js';
import { isExternal } from './lineage.js';
import { Redactor } from './logs.js';
import { inheritedEnv, isSelected, type Plan, type PlannedStep, secretValues } from './plan.js';
import type { DefinitionsPin, Role, RunRecord, RunStatus, StepRecord, Trigger } from './records.js';
import { MODULES_ENDED_NOTE, openSpawner, type Spawner } from './spawner.js';
import {
  describeFailure,
  handlerEnv,
  newRunRecord,
  newStepRecord,
  type RecordContext,
  type StepFiles,
  summarise,
} from './step-records.js';
import type { DoneBefore } from './fingerprint.js';

/**
 * Told of every change of a run's state. A hook may return a promise: the run waits for it
 * before going on (a progress commit is made before the next step starts).
 */
export interface RunObserver {
  /** run.json as it starts: status running, every step pending. */
  runStarted(run: RunRecord): void | Promise<void>;
  stepStarted(run: RunRecord, step: StepRecord): void | Promise<void>;
  /** A step's final state; also called for steps that were skipped. */
  stepFinished(run: RunRecord, step: StepRecord): void | Promise<void>;
  runFinished(run: RunRecord): void | Promise<void>;
  /** Redacted module output as it arrives, for a terminal. */
  output?(step: StepRecord, text: string): void;
  /** A module's process (and process group) started: `--verbose` says so. */
  moduleStarted?(step: StepRecord, pid: number): void;
}

export interface ExecuteOptions {
  runId: string;
  /** The run's folder: logs are written under it; the observer writes the records. */
  folder: string;
  /** A scratch folder for the modules (ETL_RUN_DIR). */
  scratch: string;
  trigger: Trigger;
  definitions: DefinitionsPin;
  /** The environment modules inherit (the runner's own, usually). */
  env: Record<string, string | undefined>;
  observer: RunObserver;
  signal?: AbortSignal;
  /** Aborting ends the kill grace at once (a second Ctrl-C): SIGKILL to the module's group. */
  hurry?: AbortSignal;
  /** 1-based: run from this step on / only this step; the others are skipped. */
  from?: number;
  only?: number;
  /** etl run --resume: the run picked up at `from` (recorded in run.json and the skipped steps). */
  resumedFrom?: string;
  logLimit?: number;
  graceMs?: number;
  host: string;
  pid: number;
  runnerVersion: string;
  now?: () => Date;
  /** When the run started (the run id's time); now() by default. */
  startedAt?: Date;
  /** Where each step's record and log go in the run folder (the ledger's layout). */
  files: StepFiles;
  /**
   * Who starts modules; its owner closes it. By default the run opens its own
   * (openRunSpawner) and closes it when it ends.
   */
  spawner?: Spawner;
  /** Hash the steps' local input, config and output (default true; etl run --no-lineage). */
  lineage?: boolean;
  /** skip_unchanged for every step (etl run --skip-unchanged). */
  skipUnchanged?: boolean;
  /** Run every step, whatever skip_unchanged says (etl run --force). */
  force?: boolean;
  /** A step's last successful execution in the ledger, that skip_unchanged compares with. */
  lastDone?: (index: number, name: string) => DoneBefore | undefined;
  /** The metrics a step wrote in the sequence's last successful run ("within 20% of last"). */
  lastMetrics?: (role: Role, index: number) => LastMetrics | undefined;
  /**
   * Let the next step start the moment a step exits 0, while its records are written (the
   * default). Off when something must happen between steps (a progress commit).
   */
  startAhead?: boolean;
}

/** start_etl -> exec_module ... -> end_etl, or error_handler after a failure. */
export async function executePlan(plan: Plan, options: ExecuteOptions): Promise<RunRecord> {
  const now = options.now ?? (() => new Date());
  const redactor = new Redactor(secretValues(plan, options.env));
  mkdirSync(join(options.folder, 'logs'), { recursive: true });
  // The scratch folder, with the folder of the files modules write their metrics to.
  mkdirSync(join(options.scratch, 'metrics'), { recursive: true });
  const context = { runId: options.runId, redactor, files: options.files };
  const started = options.startedAt ?? now();
  // A step's full record is made when its turn comes: a long run holds one at a time.
  const count = plan.steps.length;
  const summaries = plan.steps.map((s) => summarise(newStepRecord(s, 'step', count, context), count, options.files));
  const run = newRunRecord(plan, options, started, summaries, redactor);
  const spawner = options.spawner ?? (await openRunSpawner(plan, options.env, options.graceMs, options.folder));
  try {
    const state: RunState = { plan, options, run, now, redactor, moduleEnv: inheritedEnv(plan, options.env), spawner };
    await runSteps(state, context, started);
  } finally {
    if (!options.spawner) spawner.close();
  }
  return run;
}

/**
 * The spawner for a run of this plan (the ledger opens it early, while git answers for the
 * pin). If the runner dies, it ends the modules still running and names them in the run's folder.
 */
export function openRunSpawner(
  plan: Plan,
  env: Record<string, string | undefined>,
  graceMs = DEFAULT_GRACE_MS,
  folder?: string,
): Promise<Spawner> {
  const note = folder === undefined ? undefined : join(folder, MODULES_ENDED_NOTE);
  return openSpawner(env, graceMs, plan.steps.length + plan.on_failure.length, note);
}

async function runSteps(state: RunState, context: RecordContext, started: Date): Promise<void> {
  const { plan, options, run, now, spawner } = state;
  await options.observer.runStarted(run);

  let failed: StepRecord | undefined;
  let cancelled = false;
  const deadline = sequenceDeadline(plan, started.getTime());
  for (const [i, planned] of plan.steps.entries()) {
    const record = newStepRecord(planned, 'step', plan.steps.length, context);
    cancelled ||= Boolean(options.signal?.aborted);
    if (failed || cancelled || !isSelected(planned, options)) {
      spawner.cancelNext();
      // --resume: the steps before the failed one stand as the resumed run did them.
      if (options.resumedFrom && !failed && !cancelled && planned.index < (options.from ?? 1))
        record.skipped_as = { reason: 'resumed', run_id: options.resumedFrom };
      await skipStep(state, record);
      continue;
    }
    // The next step may start as soon as this one exits 0, unless a deadline could expire
    // in between (it would then start a step that should not run).
    const following = plan.steps[i + 1];
    const ahead =
      options.startAhead !== false &&
      deadline === undefined &&
      Object.keys(planned.expect).length === 0 && // the next one waits for the rules' verdict
      following &&
      // With lineage, this step's output is hashed as the next one starts: not if that one writes it.
      (options.lineage === false || !overwrites(following, planned)) &&
      // A step that may be skipped as unchanged is judged before it starts.
      !following.skip_unchanged &&
      !options.skipUnchanged &&
      isSelected(following, options)
        ? following
        : undefined;
    await execStep(state, planned, record, {}, deadline, ahead);
    if (record.status === 'cancelled') cancelled = true;
    else if (record.status !== 'succeeded' && record.status !== 'skipped') failed = record; // skipped: unchanged
  }

  spawner.cancelNext();
  // error_handler: the on_failure steps, told what failed. Not after a cancel: a person
  // stopped the run on purpose.
  if (failed && !cancelled) {
    const bound = handlerDeadline(plan, now().getTime());
    for (const planned of plan.on_failure) {
      const record = newStepRecord(planned, 'on_failure', plan.on_failure.length, context);
      if (options.signal?.aborted) await skipStep(state, record);
      else await execStep(state, planned, record, handlerEnv(failed), bound);
    }
  }

  // end_etl
  const finished = now();
  const status: RunStatus = cancelled || options.signal?.aborted ? 'cancelled' : failed ? 'failed' : 'succeeded';
  run.status = status;
  run.finished_at = finished.toISOString();
  run.duration_ms = finished.getTime() - started.getTime();
  run.failed_step = failed?.index ?? null;
  if (status === 'failed') run.error ??= describeFailure(failed!);
  if (status === 'cancelled') run.error ??= 'cancelled';
  await options.observer.runFinished(run);
}

/**
 * Whether `next` writes a local file that `step` reads or writes, or that it reads itself:
 * lineage hashes `step`'s output after it exits and `next`'s input and config as it starts,
 * so `next` may start early (start-ahead) only when it cannot change them meanwhile.
 */
function overwrites(next: PlannedStep, step: PlannedStep): boolean {
  if (next.output === undefined || isExternal(next.output)) return false;
  const written = resolve(next.cwd, next.output);
  return [step.input, step.output, step.config, next.input, next.config].some(
    (value) => value !== undefined && !isExternal(value) && resolve(step.cwd, value) === written,
  );
}
