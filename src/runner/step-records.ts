// The records a run is made of, built and described without side effects: the engine fills
// them in as the run goes, the observer writes them.
import { showPlaceholders } from './outputs.js';
import type { Redactor } from './logs.js';
import { describeEnding } from './labels.js';
import type { Plan, PlannedStep } from './plan.js';
import type { ProcessResult } from './process.js';
import type {
  Attempt,
  DefinitionsPin,
  ParentRun,
  Role,
  RunRecord,
  StepRecord,
  StepSummary,
  Trigger,
} from './records.js';
import { SCHEMA_VERSION } from './schema-version.js';
import { formatDuration } from '../definitions/duration.js';
import { DEFAULT_FLAGS, FLAG_VARIABLES } from '../definitions/interface-flags.js';

/** Where a step's record and log go, relative to the run folder (the ledger's layout decides). */
export type StepFiles = (
  step: Pick<StepRecord, 'role' | 'index' | 'module'>,
  count: number,
) => { record: string; log: string };

export interface RecordContext {
  runId: string;
  redactor: Redactor;
  files: StepFiles;
}

/** A step's record before it runs: pending, its argv and paths with secrets masked. */
export function newStepRecord(
  step: PlannedStep,
  role: Role,
  count: number,
  { runId, redactor, files }: RecordContext,
): StepRecord {
  return {
    schema_version: SCHEMA_VERSION,
    run_id: runId,
    index: step.index,
    role,
    name: step.name,
    module: step.module,
    ...(step.run === undefined ? {} : { run: redactor.redact(step.run) }),
    ...(step.call === undefined ? {} : { call: step.call.sequence }),
    ...stepValues(step, redactor),
    ...(step.needs ? { needs: step.needs } : {}),
    status: 'pending',
    started_at: null,
    finished_at: null,
    duration_ms: null,
    attempts: [],
    log: {
      path: files({ role, index: step.index, module: step.module }, count).log,
      bytes: 0,
      kept_bytes: 0,
      truncated: false,
    },
  };
}

/** What a step's record says it was given, secrets masked (outputs of earlier steps not yet filled in show as templates). */
export function stepValues(
  step: PlannedStep,
  redactor: Redactor,
): Pick<StepRecord, 'argv' | 'input' | 'output' | 'config'> {
  const mask = (value: string | undefined) => (value === undefined ? null : showPlaceholders(redactor.redact(value)));
  return {
    argv: step.argv.map((a) => showPlaceholders(redactor.redact(a))),
    input: mask(step.input),
    output: mask(step.output),
    config: mask(step.config),
  };
}

export interface RunFacts {
  runId: string;
  trigger: Trigger;
  definitions: DefinitionsPin;
  from?: number;
  only?: number;
  /** etl run --resume: the run picked up. */
  resumedFrom?: string;
  /** The run whose step started this one (src/runner/call.ts). */
  parentRun?: ParentRun;
  host: string;
  pid: number;
  runnerVersion: string;
}

/** run.json as a run starts: running, every step pending; its params masked as argv is (a param may hold a secret). */
export function newRunRecord(
  plan: Plan,
  facts: RunFacts,
  started: Date,
  steps: StepSummary[],
  redactor: Redactor,
): RunRecord {
  const selected = facts.from !== undefined || facts.only !== undefined;
  return {
    schema_version: SCHEMA_VERSION,
    id: facts.runId,
    sequence: plan.sequence,
    status: 'running',
    trigger: facts.trigger,
    definitions: facts.definitions,
    selection: selected ? { from: facts.from ?? null, only: facts.only ?? null } : null,
    ...(facts.resumedFrom ? { resumed_from: facts.resumedFrom } : {}),
    ...(facts.parentRun ? { parent_run: facts.parentRun } : {}),
    ...(Object.keys(plan.params).length ? { params: redactor.redactValues(plan.params) } : {}),
    tick: plan.tick,
    host: facts.host,
    pid: facts.pid,
    runner_version: facts.runnerVersion,
    started_at: started.toISOString(),
    finished_at: null,
    duration_ms: null,
    ...(plan.max_parallel === undefined ? {} : { max_parallel: plan.max_parallel }),
    failed_step: null,
    error: null,
    steps,
  };
}

/** A step's line in run.json. */
export function summarise(step: StepRecord, count: number, files: StepFiles): StepSummary {
  return summaryLine(step, files(step, count).record);
}

/**
 * Where a step's line is in run.json's list, or -1. A step's line is at its index - 1 (the
 * list starts with every step, in order; on_failure lines follow): looked up by position,
 * a long run stays linear.
 */
export function summaryIndex(run: RunRecord, step: Pick<StepRecord, 'role' | 'index'>): number {
  const guess = run.steps[step.role === 'step' ? step.index - 1 : -1];
  return guess?.role === step.role && guess.index === step.index
    ? step.index - 1
    : run.steps.findIndex((s) => s.role === step.role && s.index === step.index);
}

/** A step's line in run.json, its record being at `record` in the run folder. */
export function summaryLine(step: StepRecord, record: string): StepSummary {
  const last = step.attempts.at(-1);
  return {
    index: step.index,
    role: step.role,
    name: step.name,
    module: step.module,
    ...(step.run === undefined ? {} : { run: step.run }),
    ...(step.call === undefined ? {} : { call: step.call }),
    ...(step.child_run === undefined ? {} : { child_run: step.child_run }),
    status: step.status,
    duration_ms: step.duration_ms,
    exit_code: last?.exit_code ?? null,
    attempts: step.attempts.length,
    record,
    ...(step.skipped_as ? { skipped_as: step.skipped_as } : {}),
    ...(step.skipped_because ? { skipped_because: step.skipped_because } : {}),
    ...(step.not_started_because ? { not_started_because: step.not_started_because } : {}),
    ...(step.needs ? { needs: step.needs } : {}),
  };
}

/** The module wrapper's environment (README "The module wrapper"). */
export function wrapperEnv(
  plan: Plan,
  step: PlannedStep,
  role: Role,
  attempt: number,
  ids: { runId: string; scratch: string; metrics?: string; outputs?: string },
): Record<string, string> {
  return {
    // Where the module may write its metrics, key=value lines (README "Step metrics").
    ...(ids.metrics ? { ETL_METRICS: ids.metrics } : {}),
    // Where it may write values for later steps, in the same format.
    ...(ids.outputs ? { ETL_OUTPUTS: ids.outputs } : {}),
    ETL_RUN_ID: ids.runId,
    ETL_SEQUENCE: plan.sequence,
    ETL_STEP: String(step.index),
    // Which list the step is in: a call step's child run links back to it by this and ETL_STEP.
    ETL_STEP_ROLE: role,
    ETL_STEP_NAME: step.name,
    ETL_MODULE: step.module,
    ETL_INPUT: step.input ?? '',
    ETL_OUTPUT: step.output ?? '',
    ETL_CONFIG: step.config ?? '',
    // The names its argv gives them (a module's `flags` may rename them): the helpers of
    // etl-ledger/module and etl_module.py read them, so a module need not be told twice.
    [FLAG_VARIABLES.input]: (step.flags ?? DEFAULT_FLAGS).input,
    [FLAG_VARIABLES.output]: (step.flags ?? DEFAULT_FLAGS).output,
    [FLAG_VARIABLES.config]: (step.flags ?? DEFAULT_FLAGS).config,
    ETL_REPO: plan.repo,
    ETL_RUN_DIR: ids.scratch,
    ETL_ATTEMPT: String(attempt),
    // The run's values: the tick it is for, and its params (ETL_PARAM_REGION).
    ETL_TICK: plan.tick,
    ...Object.fromEntries(Object.entries(plan.params).map(([key, value]) => [`ETL_PARAM_${key.toUpperCase()}`, value])),
  };
}

/** What the error handler is told about the step that failed. */
export function handlerEnv(failed: StepRecord): Record<string, string> {
  const last = failed.attempts.at(-1);
  return {
    ETL_FAILED_STEP: String(failed.index),
    ETL_FAILED_STEP_NAME: failed.name,
    ETL_FAILED_MODULE: failed.module,
    ETL_FAILED_EXIT_CODE: last?.exit_code === null || last?.exit_code === undefined ? '' : String(last.exit_code),
    ETL_FAILED_STATUS: failed.status,
  };
}

/** An attempt as it starts. */
export function newAttempt(n: number, started: Date): Attempt {
  return {
    attempt: n,
    started_at: started.toISOString(),
    finished_at: null,
    duration_ms: null,
    exit_code: null,
    signal: null,
    timed_out: false,
    error: null,
  };
}

/** Writes how a process ended into its attempt; the reason is the runner's, secrets masked. */
export function endAttempt(
  attempt: Attempt,
  result: ProcessResult,
  finished: Date,
  timeoutMs: number | undefined,
  redactor: Redactor,
): void {
  attempt.finished_at = finished.toISOString();
  attempt.duration_ms = finished.getTime() - Date.parse(attempt.started_at);
  attempt.exit_code = result.exitCode;
  attempt.signal = result.signal;
  attempt.timed_out = result.timedOut;
  attempt.error =
    result.error !== null
      ? redactor.redact(result.error)
      : result.timedOut
        ? `timed out after ${formatDuration(timeoutMs ?? 0)}`
        : null;
}

/** The status a finished attempt gives its step. */
export function attemptStatus(result: ProcessResult): StepRecord['status'] {
  if (result.cancelled) return 'cancelled';
  if (result.timedOut) return 'timed_out';
  return result.exitCode === 0 ? 'succeeded' : 'failed';
}

/** run.json's error for a failed run: which step, and how it ended. */
export function describeFailure(step: StepRecord): string {
  const unmet = step.expectations?.find((e) => !e.ok);
  const what = `${step.role === 'step' ? '' : `${step.role} `}step ${step.index} (${step.name})`;
  if (unmet) return `${what} failed: expect ${unmet.message}`;
  if (step.not_started_because) return `${what} cannot start: ${step.not_started_because}`;
  return `${what} ${step.status === 'timed_out' ? 'timed out' : 'failed'}: ${describeEnding(step.attempts.at(-1))}`;
}
