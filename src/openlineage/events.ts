// A run's OpenLineage RunEvents, built from its records: the sequence is a job
// ("SEQUENCE"), each step a job of its own ("SEQUENCE.STEP"), with the parent facet naming
// the sequence's run. The same functions make the events sent while the run goes on
// (observer.ts) and those `etl lineage --openlineage RUN` prints from the ledger, so the two agree.
import { basename } from 'node:path';
import { describeEnding, failedStep } from '../runner/labels.js';
import type { RunRecord, StepRecord } from '../runner/records.js';
import { describeFailure } from '../runner/step-records.js';
import { type InputDataset, type OutputDataset, stepDatasets } from './datasets.js';
import type { EtlLedgerMetricsRunFacet } from './facets.js';
import { FACET_SCHEMAS, facet, OWN_FACET_SCHEMAS, PRODUCER, RUN_EVENT_SCHEMA } from './spec.js';
import { runUuid, stepUuid } from './uuid.js';

export type EventType = 'START' | 'COMPLETE' | 'FAIL' | 'ABORT';
type Facets = Record<string, { _producer: string; _schemaURL: string }>;

export interface OpenLineageEvent {
  eventType: EventType;
  eventTime: string;
  run: { runId: string; facets: Facets };
  job: { namespace: string; name: string; facets: Facets };
  inputs: InputDataset[];
  outputs: OutputDataset[];
  producer: string;
  schemaURL: string;
}

export interface EventContext {
  /** The jobs' namespace: the repository (jobNamespace). */
  namespace: string;
  /** Where the steps ran (the repository's root): a relative path is a file under it. */
  root: string;
}

/** How a run ended, as OpenLineage says it; a running run has not ended. */
const RUN_ENDS: Record<RunRecord['status'], EventType | undefined> = {
  running: undefined,
  succeeded: 'COMPLETE',
  // It went on past a step with continue_on, as its definition said: done.
  succeeded_with_failures: 'COMPLETE',
  failed: 'FAIL',
  cancelled: 'ABORT',
  // Its runner died: the run did not do what it was for.
  abandoned: 'FAIL',
};

/** The same for a step; a pending or skipped step never ran, and has no events. */
const STEP_ENDS: Record<StepRecord['status'], EventType | undefined> = {
  pending: undefined,
  running: undefined,
  skipped: undefined,
  succeeded: 'COMPLETE',
  failed: 'FAIL',
  timed_out: 'FAIL',
  cancelled: 'ABORT',
};

/** Every event of a run so far, in time order (the run's START first, its end last). */
export function runEvents(run: RunRecord, steps: StepRecord[], context: EventContext): OpenLineageEvent[] {
  const stepEvents = steps.flatMap((step) => eventsOfStep(run, step, context));
  // Stable: a step's START stays before its end when both have the same time.
  stepEvents.sort((a, b) => Date.parse(a.eventTime) - Date.parse(b.eventTime));
  const end = runEndEvent(run, steps, context);
  return [runStartEvent(run, context), ...stepEvents, ...(end ? [end] : [])];
}

/** The sequence's run started. */
export function runStartEvent(run: RunRecord, context: EventContext): OpenLineageEvent {
  const tick = run.trigger.tick;
  return event('START', run.started_at, sequenceJob(run, context), {
    runId: runUuid(run.id),
    facets: {
      ...callerFacet(run, context),
      processing_engine: facet(FACET_SCHEMAS.processing_engine, { name: 'etl-ledger', version: run.runner_version }),
      // The schedule tick the run is for: its nominal time.
      ...(tick ? { nominalTime: facet(FACET_SCHEMAS.nominalTime, { nominalStartTime: tick }) } : {}),
    },
  });
}

/** The sequence's run ended (undefined while it runs); a failed one says why. */
export function runEndEvent(run: RunRecord, steps: StepRecord[], context: EventContext): OpenLineageEvent | undefined {
  const type = RUN_ENDS[run.status];
  if (!type || run.finished_at === null) return undefined;
  const failed = failedStep(run);
  const failedRecord = failed && steps.find((s) => s.role === failed.role && s.index === failed.index);
  const facets: Facets = callerFacet(run, context);
  if (type !== 'COMPLETE' && run.error) facets.errorMessage = errorFacet(run.error, failedRecord?.argv ?? []);
  return event(type, run.finished_at, sequenceJob(run, context), { runId: runUuid(run.id), facets });
}

/** A step's events: START once it started, and its end once it ended (none for a skipped step). */
export function eventsOfStep(run: RunRecord, step: StepRecord, context: EventContext): OpenLineageEvent[] {
  if (step.status === 'pending' || step.status === 'skipped') return [];
  const started = step.started_at ?? step.finished_at;
  if (started === null) return [];
  const job = stepJob(run, step, context);
  const parent = { parent: parentFacet(run, context) };
  const start = event(
    'START',
    started,
    job,
    { runId: stepUuid(run.id, step), facets: parent },
    stepDatasets(step, context.root, false),
  );
  const type = STEP_ENDS[step.status];
  if (!type || step.finished_at === null) return [start];
  const facets: Facets = { ...parent };
  if (step.metrics && Object.keys(step.metrics).length > 0) {
    const metrics: EtlLedgerMetricsRunFacet = facet(OWN_FACET_SCHEMAS.etlLedger_metrics, { metrics: step.metrics });
    facets.etlLedger_metrics = metrics;
  }
  if (type !== 'COMPLETE') facets.errorMessage = errorFacet(stepError(step), step.argv);
  const end = event(
    type,
    step.finished_at,
    job,
    { runId: stepUuid(run.id, step), facets },
    stepDatasets(step, context.root, true),
  );
  return [start, end];
}

function event(
  eventType: EventType,
  eventTime: string,
  job: OpenLineageEvent['job'],
  run: OpenLineageEvent['run'],
  datasets: Pick<OpenLineageEvent, 'inputs' | 'outputs'> = { inputs: [], outputs: [] },
): OpenLineageEvent {
  return { eventType, eventTime, run, job, ...datasets, producer: PRODUCER, schemaURL: RUN_EVENT_SCHEMA };
}

function sequenceJob(run: RunRecord, { namespace }: EventContext): OpenLineageEvent['job'] {
  return { namespace, name: run.sequence, facets: { jobType: jobTypeFacet('SEQUENCE') } };
}

/** "SEQUENCE.STEP"; a handler's step "SEQUENCE.on_failure.STEP" (its name may be a main step's too). */
function stepJob(run: RunRecord, step: StepRecord, { namespace }: EventContext): OpenLineageEvent['job'] {
  const name = step.role === 'step' ? `${run.sequence}.${step.name}` : `${run.sequence}.${step.role}.${step.name}`;
  return { namespace, name, facets: { jobType: jobTypeFacet('STEP') } };
}

function jobTypeFacet(jobType: 'SEQUENCE' | 'STEP') {
  return facet(FACET_SCHEMAS.jobType, { processingType: 'BATCH', integration: 'ETL_LEDGER', jobType });
}

/**
 * A step's run belongs to its sequence's run, which is also the root of the tree unless a call
 * step started it (then the root is further up, and left out).
 */
function parentFacet(run: RunRecord, { namespace }: EventContext) {
  const parent = { run: { runId: runUuid(run.id) }, job: { namespace, name: run.sequence } };
  return facet(FACET_SCHEMAS.parent, run.parent_run ? parent : { ...parent, root: parent });
}

/** A run started by another run's step (a call step): that step's run is its parent. */
function callerFacet(run: RunRecord, { namespace }: EventContext): Facets {
  const caller = run.parent_run;
  if (!caller) return {};
  // The parent run's step is named by its index only: taken for a main step (a call step in a
  // handler is named as if it were one).
  const runId = stepUuid(caller.run_id, { role: 'step', index: caller.step });
  const job = { namespace, name: `${caller.sequence}.${caller.step_name}` };
  return { parent: facet(FACET_SCHEMAS.parent, { run: { runId }, job }) };
}

function stepError(step: StepRecord): string {
  if (step.status !== 'cancelled') return describeFailure(step);
  const what = `${step.role === 'step' ? '' : `${step.role} `}step ${step.index} (${step.name})`;
  return `${what} was cancelled: it ${describeEnding(step.attempts.at(-1))}`;
}

function errorFacet(message: string, argv: string[]) {
  return facet(FACET_SCHEMAS.errorMessage, { message, programmingLanguage: languageOf(argv) });
}

/** The errorMessage facet must name a language: guessed from the step's program, else UNKNOWN. */
const LANGUAGES: Array<[RegExp, string]> = [
  [/^python[\d.]*$|\.py$/, 'PYTHON'],
  [/^(node|bun|deno)$|\.[cm]?js$/, 'JAVASCRIPT'],
  [/\.ts$/, 'TYPESCRIPT'],
  [/^(sh|bash|dash|zsh|ksh)$|\.sh$/, 'SHELL'],
  [/^Rscript$|\.R$/, 'R'],
  [/^ruby$|\.rb$/, 'RUBY'],
  [/^java$|\.jar$/, 'JAVA'],
];

function languageOf(argv: string[]): string {
  const program = basename(argv[0] ?? '');
  return LANGUAGES.find(([pattern]) => pattern.test(program))?.[1] ?? 'UNKNOWN';
}
