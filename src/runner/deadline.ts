// How long an attempt may run: its step's own timeout, or less when a deadline (the
// sequence's, or the error handler's) comes first. Pure: the clock is an argument.
import { formatDuration } from '../definitions/duration.js';
import type { Plan } from './plan.js';

export interface Deadline {
  /** Milliseconds since the epoch. */
  at: number;
  /** What it is, for messages: "the sequence timeout (2s)". */
  what: string;
}

/** The sequence timeout bounds the steps, from the start of the run. */
export function sequenceDeadline(plan: Pick<Plan, 'timeout_ms'>, startedMs: number): Deadline | undefined {
  if (plan.timeout_ms === undefined) return undefined;
  return { at: startedMs + plan.timeout_ms, what: `the sequence timeout (${formatDuration(plan.timeout_ms)})` };
}

/** The error handler has a bound of its own, from when it starts. */
export function handlerDeadline(plan: Pick<Plan, 'on_failure_timeout_ms'>, nowMs: number): Deadline | undefined {
  if (plan.on_failure_timeout_ms === undefined) return undefined;
  return {
    at: nowMs + plan.on_failure_timeout_ms,
    what: `the on_failure timeout (${formatDuration(plan.on_failure_timeout_ms)})`,
  };
}

export type AttemptBound =
  | { expired: true }
  | {
      expired: false;
      /** The attempt's timeout, or undefined for none. */
      timeoutMs?: number;
      /** Whether it is the deadline, not the step's own timeout, that bounds it. */
      byDeadline: boolean;
    };

/** The bound of the next attempt: the step's timeout, or what is left before the deadline if that is sooner. */
export function attemptBound(
  deadline: Deadline | undefined,
  stepTimeoutMs: number | undefined,
  nowMs: number,
): AttemptBound {
  if (deadline === undefined) return { expired: false, timeoutMs: stepTimeoutMs, byDeadline: false };
  const remaining = deadline.at - nowMs;
  if (remaining <= 0) return { expired: true };
  const byDeadline = stepTimeoutMs === undefined || remaining < stepTimeoutMs;
  return { expired: false, timeoutMs: byDeadline ? remaining : stepTimeoutMs, byDeadline };
}
