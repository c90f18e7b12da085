// How long an attempt may run: its step's own timeout, or less when a deadline (the
// sequence's, or the error handler's) comes first (pure: the clock is an argument); and a
// signal that stops hashing a step's files when its time runs out, as a stop does.
import { formatDuration } from '../definitions/duration.js';
import type { Handler } from '../definitions/handlers.js';
import { after } from '../timers.js';
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

/** Each handler has a bound of its own, from when it starts. */
export function handlerDeadline(
  plan: Pick<Plan, 'handler_timeout_ms'>,
  handler: Handler,
  nowMs: number,
): Deadline | undefined {
  const timeout = plan.handler_timeout_ms[handler];
  if (timeout === undefined) return undefined;
  return { at: nowMs + timeout, what: `the ${handler} timeout (${formatDuration(timeout)})` };
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

/** A step's own timeout as a deadline from `fromMs`, or the run's deadline when that comes first. */
export function stepDeadline(
  deadline: Deadline | undefined,
  stepTimeoutMs: number | undefined,
  fromMs: number,
): Deadline | undefined {
  if (stepTimeoutMs === undefined) return deadline;
  const own = { at: fromMs + stepTimeoutMs, what: `the step's timeout (${formatDuration(stepTimeoutMs)})` };
  return deadline && deadline.at <= own.at ? deadline : own;
}

/** The reason a signal of boundedSignal() gives when its deadline, not a stop, aborted it. */
export class RanOut extends Error {
  constructor(readonly deadline: Deadline) {
    super(`${deadline.what} ran out`);
    this.name = 'RanOut';
  }
}

/**
 * A signal that aborts when `stop` does, or when `deadline` comes (its reason then a RanOut):
 * what hashes a step's files stops at either. dispose() ends its timer.
 */
export function boundedSignal(
  deadline: Deadline | undefined,
  stop: AbortSignal | undefined,
  nowMs: number,
): { signal: AbortSignal | undefined; dispose(): void } {
  if (deadline === undefined) return { signal: stop, dispose: () => {} };
  const controller = new AbortController();
  const onStop = () => controller.abort(stop?.reason);
  if (stop?.aborted) onStop();
  else stop?.addEventListener('abort', onStop, { once: true });
  const cancel = after(deadline.at - nowMs, () => controller.abort(new RanOut(deadline)));
  return {
    signal: controller.signal,
    dispose: () => {
      cancel();
      stop?.removeEventListener('abort', onStop);
    },
  };
}
