// exec_module: one step of a run, in the pieces a scheduler puts together: whether it may be
// skipped as unchanged (decided before it starts), its attempts, and the checks after them
// (metrics, expectations, the lineage of what it wrote) before its record is finished.
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { sleep } from '../timers.js';
import { attemptBound, boundedSignal, type Deadline, RanOut, stepDeadline } from './deadline.js';
import type { ExecuteOptions } from './engine.js';
import { checkExpectations, comparesWithLast } from './expect.js';
import { describeArtifact, isExternal } from './lineage.js';
import { LogWriter, type Redactor } from './logs.js';
import { keyValueFileTooLarge, metricsFile, readMetrics, redactMetrics } from './metrics.js';
import { type Plan, type PlannedStep, runnerTokens, stepsOfRole } from './plan.js';
import { checkCondition } from './condition.js';
import { fillOutputs, outputsFile, readOutputs } from './outputs.js';
import { CHILD_RUN_OUTPUT } from './call.js';
import { runProcess } from './process.js';
import type { Attempt, Role, RunRecord, StepRecord } from './records.js';
import { fingerprintOf, judgeUnchanged } from './fingerprint.js';
import type { ModuleSpec, Spawner } from './spawner.js';
import {
  attemptStatus,
  describeFailure,
  endAttempt,
  newAttempt,
  stepValues,
  summarise,
  summaryIndex,
  wrapperEnv,
} from './step-records.js';

export const DEFAULT_GRACE_MS = 5_000;

/** What every step of one run shares. */
export interface RunState {
  plan: Plan;
  options: ExecuteOptions;
  run: RunRecord;
  now: () => Date;
  redactor: Redactor;
  moduleEnv: Record<string, string | undefined>;
  spawner: Spawner;
  /** The module started ahead for the next step's first attempt, handed back when it comes. */
  ahead?: { step: PlannedStep; module: ModuleSpec };
  /** What each step that succeeded wrote to ETL_OUTPUTS, by step name, unmasked. */
  outputs: Map<string, Record<string, string>>;
}

/** The hashes of a step's local input and config, read before it starts. */
type InputLineage = Awaited<ReturnType<typeof readLineage>>;

/** One step as it executes: what its pieces share. */
interface StepRun {
  planned: PlannedStep;
  record: StepRecord;
  extraEnv: Record<string, string>;
  deadline: Deadline | undefined;
  /** The step that may start as soon as this one exits 0. */
  ahead: PlannedStep | undefined;
  /** When the step's turn came: its timeout counts from here (hashing its input included). */
  began: number;
  /** The deadline that ran out while the input was hashed, if one did. */
  ranOutBefore: RanOut | undefined;
  log: LogWriter;
}

/** exec_module: one step, with its retries, its log, and its deadline. */
export async function execStep(
  state: RunState,
  written: PlannedStep,
  record: StepRecord,
  extraEnv: Record<string, string>,
  deadline: Deadline | undefined,
  ahead?: PlannedStep,
): Promise<void> {
  const { plan, options, run, now, redactor } = state;
  // The outputs of earlier steps it uses are known now.
  const filled = fillOutputs(written, state.outputs);
  if ('missing' in filled) return cannotStart(state, record, filled.missing);
  const planned = filled.step;
  if (planned !== written) Object.assign(record, stepValues(planned, redactor));
  if (planned.condition) {
    const verdict = await checkCondition(
      planned,
      moduleSpec(state, planned, record.role, 1, extraEnv),
      options,
      state.spawner,
      redactor,
    );
    if ('failed' in verdict) return cannotStart(state, record, verdict.failed);
    if (!verdict.run) {
      record.skipped_because = verdict.why;
      return skipStep(state, record);
    }
  }
  // Which module files ran, by hash: etl diff names a step whose module code changed.
  record.module_files = Object.fromEntries(
    planned.module_files.map((file) => [file, options.definitions.files[file] ?? null]),
  );
  const began = now().getTime();
  const decided = await decideSkip(state, planned, record, deadline, began);
  if (decided.skip) return skipStep(state, record);
  makeOutputFolder(planned);
  record.status = 'running';
  record.started_at = now().toISOString();
  updateSummary(state, record);
  await options.observer.stepStarted(run, record);
  const count = stepsOfRole(plan, record.role).length;
  const logPath = options.files(record, count).log;
  const log = new LogWriter(join(options.folder, logPath), redactor, options.logLimit, (text) =>
    options.observer.output?.(record, text),
  );
  const step: StepRun = { planned, record, extraEnv, deadline, ahead, began, ranOutBefore: decided.ranOut, log };
  try {
    await runAttempts(state, step);
    checkExpect(state, step);
    keepOutputs(state, step);
  } finally {
    if (decided.lineage) await keepLineage(state, step, decided.lineage);
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
 * The folder a step's output goes in is made before it starts (a module need not make it).
 * One that cannot be made is left to the module to report, as it would without us.
 */
function makeOutputFolder({ output, cwd }: PlannedStep): void {
  if (output === undefined || isExternal(output)) return;
  try {
    mkdirSync(dirname(resolve(cwd, output)), { recursive: true });
  } catch {}
}

/**
 * skip_unchanged, decided before the step starts: its input and config are hashed (its
 * lineage and fingerprint) and compared with its last successful execution. Hashing is
 * bounded by the step's timeout and the run's deadline, as a stop bounds it.
 */
async function decideSkip(
  state: RunState,
  planned: PlannedStep,
  record: StepRecord,
  deadline: Deadline | undefined,
  began: number,
): Promise<{ skip: boolean; lineage: InputLineage | undefined; ranOut: RanOut | undefined }> {
  const { plan, options } = state;
  const before = boundedSignal(stepDeadline(deadline, planned.timeout_ms, began), options.signal, began);
  let lineage: InputLineage | undefined;
  try {
    lineage = options.lineage === false ? undefined : await readLineage(planned, record, before.signal);
    const fingerprint = lineage && fingerprintOf(planned, plan, options.definitions, lineage);
    if (fingerprint) record.fingerprint = fingerprint;
    const mayBeSkipped = (planned.skip_unchanged || options.skipUnchanged) && !planned.outputs_used;
    if (record.role === 'step' && !options.force && mayBeSkipped) {
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
        return { skip: true, lineage, ranOut: undefined };
      }
      record.ran_because = verdict.why;
    }
  } finally {
    before.dispose();
  }
  const ranOut = before.signal?.reason instanceof RanOut ? before.signal.reason : undefined;
  return { skip: false, lineage, ranOut };
}

async function readLineage(planned: PlannedStep, record: StepRecord, signal: AbortSignal | undefined) {
  return {
    input: await describeArtifact(planned.input, record.input, planned.cwd, signal),
    config: await describeArtifact(planned.config, record.config, planned.cwd, signal),
  };
}

/** The step's attempts, each bounded by its timeout and the run's deadline, until one succeeds. */
async function runAttempts(state: RunState, step: StepRun): Promise<void> {
  const { options, now, redactor } = state;
  const { planned, record, log, deadline } = step;
  const attempts = planned.retries + 1;
  for (let n = 1; n <= attempts; n++) {
    if (options.signal?.aborted) {
      record.status = 'cancelled';
      break;
    }
    // The first attempt has what is left of the step's timeout after its input was hashed.
    const stepTimeout =
      n === 1 && planned.timeout_ms !== undefined
        ? planned.timeout_ms - (now().getTime() - step.began)
        : planned.timeout_ms;
    const bound = attemptBound(deadline, stepTimeout, now().getTime());
    const spentHashing =
      n === 1 && (step.ranOutBefore !== undefined || (stepTimeout !== undefined && stepTimeout <= 0));
    if (bound.expired || spentHashing) {
      timedOutBeforeStart(state, step, bound.expired, spentHashing);
      break;
    }
    if (n > 1) log.note(`[etl-ledger: attempt ${n} of ${attempts}]`);
    const attempt = newAttempt(n, now());
    record.attempts.push(attempt);
    const running = runProcess({
      module: moduleSpec(state, planned, record.role, n, step.extraEnv),
      spawner: state.spawner,
      timeoutMs: bound.timeoutMs,
      signal: options.signal,
      hurry: options.hurry,
      graceMs: options.graceMs ?? DEFAULT_GRACE_MS,
      onOutput: (chunk, from) => log.write(chunk, from),
      onStarted: (pid) => options.observer.moduleStarted?.(record, pid),
    });
    if (step.ahead) startAhead(state, step.ahead);
    const result = await running;
    // "timed out after 10s": the step's timeout, though hashing its input took some of it.
    endAttempt(attempt, result, now(), bound.byDeadline ? bound.timeoutMs : planned.timeout_ms, redactor);
    if (attempt.error !== null) log.note(`[etl-ledger: ${attempt.error}]`);
    if (result.outputAbandoned !== null) log.note(`[etl-ledger: ${result.outputAbandoned}]`);
    const tooLarge = keepMetrics(state, step, n) ?? outputsTooLarge(state, step, n);
    if (result.timedOut && bound.byDeadline) deadlineRanOut(state, step);
    record.status = attemptStatus(result);
    if (tooLarge !== undefined) refuseTooLarge(step, attempt, tooLarge);
    const last =
      n === attempts ||
      result.cancelled ||
      (result.timedOut && bound.byDeadline) ||
      // retry_on: only the exit codes it lists are worth another attempt.
      (planned.retry_on !== undefined && !planned.retry_on.includes(attempt.exit_code ?? -1));
    if (record.status === 'succeeded' || last) break;
    const delay = planned.retry_delay_ms * (planned.backoff ?? 1) ** (n - 1);
    if (delay > 0 && !(await sleep(delay, options.signal))) {
      record.status = 'cancelled';
      break;
    }
  }
  // The module started ahead waits for this one's exit 0: after any other end it never starts,
  // and the next step (continue_on lets it come) must be started afresh, not waited for.
  if (step.ahead && record.status !== 'succeeded') state.spawner.cancelNext();
}

/** The step's time (or the run's) was spent before its first attempt could start. */
function timedOutBeforeStart(state: RunState, step: StepRun, expired: boolean, spentHashing: boolean): void {
  const { planned, record, deadline } = step;
  record.status = 'timed_out';
  const spent =
    step.ranOutBefore?.deadline ?? (expired ? deadline : stepDeadline(undefined, planned.timeout_ms, step.began));
  if (spent === deadline) deadlineRanOut(state, step);
  if (spentHashing) {
    const why = `${spent?.what} ran out while its input was hashed`;
    step.log.note(`[etl-ledger: ${why}: the module was not started]`);
    if (record.role === 'step') state.run.error ??= `step ${planned.index} (${planned.name}) timed out: ${why}`;
  }
}

/** The run's error names the sequence's deadline; the handler's bound is the handler's business. */
function deadlineRanOut({ run }: RunState, { record, deadline }: StepRun): void {
  if (record.role === 'step' && deadline) run.error ??= `${deadline.what} ran out`;
}

/**
 * The last attempt's metrics are the step's (an attempt that wrote none leaves none); why the
 * file was not read, when it is over its limit.
 */
function keepMetrics(
  { options, redactor }: RunState,
  { planned, record, log }: StepRun,
  attempt: number,
): string | undefined {
  const written = readMetrics(metricsFile(options.scratch, record.role, planned.index, attempt));
  for (const problem of written?.problems ?? []) log.note(`[etl-ledger: ${problem}]`);
  if (written && Object.keys(written.metrics).length > 0) record.metrics = redactMetrics(written.metrics, redactor);
  else delete record.metrics;
  return written?.tooLarge;
}

/** Why an attempt's ETL_OUTPUTS is not read, when it is over its limit: its size alone (keepOutputs reads it). */
function outputsTooLarge({ options }: RunState, { planned, record }: StepRun, attempt: number): string | undefined {
  return keyValueFileTooLarge(outputsFile(options.scratch, record.role, planned.index, attempt), 'ETL_OUTPUTS');
}

/**
 * An attempt that exited 0 but wrote more to ETL_METRICS or ETL_OUTPUTS than is read fails: a
 * part of the file would pass on values cut short as if they were whole.
 */
function refuseTooLarge({ record, log }: StepRun, attempt: Attempt, why: string): void {
  const failsIt = record.status === 'succeeded';
  log.note(`[etl-ledger: ${why}${failsIt ? ': the step fails' : ''}]`);
  if (!failsIt) return;
  record.status = 'failed';
  attempt.error = why;
}

/** What the step wrote to ETL_OUTPUTS: in its record (masked), and for the steps after it. */
function keepOutputs(state: RunState, { planned, record, log }: StepRun): void {
  const { options, redactor, outputs } = state;
  const written = readOutputs(outputsFile(options.scratch, record.role, planned.index, record.attempts.length));
  for (const problem of written.problems) log.note(`[etl-ledger: ${problem}]`);
  if (planned.call) linkChildRuns(state, record, planned.call.sequence);
  if (Object.keys(written.values).length === 0) return;
  record.outputs = redactor.redactValues(written.values);
  if (record.status === 'succeeded' && record.role === 'step') outputs.set(planned.name, written.values);
}

/** A call step's child runs (one an attempt): run.json's child_runs lists each, its record the last. */
function linkChildRuns({ run, options }: RunState, record: StepRecord, sequence: string): void {
  for (const { attempt } of record.attempts) {
    const runId = readOutputs(outputsFile(options.scratch, record.role, record.index, attempt)).values[
      CHILD_RUN_OUTPUT
    ];
    if (runId === undefined) continue;
    record.child_run = runId;
    run.child_runs = [...(run.child_runs ?? []), { run_id: runId, sequence, step: record.index, role: record.role }];
  }
}

/** A step that cannot start (an output it uses was not written): failed, its module never started. */
async function cannotStart(state: RunState, record: StepRecord, why: string): Promise<void> {
  const { run, now, options } = state;
  record.status = 'failed';
  record.started_at = record.finished_at = now().toISOString();
  record.duration_ms = 0;
  // In the record, a handler's step's too: it has no attempt, and no log, to say why.
  record.not_started_because = why;
  if (record.role === 'step') run.error ??= describeFailure(record);
  updateSummary(state, record);
  await options.observer.stepFinished(run, record);
}

/** The step's expect rules, on the metrics it wrote: one not met fails the step. */
function checkExpect({ options }: RunState, { planned, record, log }: StepRun): void {
  if (record.status !== 'succeeded' || Object.keys(planned.expect).length === 0) return;
  const last = comparesWithLast(planned.expect)
    ? options.lastMetrics?.(record.role, planned.index, planned.name)
    : undefined;
  const checked = checkExpectations(planned.expect, record.metrics ?? {}, last);
  record.expectations = checked;
  for (const check of checked)
    log.note(`[etl-ledger: expect ${check.message}${check.ok ? '' : ' -- NOT MET: the step fails'}]`);
  if (checked.some((check) => !check.ok)) record.status = 'failed';
}

/** The step's lineage: its input and config as read before it started, and its output now. */
async function keepLineage({ options, now }: RunState, step: StepRun, lineage: InputLineage): Promise<void> {
  const { planned, record, deadline } = step;
  // Hashing the output is part of the last attempt's time (the first's began with the input).
  const last = record.attempts.length > 1 ? Date.parse(record.attempts.at(-1)!.started_at) : step.began;
  const after = boundedSignal(stepDeadline(deadline, planned.timeout_ms, last), options.signal, now().getTime());
  const output = await describeArtifact(planned.output, record.output, planned.cwd, after.signal).finally(
    after.dispose,
  );
  // A step given no input, output nor config has nothing to record.
  if (lineage.input || lineage.config || output) record.lineage = { ...lineage, output };
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
  const outputs = outputsFile(options.scratch, role, planned.index, attempt);
  return {
    command: planned.command,
    argv: planned.argv,
    cwd: planned.cwd,
    sharedEnv: moduleEnv,
    env: {
      ...(planned.call === undefined ? {} : runnerTokens(options.env)),
      ...planned.env,
      ...wrapperEnv(plan, planned, role, attempt, { ...options, metrics, outputs }),
      ...extraEnv,
    },
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
  const count = stepsOfRole(plan, record.role).length;
  const summary = summarise(record, count, options.files);
  const at = summaryIndex(run, record);
  if (at === -1) run.steps.push(summary);
  else run.steps[at] = summary;
}

export async function skipStep(state: RunState, record: StepRecord): Promise<void> {
  record.status = 'skipped';
  updateSummary(state, record);
  await state.options.observer.stepFinished(state.run, record);
}
