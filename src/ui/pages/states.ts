// A run's states as the pages name them, from the one list of statuses (runner/statuses.ts).
import type { RunStatus } from '../../runner/records.js';
import { RUN_STATUSES } from '../../runner/statuses.js';

/** Every status a run can have: the sequence page's filter offers them. */
export const STATUSES: readonly RunStatus[] = RUN_STATUSES;

/**
 * A run's states as the overview counts them and the board sorts them, in the same words: an
 * abandoned run (its runner died) failed; a cancelled one was stopped, and is neither.
 */
export const RUN_STATES: ReadonlyArray<readonly [string, readonly RunStatus[]]> = [
  ['running', ['running']],
  ['failed', ['failed', 'abandoned']],
  ['cancelled', ['cancelled']],
  ['succeeded', ['succeeded', 'succeeded_with_failures']],
];
