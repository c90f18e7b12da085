// What a new run takes from the sequence's earlier runs, for skip_unchanged and --resume: a step's last successful execution (its
// fingerprint and the output it wrote), and where a failed run can be picked up.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { HANDLERS, type Handler } from '../definitions/handlers.js';
import { EtlError } from '../errors.js';
import { describeArtifact } from '../runner/lineage.js';
import { MASK, matchesMasked } from '../runner/logs.js';
import { referencedOutputs } from '../runner/outputs.js';
import type { Plan, PlannedStep, RunValues } from '../runner/plan.js';
import type { RunRecord, StepRecord, StepSummary } from '../runner/records.js';
import type { DoneBefore } from '../runner/fingerprint.js';
import { abandonedIfRunnerGone, findRun, type LedgerView, type RunRef, readRun, runsNewestFirst } from './history.js';
import { readStep } from './step-log.js';

/** Runs looked back at for a step's last execution (a skipped one points at the run that ran it). */
const LOOK_BACK = 500;

/**
 * For a run about to go: each step's last successful execution in the sequence's earlier runs,
 * as (index, name) -> its fingerprint and output. A step recorded as skipped stands for the run
 * it points at, whose record is read instead.
 */
export function lastDoneSteps(
  view: LedgerView,
  sequence: string,
  thisRun: string,
): (index: number, name: string) => DoneBefore | undefined {
  const runs: Array<{ ref: RunRef; run: RunRecord }> = [];
  const walk = runsNewestFirst(view, { sequence });
  const nth = (i: number) => {
    while (runs.length <= i && runs.length < LOOK_BACK) {
      const next = walk.next();
      if (next.done) return undefined;
      if (next.value.id === thisRun) continue;
      const run = readRun(next.value.root, next.value);
      if (run) runs.push({ ref: next.value, run });
    }
    return runs[i];
  };
  const done = (ref: RunRef, step: StepRecord | undefined): DoneBefore | undefined =>
    step?.status === 'succeeded' && step.fingerprint
      ? { run_id: ref.id, fingerprint: step.fingerprint, output: step.lineage?.output ?? null }
      : undefined;
  return (index, name) => {
    for (let i = 0; ; i++) {
      const entry = nth(i);
      if (!entry) return undefined;
      const step = stepOf(entry.ref, entry.run, index);
      if (!step || step.name !== name) continue;
      const ran = step.skipped_as ? stoodFor(view, step.skipped_as.run_id, index) : { ref: entry.ref, step };
      const found = ran?.step.name === name ? done(ran.ref, ran.step) : undefined;
      if (found) return found;
    }
  };
}

/** Where lastDoneSteps finds a step's last execution: the run its walk stops at, and the run that did the work. */
export interface LastDone {
  index: number;
  name: string;
  /** The newest run whose step `index` resolves to a success (it may have skipped it, standing for `done_by`). */
  found_in: string;
  /** The run whose record has the fingerprint and output compared with. */
  done_by: string;
}

/**
 * For retention: what lastDoneSteps would find for every step seen among the sequence's
 * LOOK_BACK newest runs, by the same walk (a pruned ledger must give the next run the same
 * answers). Keeping `found_in` and `done_by` keeps the walk's answer.
 */
export function lastDoneRuns(view: LedgerView, sequence: string): LastDone[] {
  const found = new Map<string, LastDone>();
  let looked = 0;
  for (const ref of runsNewestFirst(view, { sequence })) {
    const run = readRun(ref.root, ref);
    if (!run) continue;
    if (looked++ >= LOOK_BACK) break;
    for (const summary of run.steps) {
      const key = `${summary.index} ${summary.name}`;
      if (summary.role !== 'step' || found.has(key)) continue;
      const step = readStep(join(ref.root, ref.folder), summary.record);
      if (!step) continue;
      const ran = step.skipped_as ? stoodFor(view, step.skipped_as.run_id, step.index) : { ref, step };
      if (ran?.step.name === step.name && ran.step.status === 'succeeded' && ran.step.fingerprint)
        found.set(key, { index: step.index, name: step.name, found_in: ref.id, done_by: ran.ref.id });
    }
  }
  return [...found.values()];
}

/**
 * For retention: the run `--resume` could still pick up, the sequence's newest finished run
 * when it did not succeed (failed, cancelled, abandoned, succeeded_with_failures); undefined
 * when its newest finished run succeeded. Runs still going are passed over.
 */
export function resumableRun(view: LedgerView, sequence: string): RunRecord | undefined {
  for (const ref of runsNewestFirst(view, { sequence })) {
    const found = readRun(ref.root, ref);
    if (!found) continue;
    const run = abandonedIfRunnerGone(ref.root, found);
    if (run.status === 'running') continue;
    return run.status === 'succeeded' ? undefined : run;
  }
  return undefined;
}

function stepOf(ref: RunRef, run: RunRecord, index: number): StepRecord | undefined {
  const summary = run.steps.find((s) => s.role === 'step' && s.index === index);
  return summary && readStep(join(ref.root, ref.folder), summary.record);
}

/** The step a skipped one stands for: step `index` of run `id`, when the ledger holds it. */
function stoodFor(view: LedgerView, id: string, index: number): { ref: RunRef; step: StepRecord } | undefined {
  let ref: RunRef;
  try {
    ref = findRun(view, id);
  } catch {
    return undefined;
  }
  const run = readRun(ref.root, ref);
  const step = run && stepOf(ref, run, index);
  return step ? { ref, step } : undefined;
}

/** The run `etl run SEQUENCE --resume RUN` names, read (abandoned if its runner died: the run's start records it so). */
function resumedRun(view: LedgerView, sequence: string, spec: string): { ref: RunRef; run: RunRecord } {
  const ref = findRun(view, spec);
  const found = readRun(ref.root, ref);
  if (!found) throw new EtlError('unreadable-run', `run ${ref.id}: its run.json cannot be read`);
  const run = abandonedIfRunnerGone(ref.root, found);
  if (run.sequence !== sequence)
    throw new EtlError('usage', `run ${run.id} is a run of "${run.sequence}", not of "${sequence}"`);
  return { ref, run };
}

/** The params and tick a run ran with; a record from before ticks were kept: its trigger's, else its start. */
function valuesOf(run: RunRecord): { params: Record<string, string>; tick: Date } {
  const tick =
    run.tick ?? run.trigger.tick ?? new Date(Math.floor(Date.parse(run.started_at) / 1000) * 1000).toISOString();
  return { params: run.params ?? {}, tick: new Date(tick) };
}

/**
 * The params and tick a resume of RUN plans with: RUN's own, so that its later steps read and
 * write where its earlier ones did (\${params.region}, \${tick:%Y-%m-%d} in their paths).
 * Asking for others (--param, --tick) is refused; so is a param RUN had that the sequence no
 * longer declares (`declared`: the sequence's params now).
 */
export function resumedValues(
  view: LedgerView,
  sequence: string,
  spec: string,
  declared: Record<string, unknown>,
  asked: RunValues = {},
): Required<Pick<RunValues, 'params' | 'tick'>> {
  const { run } = resumedRun(view, sequence, spec);
  const { params, tick } = valuesOf(run);
  const why = 'a resume runs with the params and tick of the run it picks up';
  for (const [key, value] of Object.entries(asked.params ?? {}))
    if (key in params && !matchesMasked(params[key]!, value))
      throw new EtlError(
        'usage',
        `run ${run.id} ran with param ${key}=${params[key]}, not ${key}=${value}: ${why} (leave out --param ${key}, or run the sequence whole)`,
      );
  // A value recorded with a secret masked cannot be planned with: it is given again.
  for (const [key, value] of Object.entries(params))
    if (value.includes(MASK) && asked.params?.[key] === undefined)
      throw new EtlError(
        'usage',
        `run ${run.id} ran with param ${key}=${value}, recorded with a secret masked: give it again with --param ${key}=VALUE`,
      );
  if (asked.tick && asked.tick.getTime() !== tick.getTime())
    throw new EtlError(
      'usage',
      `run ${run.id} ran for tick ${tick.toISOString()}, not ${asked.tick.toISOString()}: ${why} (leave out --tick, or run the sequence whole)`,
    );
  for (const key of Object.keys(params))
    if (!(key in declared))
      throw new EtlError(
        'usage',
        `run ${run.id} ran with param ${key}=${params[key]}, which "${sequence}" no longer declares: run it whole, or with --from`,
      );
  return { params: { ...params, ...asked.params }, tick };
}

/**
 * The record of the step a skipped one stands for (`skipped_as`: unchanged, or resumed), through
 * a chain of such skips; undefined when the ledger no longer holds it.
 */
export function standIn(view: LedgerView, step: StepRecord): StepRecord | undefined {
  let current = step;
  for (let hops = 0; current.skipped_as && hops < 20; hops++) {
    const next = stoodFor(view, current.skipped_as.run_id, current.index)?.step;
    if (next?.name !== step.name) return undefined;
    current = next;
  }
  return current.skipped_as ? undefined : current;
}

export interface ResumePoint {
  run_id: string;
  /** The step the new run starts at (1-based). */
  from: number;
  name: string;
  /** Outputs of earlier steps that changed since (only with force: otherwise refused). */
  changed: string[];
  /**
   * A graph's steps that stand as RUN did them: every step but those that did not succeed and
   * what needs them (those run again). Undefined for a list: the steps before `from`.
   */
  done?: number[];
  /** What the steps that stand wrote to ETL_OUTPUTS (as RUN recorded it), by step name: the steps run again use it. */
  outputs: Record<string, Record<string, string>>;
}

/**
 * Where `etl run SEQUENCE --resume RUN` starts: RUN's failed (or cancelled, or abandoned)
 * step, once the outputs its earlier steps wrote are checked to have the hashes RUN recorded.
 * A changed or missing one refuses, naming it, unless `force`; so does a plan that no longer
 * has that step there (the definitions changed since RUN).
 */
export async function resumePoint(
  view: LedgerView,
  repo: string,
  plan: Pick<Plan, 'sequence' | 'steps' | 'params' | 'tick' | 'max_parallel'> &
    Partial<Pick<Plan, Handler | 'secrets'>>,
  spec: string,
  force = false,
): Promise<ResumePoint> {
  const { sequence } = plan;
  const { ref, run } = resumedRun(view, sequence, spec);
  // A plan for other params or another tick reads and writes other paths than RUN's earlier
  // steps did: what they left would be checked, and then not used.
  const values = valuesOf(run);
  const differ = Object.entries(values.params).find(
    ([key, value]) => plan.params[key] === undefined || !matchesMasked(value, plan.params[key]),
  );
  if (differ || Date.parse(plan.tick) !== values.tick.getTime())
    throw new EtlError(
      'usage',
      `run ${run.id} ran with ${differ ? `param ${differ[0]}=${differ[1]}` : `tick ${values.tick.toISOString()}`}, and the plan to resume it has ${differ ? `${differ[0]}=${plan.params[differ[0]] ?? '(not set)'}` : `tick ${plan.tick}`}: a resume runs with the run's own params and tick`,
    );
  // A run of this host still running has a live runner (abandonedIfRunnerGone saw to that); one of
  // another host may have died with its machine, which only a person can tell: --force.
  if (run.status === 'running' && (run.host === hostname() || !force))
    throw new EtlError(
      'usage',
      `run ${run.id} is still running (pid ${run.pid} on ${run.host}): nothing to resume yet${run.host === hostname() ? '' : ' (if that machine stopped without saying so, --force resumes it)'}`,
    );
  if (run.status === 'succeeded')
    // with failures (continue_on) it may be resumed: its failed steps run again
    throw new EtlError(
      'usage',
      `run ${run.id} succeeded: there is nothing to resume (etl run ${sequence} runs it again)`,
    );
  const steps = run.steps.filter((s) => s.role === 'step');
  const stopped = steps.find((s) => s.status !== 'succeeded' && s.status !== 'skipped');
  if (!stopped)
    throw new EtlError(
      'usage',
      `run ${run.id} ${run.status}, yet none of its steps failed or stopped: nothing to resume`,
    );
  const done = plan.max_parallel === undefined ? undefined : graphDone(plan.steps, steps);
  const isDone = (index: number) => (done ? done.has(index) : index < stopped.index);
  for (const summary of steps.filter((s) => s.index === stopped.index || isDone(s.index))) {
    const now = plan.steps[summary.index - 1];
    if (now?.name !== summary.name)
      throw new EtlError(
        'usage',
        `run ${run.id} ${summary === stopped ? 'stopped at' : 'did'} step ${summary.index} (${summary.name}), and ${sequence} ${now ? `now has "${now.name}" there` : `now has ${plan.steps.length} steps`}: run it whole, or with --from`,
      );
  }
  const changed: string[] = [];
  const outputs: Record<string, Record<string, string>> = {};
  for (const summary of steps) {
    if (!isDone(summary.index)) continue;
    let step = readStep(join(ref.root, ref.folder), summary.record);
    // A step RUN itself skipped as done elsewhere: that run's record has what it wrote.
    if (step?.skipped_as) step = stoodFor(view, step.skipped_as.run_id, summary.index)?.step ?? step;
    if (step?.status === 'succeeded' && step.outputs) outputs[summary.name] = step.outputs;
    const output = step?.lineage?.output;
    if (!output?.sha256) continue;
    const current = await describeArtifact(output.path, output.path, repo);
    if (current?.sha256 === output.sha256) continue;
    changed.push(
      `${output.path}, written by step ${summary.index} (${summary.name}), ${current?.kind === 'missing' ? 'is missing' : `has changed (sha256 ${output.sha256.slice(0, 12)} then, ${current?.sha256?.slice(0, 12) ?? current?.kind} now)`}`,
    );
  }
  if (changed.length > 0 && !force)
    throw new EtlError(
      'resume-changed',
      `cannot resume run ${run.id} at step ${stopped.index} (${stopped.name}): ${changed.join('; ')}. Run the sequence whole, or --force to resume anyway`,
    );
  refuseMaskedOutputs(run.id, plan, isDone, outputs);
  return {
    run_id: run.id,
    from: stopped.index,
    name: stopped.name,
    changed,
    ...(done ? { done: [...done].sort((a, b) => a - b) } : {}),
    outputs,
  };
}

/**
 * A record masks the secrets in what a step wrote: a step run again cannot be given such a
 * value from it, and must not be given the mask instead.
 */
function refuseMaskedOutputs(
  runId: string,
  plan: Pick<Plan, 'steps'> & Partial<Pick<Plan, Handler | 'secrets'>>,
  isDone: (index: number) => boolean,
  outputs: Record<string, Record<string, string>>,
): void {
  if (!plan.secrets?.length) return; // without secrets, nothing was masked: *** is what it wrote
  const again = [
    ...plan.steps.filter((step) => !isDone(step.index)),
    ...HANDLERS.flatMap((handler) => plan[handler] ?? []),
  ];
  for (const step of again)
    for (const used of referencedOutputs(step))
      if (outputs[used.step]?.[used.key]?.includes(MASK))
        throw new EtlError(
          'usage',
          `cannot resume run ${runId}: step ${step.index} (${step.name}) uses \${steps.${used.step}.outputs.${used.key}}, whose value run ${runId} recorded masked (it held a secret); run the sequence whole, or --from ${used.step}`,
        );
}

/**
 * In a graph, what a resume need not run again: the steps RUN did (succeeded, or skipped),
 * unless one of the steps they need, directly or not, is run again.
 */
function graphDone(planned: Pick<PlannedStep, 'index' | 'needs'>[], steps: StepSummary[]): Set<number> {
  const redo = new Set(
    planned
      .filter((step) => {
        const status = steps.find((s) => s.index === step.index)?.status;
        return status !== 'succeeded' && status !== 'skipped';
      })
      .map((step) => step.index),
  );
  // A step after everything it needs (a graph's indexes need not be in that order): until nothing changes.
  for (let grew = true; grew; ) {
    grew = false;
    for (const step of planned)
      if (!redo.has(step.index) && (step.needs ?? []).some((need) => redo.has(need))) {
        redo.add(step.index);
        grew = true;
      }
  }
  return new Set(planned.map((step) => step.index).filter((index) => !redo.has(index)));
}
