// OpenLineage for one run: the observer that makes its events and the transport that sends
// them, wired together. etl run uses it; a library user may too (runSequence's observer).
import type { RunObserver } from '../runner/engine.js';
import type { OpenLineageTarget } from './config.js';
import type { EventContext } from './events.js';
import { openLineageObserver } from './observer.js';
import { LineageTransport } from './transport.js';

export interface OpenLineageEmission {
  observer: Partial<RunObserver>;
  /** Resolves once every event is delivered or given up on, with what went wrong, a line per target. */
  finish(): Promise<string[]>;
}

export function startOpenLineage(target: OpenLineageTarget, context: EventContext): OpenLineageEmission {
  const transport = new LineageTransport(target);
  return {
    observer: openLineageObserver((event) => transport.send(event), context),
    finish: () => transport.finish(),
  };
}
