// The seed's lifecycle, start_etl -> exec_module ... -> end_etl, or error_handler on a
// failure, as one loop over a Plan. The engine knows nothing of the ledger: it reports every
// change of state to an observer, which decides what to write where.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { LogWriter, Redactor } from './logs.js';
import { inheritedEnv, isSelected, secretValues, type Plan, type PlannedStep } from './plan.js';
import { runProcess } from './process.js';
import { sleep } from '../timers.js';
import type { Attempt, DefinitionsPin, Role, RunRecord, RunStatus, StepRecord, Trigger } from './records.js';
import { SCHEMA_VERSION } from './schema-version.js';
import { formatDuration } from '../definitions/duration.js';
import { describeEnding } from './labels.js';

/**
 * Told of every change of a run's state. A hook may return a promise: the run waits for it
 * before going on (a progress commit is made before the next step starts).
 */
export interface RunObserver {
  /** run.json as it starts: status running, every step pending. */
  runStarted(run: RunRecord, steps: StepRecord[]): void | Promise<void>;
  stepStarted(run: RunRecord, step: StepRecord): void | Promise<void>;
  /** A step's final state; also called for steps that were skipped. */
  stepFinished(run: RunRecord, step: StepRecord): void | Promise<void>;
  runFinished(run: RunRecord): void | Promise<void>;
  /** Redacted module output as it arrives, for a terminal. */
  output?(step: StepRecord, text: string): void;
  /** A module's process (and process group) started: the lock records it for a successor. */
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
  logLimit?: number;
  graceMs?: number;
  host: string;
  pid: number;
  runnerVersion: string;
  now?: () => Date;
  /** When the run started (the run id's time); now() by default. */
  startedAt?: Date;
}

const DEFAULT_GRACE_MS = 5_000;

/** Where a step's record and log go, relative to the run folder: steps/01-extract.json. */
export function stepFiles(role: Role, index: number, module: string, count: number): { record: string; log: string } {
  const stem = `${role === 'on_failure' ? 'on_failure-' : ''}${String(index).padStart(Math.max(2, String(count).length), '0')}-${module}`;
  return { record: `steps/${stem}.json`, log: `logs/${stem}.log` };
}

export async function executePlan(plan: Plan, options: ExecuteOptions): Promise<RunRecord> {
  const now = options.now ?? (() => new Date());
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  const redactor = new Redactor(secretValues(plan, options.env));
  const moduleEnv = inheritedEnv(plan, options.env);
  mkdirSync(join(options.folder, 'logs'), { recursive: true });
  mkdirSync(options.scratch, { recursive: true });

  const newStep = (step: PlannedStep, role: Role, count: number): StepRecord => ({
    schema_version: SCHEMA_VERSION,
    run_id: options.runId,
    index: step.index,
    role,
    name: step.name,
    module: step.module,
    argv: step.argv.map((a) => redactor.redact(a)),
    input: step.input === undefined ? null : redactor.redact(step.input),
    output: step.output === undefined ? null : redactor.redact(step.output),
    config: step.config === undefined ? null : redactor.redact(step.config),
    status: 'pending',
    started_at: null,
    finished_at: null,
    duration_ms: null,
    attempts: [],
    log: { path: stepFiles(role, step.index, step.module, count).log, bytes: 0, kept_bytes: 0, truncated: false },
  });
  const steps = plan.steps.map((s) => newStep(s, 'step', plan.steps.length));
  const started = options.startedAt ?? now();
  const run: RunRecord = {
    schema_version: SCHEMA_VERSION,
    id: options.runId,
    sequence: plan.sequence,
    status: 'running',
    trigger: options.trigger,
    definitions: options.definitions,
    selection:
      options.from !== undefined || options.only !== undefined
        ? { from: options.from ?? null, only: options.only ?? null }
        : null,
    host: options.host,
    pid: options.pid,
    runner_version: options.runnerVersion,
    started_at: started.toISOString(),
    finished_at: null,
    duration_ms: null,
    failed_step: null,
    error: null,
    steps: steps.map((s) => summarise(s, plan.steps.length)),
  };
  const update = (record: StepRecord) => {
    const at = run.steps.findIndex((s) => s.role === record.role && s.index === record.index);
    const summary = summarise(record, record.role === 'step' ? plan.steps.length : plan.on_failure.length);
    if (at === -1) run.steps.push(summary);
    else run.steps[at] = summary;
  };
  await options.observer.runStarted(run, steps);

  // The sequence timeout bounds the steps; the error handler has a bound of its own.
  const deadline =
    plan.timeout_ms === undefined
      ? undefined
      : { at: started.getTime() + plan.timeout_ms, what: `the sequence timeout (${formatDuration(plan.timeout_ms)})` };
  const wrapperEnv = (step: PlannedStep, attempt: number): Record<string, string> => ({
    ETL_RUN_ID: options.runId,
    ETL_SEQUENCE: plan.sequence,
    ETL_STEP: String(step.index),
    ETL_STEP_NAME: step.name,
    ETL_MODULE: step.module,
    ETL_INPUT: step.input ?? '',
    ETL_OUTPUT: step.output ?? '',
    ETL_CONFIG: step.config ?? '',
    ETL_REPO: plan.repo,
    ETL_RUN_DIR: options.scratch,
    ETL_ATTEMPT: String(attempt),
  });

  /** exec_module: one step, with its retries. */
  const execStep = async (
    planned: PlannedStep,
    record: StepRecord,
    extraEnv: Record<string, string>,
    bound: typeof deadline,
  ) => {
    record.status = 'running';
    record.started_at = now().toISOString();
    update(record);
    await options.observer.stepStarted(run, record);
    const logPath = stepFiles(
      record.role,
      record.index,
      record.module,
      record.role === 'step' ? plan.steps.length : plan.on_failure.length,
    ).log;
    const log = new LogWriter(join(options.folder, logPath), redactor, options.logLimit, (text) =>
      options.observer.output?.(record, text),
    );
    const attempts = planned.retries + 1;
    try {
      for (let n = 1; n <= attempts; n++) {
        const remaining = bound === undefined ? undefined : bound.at - now().getTime();
        if (options.signal?.aborted) {
          record.status = 'cancelled';
          break;
        }
        if (remaining !== undefined && remaining <= 0) {
          record.status = 'timed_out';
          if (record.role === 'step') run.error ??= `${bound!.what} ran out`;
          break;
        }
        // The sequence's deadline cuts a step short when it comes before the step's own.
        const bySequence =
          remaining !== undefined && (planned.timeout_ms === undefined || remaining < planned.timeout_ms);
        const timeoutMs = bySequence ? remaining : planned.timeout_ms;
        if (n > 1) log.note(`[etl-ledger: attempt ${n} of ${attempts}]`);
        const attempt: Attempt = {
          attempt: n,
          started_at: now().toISOString(),
          finished_at: null,
          duration_ms: null,
          exit_code: null,
          signal: null,
          timed_out: false,
          error: null,
        };
        record.attempts.push(attempt);
        const result = await runProcess({
          command: planned.command,
          argv: planned.argv,
          cwd: planned.cwd,
          env: { ...moduleEnv, ...planned.env, ...wrapperEnv(planned, n), ...extraEnv },
          timeoutMs,
          signal: options.signal,
          hurry: options.hurry,
          graceMs,
          onOutput: (chunk, from) => log.write(chunk, from),
          onStarted: (pid) => options.observer.moduleStarted?.(record, pid),
        });
        const finished = now();
        attempt.finished_at = finished.toISOString();
        attempt.duration_ms = finished.getTime() - Date.parse(attempt.started_at);
        attempt.exit_code = result.exitCode;
        attempt.signal = result.signal;
        attempt.timed_out = result.timedOut;
        attempt.error =
          result.error === null
            ? result.timedOut
              ? `timed out after ${formatDuration(timeoutMs!)}`
              : null
            : redactor.redact(result.error);
        if (result.error !== null || result.timedOut) log.note(`[etl-ledger: ${attempt.error}]`);
        if (result.outputAbandoned !== null) log.note(`[etl-ledger: ${result.outputAbandoned}]`);
        if (result.timedOut && bySequence && record.role === 'step') run.error ??= `${bound!.what} ran out`;
        if (result.exitCode === 0 && !result.timedOut && !result.cancelled) {
          record.status = 'succeeded';
          break;
        }
        record.status = result.cancelled ? 'cancelled' : result.timedOut ? 'timed_out' : 'failed';
        if (result.cancelled || n === attempts || (result.timedOut && bySequence)) break;
        if (planned.retry_delay_ms > 0 && !(await sleep(planned.retry_delay_ms, options.signal))) {
          record.status = 'cancelled';
          break;
        }
      }
    } finally {
      const { path, ...summary } = log.close();
      record.log = { ...summary, path: path === null ? null : logPath };
      const finished = now();
      record.finished_at = finished.toISOString();
      record.duration_ms = finished.getTime() - Date.parse(record.started_at);
      update(record);
      await options.observer.stepFinished(run, record);
    }
  };

  const skip = async (record: StepRecord) => {
    record.status = 'skipped';
    update(record);
    await options.observer.stepFinished(run, record);
  };

  let failed: StepRecord | undefined;
  let cancelled = false;
  for (const [i, planned] of plan.steps.entries()) {
    const record = steps[i]!;
    const selected = isSelected(planned, options);
    if (failed || cancelled || !selected || options.signal?.aborted) {
      cancelled ||= Boolean(options.signal?.aborted);
      await skip(record);
      continue;
    }
    await execStep(planned, record, {}, deadline);
    if (record.status === 'cancelled') cancelled = true;
    else if (record.status !== 'succeeded') failed = record;
  }

  // error_handler: the on_failure steps, told what failed. Not after a cancel: a person
  // stopped the run on purpose.
  if (failed && !cancelled) {
    const last = failed.attempts.at(-1);
    const handlerEnv = {
      ETL_FAILED_STEP: String(failed.index),
      ETL_FAILED_STEP_NAME: failed.name,
      ETL_FAILED_MODULE: failed.module,
      ETL_FAILED_EXIT_CODE: last?.exit_code === null || last?.exit_code === undefined ? '' : String(last.exit_code),
      ETL_FAILED_STATUS: failed.status,
    };
    const handlerTimeout = plan.on_failure_timeout_ms;
    const handlerBound =
      handlerTimeout === undefined
        ? undefined
        : { at: now().getTime() + handlerTimeout, what: `the on_failure timeout (${formatDuration(handlerTimeout)})` };
    for (const planned of plan.on_failure) {
      const record = newStep(planned, 'on_failure', plan.on_failure.length);
      if (options.signal?.aborted) await skip(record);
      else await execStep(planned, record, handlerEnv, handlerBound);
    }
  }

  const finished = now();
  const status: RunStatus = cancelled || options.signal?.aborted ? 'cancelled' : failed ? 'failed' : 'succeeded';
  run.status = status;
  run.finished_at = finished.toISOString();
  run.duration_ms = finished.getTime() - started.getTime();
  run.failed_step = failed?.index ?? null;
  if (status === 'failed') run.error ??= describeFailure(failed!);
  if (status === 'cancelled') run.error ??= 'cancelled';
  await options.observer.runFinished(run);
  return run;
}

function summarise(step: StepRecord, count: number) {
  const last = step.attempts.at(-1);
  return {
    index: step.index,
    role: step.role,
    name: step.name,
    module: step.module,
    status: step.status,
    duration_ms: step.duration_ms,
    exit_code: last?.exit_code ?? null,
    attempts: step.attempts.length,
    record: stepFiles(step.role, step.index, step.module, count).record,
  };
}

function describeFailure(step: StepRecord): string {
  const last = step.attempts.at(-1);
  const how = describeEnding(last);
  return `step ${step.index} (${step.name}) ${step.status === 'timed_out' ? 'timed out' : 'failed'}: ${how}`;
}
