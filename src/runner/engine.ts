// The seed's lifecycle, start_etl -> exec_module ... -> end_etl, or error_handler on a
// failure, as one loop over a Plan. The engine knows nothing of the ledger: it reports every
// change of state to an observer, which decides what to write where.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Deadline, handlerDeadline, sequenceDeadline } from './deadline.js';
import { DEFAULT_GRACE_MS, execStep, type RunState, skipStep } from './exec-step.js';
import type { LastMetrics } from './expect.js';
import { isExternal } from './lineage.js';
import { Redactor } from './logs.js';
import type { Handler } from '../definitions/handlers.js';
import { referencedSteps } from './outputs.js';
import { allPlannedSteps, inheritedEnv, isSelected, type Plan, type PlannedStep, secretValues } from './plan.js';
import type { DefinitionsPin, ParentRun, Role, RunRecord, RunStatus, StepRecord, Trigger } from './records.js';
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
  /** A resumed graph: the steps that stand as that run did them; the others run again. */
  resumedDone?: number[];
  /** --resume: what the steps that stand as that run did them wrote to ETL_OUTPUTS, by step name. */
  resumedOutputs?: Record<string, Record<string, string>>;
  /** The run whose step started this one (src/runner/call.ts): run.json's parent_run. */
  parentRun?: ParentRun;
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
  lastMetrics?: (role: Role, index: number, name: string) => LastMetrics | undefined;
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
  mkdirSync(join(options.scratch, 'outputs'), { recursive: true });
  const context = { runId: options.runId, redactor, files: options.files };
  const started = options.startedAt ?? now();
  // A step's full record is made when its turn comes: a long run holds one at a time.
  const count = plan.steps.length;
  const summaries = plan.steps.map((s) => summarise(newStepRecord(s, 'step', count, context), count, options.files));
  const run = newRunRecord(plan, options, started, summaries, redactor);
  const spawner = options.spawner ?? (await openRunSpawner(plan, options.env, options.graceMs, options.folder));
  try {
    const state: RunState = {
      plan,
      options,
      run,
      now,
      redactor,
      moduleEnv: inheritedEnv(plan, options.env),
      spawner,
      outputs: new Map(Object.entries(options.resumedOutputs ?? {})),
    };
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
  return openSpawner(env, graceMs, allPlannedSteps(plan).length, note);
}

/** How the steps ended: the step that failed the run, whether it was cancelled. */
interface StepsEnded {
  failed: StepRecord | undefined;
  /** Steps that failed, and the run went on after (continue_on). */
  wentOn: StepRecord[];
  cancelled: boolean;
  /** Whether the sequence's timeout ran out (on_cancel runs then too). */
  deadlineRanOut?: boolean;
}

async function runSteps(state: RunState, context: RecordContext, started: Date): Promise<void> {
  const { plan, options, spawner } = state;
  await options.observer.runStarted(state.run);
  const deadline = sequenceDeadline(plan, started.getTime());
  const ended =
    plan.max_parallel === undefined
      ? await runList(state, context, deadline)
      : await runGraph(state, context, deadline, plan.max_parallel);
  spawner.cancelNext();
  ended.deadlineRanOut =
    ended.failed?.status === 'timed_out' && deadline !== undefined && state.now().getTime() >= deadline.at;
  const failedHandler = await runHandlers(state, context, ended);
  await endEtl(state, started, ended, failedHandler);
}

/** The seed's order: one step after another; after a failure or a cancel the rest are skipped. */
async function runList(state: RunState, context: RecordContext, deadline: Deadline | undefined): Promise<StepsEnded> {
  const { plan, options, spawner } = state;
  const ended: StepsEnded = { failed: undefined, cancelled: false, wentOn: [] };
  for (const [i, planned] of plan.steps.entries()) {
    const record = newStepRecord(planned, 'step', plan.steps.length, context);
    ended.cancelled ||= Boolean(options.signal?.aborted);
    const stopped = Boolean(ended.failed || ended.cancelled);
    if (stopped || !isSelected(planned, options)) {
      spawner.cancelNext();
      await skipUnselected(state, record, stopped);
      continue;
    }
    await execStep(state, planned, record, {}, deadline, aheadOf(state, planned, plan.steps[i + 1], deadline));
    noteEnd(ended, planned, record);
  }
  return ended;
}

/**
 * How a step ended, in the run's tally: cancelled, failed (the run stops), or done for what
 * comes after it (succeeded, skipped, or failed with continue_on). True when it is done.
 */
function noteEnd(ended: StepsEnded, planned: PlannedStep, record: StepRecord): boolean {
  if (record.status === 'succeeded' || record.status === 'skipped') return true;
  if (record.status === 'cancelled') ended.cancelled = true;
  else if (goesOnAfter(planned, record)) {
    ended.wentOn.push(record);
    return true;
  } else ended.failed ??= record;
  return false;
}

/** continue_on: the run goes on after this step failed (not when it was cancelled). */
function goesOnAfter(planned: PlannedStep, record: StepRecord): boolean {
  const rule = planned.continue_on;
  if (rule === undefined || (record.status !== 'failed' && record.status !== 'timed_out')) return false;
  if (rule === 'failure') return true;
  const code = record.attempts.at(-1)?.exit_code;
  return code !== null && code !== undefined && rule.includes(code);
}

/** A step that does not run: --from/--only left it out, or the run stopped before it. */
async function skipUnselected(state: RunState, record: StepRecord, stopped: boolean): Promise<void> {
  const { options } = state;
  // --resume: the steps before the failed one (in a graph, the ones it did) stand as the resumed run did them.
  const done = options.resumedDone ? options.resumedDone.includes(record.index) : record.index < (options.from ?? 1);
  if (options.resumedFrom && !stopped && done) record.skipped_as = { reason: 'resumed', run_id: options.resumedFrom };
  await skipStep(state, record);
}

/**
 * The step that may start as soon as `planned` exits 0, unless a deadline could expire in
 * between (it would then start a step that should not run).
 */
function aheadOf(
  { options }: RunState,
  planned: PlannedStep,
  following: PlannedStep | undefined,
  deadline: Deadline | undefined,
): PlannedStep | undefined {
  return options.startAhead !== false &&
    deadline === undefined &&
    Object.keys(planned.expect).length === 0 && // the next one waits for the rules' verdict
    following &&
    // With lineage, this step's output is hashed as the next one starts: not if that one writes it.
    (options.lineage === false || !overwrites(following, planned)) &&
    // A step that may be skipped as unchanged, or by its condition, is judged before it starts.
    !following.skip_unchanged &&
    !following.condition &&
    !options.skipUnchanged &&
    // What it is given may be what this one writes to ETL_OUTPUTS.
    referencedSteps(following).length === 0 &&
    isSelected(following, options)
    ? following
    : undefined;
}

/**
 * The steps of a graph: each starts once every step it needs succeeded or was skipped, up to
 * `limit` at once, in the order they became ready. After a failure or a cancel nothing new
 * starts; the steps running go on to their end (a cancel stops them), the others are skipped.
 */
async function runGraph(
  state: RunState,
  context: RecordContext,
  deadline: Deadline | undefined,
  limit: number,
): Promise<StepsEnded> {
  const { plan, options } = state;
  const graph = new ReadySteps(plan.steps);
  const ended: StepsEnded = { failed: undefined, cancelled: false, wentOn: [] };
  const finished: StepRecord[] = [];
  let wake: (() => void) | undefined;
  let running = 0;
  let thrown: { error: unknown } | undefined;
  const stopped = () => ended.failed !== undefined || ended.cancelled || Boolean(options.signal?.aborted) || thrown;
  for (;;) {
    while (!stopped() && running < limit) {
      const planned = graph.next();
      if (!planned) break;
      const record = newStepRecord(planned, 'step', plan.steps.length, context);
      if (!isSelected(planned, options) || options.resumedDone?.includes(planned.index)) {
        await skipUnselected(state, record, false);
        graph.done(record.index);
        continue;
      }
      // A chain: the step after this one, if it needs only it and nothing else runs, may start
      // the moment this one exits 0, as in a list.
      const ahead =
        running === 0 && graph.idle() ? aheadOf(state, planned, graph.soleFollower(planned), deadline) : undefined;
      running++;
      const end = () => {
        finished.push(record);
        wake?.();
      };
      execStep(state, planned, record, {}, deadline, ahead).then(end, (error: unknown) => {
        thrown ??= { error };
        end();
      });
    }
    if (running === 0) break;
    if (finished.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
    for (const record of finished.splice(0)) {
      running--;
      if (noteEnd(ended, plan.steps[record.index - 1]!, record)) graph.done(record.index);
    }
  }
  if (thrown) throw thrown.error;
  for (const planned of graph.notStarted())
    await skipStep(state, newStepRecord(planned, 'step', plan.steps.length, context));
  ended.cancelled ||= Boolean(options.signal?.aborted);
  return ended;
}

/** A graph's steps as they become ready to start: when each step they need is done. */
class ReadySteps {
  private readonly waitingOn = new Map<number, number>();
  private readonly dependents = new Map<number, PlannedStep[]>();
  private readonly ready: PlannedStep[];
  private head = 0;
  private readonly taken = new Set<number>();

  constructor(private readonly steps: PlannedStep[]) {
    for (const step of steps) {
      this.waitingOn.set(step.index, step.needs?.length ?? 0);
      for (const need of step.needs ?? []) {
        const list = this.dependents.get(need);
        if (list) list.push(step);
        else this.dependents.set(need, [step]);
      }
    }
    this.ready = steps.filter((step) => (step.needs?.length ?? 0) === 0);
  }

  /** The next step ready to start, taken; undefined when none is ready now. */
  next(): PlannedStep | undefined {
    const step = this.ready[this.head];
    if (!step) return undefined;
    this.head++;
    this.taken.add(step.index);
    return step;
  }

  /** A step succeeded or was skipped: what needed it may be ready. */
  done(index: number): void {
    for (const step of this.dependents.get(index) ?? []) {
      const left = this.waitingOn.get(step.index)! - 1;
      this.waitingOn.set(step.index, left);
      if (left === 0) this.ready.push(step);
    }
  }

  /** Whether no step is ready to start now. */
  idle(): boolean {
    return this.head === this.ready.length;
  }

  /** The one step that needs `step` and nothing else, when only one needs it. */
  soleFollower(step: PlannedStep): PlannedStep | undefined {
    const followers = this.dependents.get(step.index);
    return followers?.length === 1 && followers[0]!.needs?.length === 1 ? followers[0] : undefined;
  }

  notStarted(): PlannedStep[] {
    return this.steps.filter((step) => !this.taken.has(step.index));
  }
}

/**
 * The handlers, after the steps: on_success after a success, on_failure after a failure (the
 * seed's error_handler), on_cancel after a cancel or when the sequence's timeout ran out, and
 * on_exit last, whatever happened; each step told why (ETL_RUN_STATUS, ETL_FAILED_*). After a
 * cancel they run until a second signal (hurry) stops them. A first signal while on_success or
 * on_failure runs is a cancel like any other: it stops that handler, and on_cancel and on_exit
 * run after it.
 */
async function runHandlers(
  state: RunState,
  context: RecordContext,
  ended: StepsEnded,
): Promise<StepRecord | undefined> {
  const { options } = state;
  const status = runStatus(ended, options.signal);
  const failedEnv = ended.failed ? handlerEnv(ended.failed) : {};
  const ran = new Set<Handler>();
  let failedHandler: StepRecord | undefined;
  if (status !== 'cancelled') {
    const handlers: Handler[] =
      status === 'failed'
        ? [...(['on_failure'] as const), ...(ended.deadlineRanOut ? (['on_cancel'] as const) : []), 'on_exit']
        : ['on_success', 'on_exit'];
    for (const handler of handlers) {
      if (options.signal?.aborted) break;
      ran.add(handler);
      const failed = await runHandler(state, context, handler, { ETL_RUN_STATUS: status, ...failedEnv });
      failedHandler ??= failed;
    }
    if (!options.signal?.aborted) return failedHandler;
  }
  // After a cancel the run's signal has fired: the handlers answer to the second one.
  const hurried: RunState = { ...state, options: { ...options, signal: options.hurry } };
  for (const handler of ['on_cancel', 'on_exit'] as const) {
    if (ran.has(handler)) continue;
    const failed = await runHandler(hurried, context, handler, { ETL_RUN_STATUS: 'cancelled', ...failedEnv });
    failedHandler ??= failed;
  }
  return failedHandler;
}

/** One handler's steps, in order, within its bound; returns its first step that did not succeed. */
async function runHandler(
  state: RunState,
  context: RecordContext,
  handler: Handler,
  env: Record<string, string>,
): Promise<StepRecord | undefined> {
  const { plan, options, now } = state;
  const steps = plan[handler];
  const bound = handlerDeadline(plan, handler, now().getTime());
  let failed: StepRecord | undefined;
  for (const planned of steps) {
    const record = newStepRecord(planned, handler, steps.length, context);
    if (options.signal?.aborted) await skipStep(state, record);
    else await execStep(state, planned, record, env, bound);
    if (record.status !== 'succeeded' && record.status !== 'skipped') failed ??= record;
  }
  return failed;
}

/** The run's status from how its steps ended (and its handlers, once they have run). */
function runStatus(
  { failed, cancelled, wentOn }: StepsEnded,
  signal: AbortSignal | undefined,
  failedHandler?: StepRecord,
): RunStatus {
  if (cancelled || signal?.aborted) return 'cancelled';
  if (failed || failedHandler) return 'failed';
  return wentOn.length > 0 ? 'succeeded_with_failures' : 'succeeded';
}

/**
 * end_etl: the run's status, its end, and why it did not succeed. A handler step that failed
 * after a success (on_success, on_exit) fails the run: what was to happen did not.
 */
async function endEtl(
  state: RunState,
  started: Date,
  { failed, cancelled, wentOn }: StepsEnded,
  failedHandler: StepRecord | undefined,
): Promise<void> {
  const { run, options, now } = state;
  const finished = now();
  const status = runStatus({ failed, cancelled, wentOn }, options.signal, failedHandler);
  run.status = status;
  run.finished_at = finished.toISOString();
  run.duration_ms = finished.getTime() - started.getTime();
  run.failed_step = failed?.index ?? null;
  if (status === 'failed') run.error ??= describeFailure((failed ?? failedHandler)!);
  // A failed run cancelled while its handlers ran: the failure is still what stopped its steps.
  if (status === 'cancelled') run.error ??= failed ? `cancelled after ${describeFailure(failed)}` : 'cancelled';
  // Every step it went on after, whatever an earlier one of them set (a step that could not start).
  if (status === 'succeeded_with_failures')
    run.error = `went on (continue_on) after ${wentOn.map((step) => describeFailure(step)).join('; ')}`;
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
