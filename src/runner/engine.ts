// The seed's lifecycle, start_etl -> exec_module ... -> end_etl, or error_handler on a
// failure, as one loop over a Plan. The engine knows nothing of the ledger: it reports every
// change of state to an observer, which decides what to write where.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { sleep } from '../timers.js';
import {
  attemptBound,
  boundedSignal,
  type Deadline,
  handlerDeadline,
  RanOut,
  sequenceDeadline,
  stepDeadline,
} from './deadline.js';
import { LogWriter, Redactor } from './logs.js';
import { inheritedEnv, isSelected, type Plan, type PlannedStep, secretValues } from './plan.js';
import { checkExpectations, comparesWithLast, type LastMetrics } from './expect.js';
import { describeArtifact, isExternal } from './lineage.js';
import { metricsFile, readMetrics, redactMetrics } from './metrics.js';
import { runProcess } from './process.js';
import { type DoneBefore, fingerprintOf, judgeUnchanged } from './unchanged.js';
import { MODULES_ENDED_NOTE, type ModuleSpec, openSpawner, type Spawner } from './spawner.js';
import type { DefinitionsPin, Role, RunRecord, RunStatus, StepRecord, Trigger } from './records.js';
import {
  attemptStatus,
  describeFailure,
  endAttempt,
  handlerEnv,
  newAttempt,
  newRunRecord,
  newStepRecord,
  type RecordContext,
  type StepFiles,
  summarise,
  summaryIndex,
  wrapperEnv,
} from './step-records.js';

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

const DEFAULT_GRACE_MS = 5_000;

/** What every step of one run shares. */
interface RunState {
  plan: Plan;
  options: ExecuteOptions;
  run: RunRecord;
  now: () => Date;
  redactor: Redactor;
  moduleEnv: Record<string, string | undefined>;
  spawner: Spawner;
  /** The module started ahead for the next step's first attempt, handed back when it comes. */
  ahead?: { step: PlannedStep; module: ModuleSpec };
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

/** The module an attempt of a step starts: its program, argv, and the module wrapper's environment. */
function moduleSpec(
  state: RunState,
  planned: PlannedStep,
  role: Role,
  attempt: number,
  extraEnv: Record<string, string>,
): ModuleSpec {
  const { plan, options, moduleEnv, ahead } = state;
  const plain = attempt === 1 && Object.keys(extraEnv).length === 0;
  if (plain && ahead?.step === planned) return ahead.module;
  const metrics = metricsFile(options.scratch, role, planned.index, attempt);
  return {
    command: planned.command,
    argv: planned.argv,
    cwd: planned.cwd,
    sharedEnv: moduleEnv,
    env: { ...planned.env, ...wrapperEnv(plan, planned, attempt, { ...options, metrics }), ...extraEnv },
  };
}

/** Lets the spawner start the next step's module as soon as this one exits 0. */
function startAhead(state: RunState, next: PlannedStep): void {
  const module = moduleSpec(state, next, 'step', 1, {});
  state.ahead = { step: next, module };
  state.spawner.startNext(module);
}

/** Puts a step's current state into run.json's list. */
function updateSummary({ run, plan, options }: RunState, record: StepRecord): void {
  const count = record.role === 'step' ? plan.steps.length : plan.on_failure.length;
  const summary = summarise(record, count, options.files);
  const at = summaryIndex(run, record);
  if (at === -1) run.steps.push(summary);
  else run.steps[at] = summary;
}

async function skipStep(state: RunState, record: StepRecord): Promise<void> {
  record.status = 'skipped';
  updateSummary(state, record);
  await state.options.observer.stepFinished(state.run, record);
}

/** exec_module: one step, with its retries, its log, and its deadline. */
async function execStep(
  state: RunState,
  planned: PlannedStep,
  record: StepRecord,
  extraEnv: Record<string, string>,
  deadline: Deadline | undefined,
  ahead?: PlannedStep,
): Promise<void> {
  const { plan, options, run, now, redactor } = state;
  // The step's timeout counts from here: hashing what it reads (not counted in its duration)
  // is bounded by it and by the run's deadline, as a stop bounds it.
  // Which module files ran, by hash: etl diff names a step whose module code changed.
  record.module_files = Object.fromEntries(
    planned.module_files.map((file) => [file, options.definitions.files[file] ?? null]),
  );
  const began = now().getTime();
  const before = boundedSignal(stepDeadline(deadline, planned.timeout_ms, began), options.signal, began);
  let lineage: Awaited<ReturnType<typeof readLineage>> | undefined;
  try {
    lineage = options.lineage === false ? undefined : await readLineage(planned, record, before.signal);
    const fingerprint = lineage && fingerprintOf(planned, plan, options.definitions, lineage);
    if (fingerprint) record.fingerprint = fingerprint;
    if (record.role === 'step' && !options.force && (planned.skip_unchanged || options.skipUnchanged)) {
      const verdict = lineage
        ? await judgeUnchanged(
            planned,
            record.fingerprint,
            options.lastDone?.(planned.index, planned.name),
            before.signal,
          )
        : { unchanged: false as const, why: 'lineage is off (--no-lineage): nothing to compare' };
      if (verdict.unchanged) {
        record.skipped_as = { reason: 'unchanged', run_id: verdict.run_id };
        await skipStep(state, record);
        return;
      }
      record.ran_because = verdict.why;
    }
  } finally {
    before.dispose();
  }
  const ranOutBefore = before.signal?.reason instanceof RanOut ? before.signal.reason : undefined;
  record.status = 'running';
  record.started_at = now().toISOString();
  updateSummary(state, record);
  await options.observer.stepStarted(run, record);
  const count = record.role === 'step' ? plan.steps.length : plan.on_failure.length;
  const logPath = options.files(record, count).log;
  const log = new LogWriter(join(options.folder, logPath), redactor, options.logLimit, (text) =>
    options.observer.output?.(record, text),
  );
  // The run's error names the sequence's deadline; the handler's bound is the handler's business.
  const ranOut = () => {
    if (record.role === 'step' && deadline) run.error ??= `${deadline.what} ran out`;
  };
  const attempts = planned.retries + 1;
  try {
    for (let n = 1; n <= attempts; n++) {
      if (options.signal?.aborted) {
        record.status = 'cancelled';
        break;
      }
      // The first attempt has what is left of the step's timeout after its input was hashed.
      const stepTimeout =
        n === 1 && planned.timeout_ms !== undefined
          ? planned.timeout_ms - (now().getTime() - began)
          : planned.timeout_ms;
      const bound = attemptBound(deadline, stepTimeout, now().getTime());
      const spentHashing = n === 1 && (ranOutBefore !== undefined || (stepTimeout !== undefined && stepTimeout <= 0));
      if (bound.expired || spentHashing) {
        record.status = 'timed_out';
        const spent =
          ranOutBefore?.deadline ?? (bound.expired ? deadline : stepDeadline(undefined, planned.timeout_ms, began));
        if (spent === deadline) ranOut();
        if (spentHashing) {
          const why = `${spent?.what} ran out while its input was hashed`;
          log.note(`[etl-ledger: ${why}: the module was not started]`);
          if (record.role === 'step') run.error ??= `step ${planned.index} (${planned.name}) timed out: ${why}`;
        }
        break;
      }
      if (n > 1) log.note(`[etl-ledger: attempt ${n} of ${attempts}]`);
      const attempt = newAttempt(n, now());
      record.attempts.push(attempt);
      const running = runProcess({
        module: moduleSpec(state, planned, record.role, n, extraEnv),
        spawner: state.spawner,
        timeoutMs: bound.timeoutMs,
        signal: options.signal,
        hurry: options.hurry,
        graceMs: options.graceMs ?? DEFAULT_GRACE_MS,
        onOutput: (chunk, from) => log.write(chunk, from),
        onStarted: (pid) => options.observer.moduleStarted?.(record, pid),
      });
      if (ahead) startAhead(state, ahead);
      const result = await running;
      // "timed out after 10s": the step's timeout, though hashing its input took some of it.
      endAttempt(attempt, result, now(), bound.byDeadline ? bound.timeoutMs : planned.timeout_ms, redactor);
      if (attempt.error !== null) log.note(`[etl-ledger: ${attempt.error}]`);
      if (result.outputAbandoned !== null) log.note(`[etl-ledger: ${result.outputAbandoned}]`);
      // The last attempt's metrics are the step's (an attempt that wrote none leaves none).
      const written = readMetrics(metricsFile(options.scratch, record.role, planned.index, n));
      for (const problem of written?.problems ?? []) log.note(`[etl-ledger: ${problem}]`);
      if (written && Object.keys(written.metrics).length > 0) record.metrics = redactMetrics(written.metrics, redactor);
      else delete record.metrics;
      if (result.timedOut && bound.byDeadline) ranOut();
      record.status = attemptStatus(result);
      const last = n === attempts || result.cancelled || (result.timedOut && bound.byDeadline);
      if (record.status === 'succeeded' || last) break;
      if (planned.retry_delay_ms > 0 && !(await sleep(planned.retry_delay_ms, options.signal))) {
        record.status = 'cancelled';
        break;
      }
    }
    if (record.status === 'succeeded' && Object.keys(planned.expect).length > 0) {
      const checked = checkExpectations(
        planned.expect,
        record.metrics ?? {},
        comparesWithLast(planned.expect) ? options.lastMetrics?.(record.role, planned.index) : undefined,
      );
      record.expectations = checked;
      for (const check of checked)
        log.note(`[etl-ledger: expect ${check.message}${check.ok ? '' : ' -- NOT MET: the step fails'}]`);
      if (checked.some((check) => !check.ok)) record.status = 'failed';
    }
  } finally {
    if (lineage) {
      // Hashing the output is part of the last attempt's time (the first's began with the input).
      const last = record.attempts.length > 1 ? Date.parse(record.attempts.at(-1)!.started_at) : began;
      const after = boundedSignal(stepDeadline(deadline, planned.timeout_ms, last), options.signal, now().getTime());
      const output = await describeArtifact(planned.output, record.output, planned.cwd, after.signal).finally(
        after.dispose,
      );
      // A step given no input, output nor config has nothing to record.
      if (lineage.input || lineage.config || output) record.lineage = { ...lineage, output };
    }
    const { path, ...summary } = log.close();
    record.log = { ...summary, path: path === null ? null : logPath };
    const finished = now();
    record.finished_at = finished.toISOString();
    record.duration_ms = finished.getTime() - Date.parse(record.started_at);
    updateSummary(state, record);
    await options.observer.stepFinished(run, record);
  }
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

async function readLineage(planned: PlannedStep, record: StepRecord, signal: AbortSignal | undefined) {
  return {
    input: await describeArtifact(planned.input, record.input, planned.cwd, signal),
    config: await describeArtifact(planned.config, record.config, planned.cwd, signal),
  };
}
