// The events of a run as it goes: a RunObserver that builds each event from the records the
// engine reports (events.ts, as `etl lineage --openlineage` does from the ledger) and hands it
// to `send` at once. It never waits: a slow lineage server does not hold the run.
import type { RunObserver } from '../runner/engine.js';
import type { RunRecord, StepRecord } from '../runner/records.js';
import { stepPosition } from '../runner/labels.js';
import { type EventContext, eventsOfStep, type OpenLineageEvent, runEndEvent, runStartEvent } from './events.js';

export function openLineageObserver(
  send: (event: OpenLineageEvent) => void,
  context: EventContext,
): Pick<RunObserver, 'runStarted' | 'stepStarted' | 'stepFinished' | 'runFinished'> {
  // Each step's record as last reported (the run's end event names the failed step's program),
  // and the steps whose START was sent.
  const steps = new Map<string, StepRecord>();
  const started = new Set<string>();
  const stepEvents = (run: RunRecord, step: StepRecord) => {
    const key = stepPosition(step);
    steps.set(key, step);
    const events = eventsOfStep(run, step, context);
    // A step that failed before it could start (a condition that could not be checked) has
    // its START sent with its end.
    if (started.has(key)) events.shift();
    else if (events.length > 0) started.add(key);
    for (const event of events) send(event);
  };
  return {
    runStarted: (run) => send(runStartEvent(run, context)),
    stepStarted: stepEvents,
    stepFinished: stepEvents,
    runFinished: (run) => {
      const end = runEndEvent(run, [...steps.values()], context);
      if (end) send(end);
    },
  };
}
