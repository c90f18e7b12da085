// Timers that any layer may use. Node's setTimeout takes at most 2^31-1 ms (24.8 days): a
// longer delay fires after 1 ms with only a TimeoutOverflowWarning, so "timeout": "30d" would
// stop a module at once. Long delays are chained here instead.

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Calls `fn` once after `ms` (any length); the returned function cancels it. */
export function after(ms: number, fn: () => void): () => void {
  const due = Date.now() + Math.max(0, ms);
  let timer: NodeJS.Timeout;
  const arm = () => {
    const left = due - Date.now();
    timer = left > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(fn, Math.max(0, left));
  };
  arm();
  return () => clearTimeout(timer);
}

/** Resolves true after `ms`, or false as soon as the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = () => {
      cancel();
      resolve(false);
    };
    const cancel = after(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
