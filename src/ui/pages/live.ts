// Pages that follow the ledger: loaded again when the server says a run changed.
import type { RunChanged } from '../api-types.js';
import { useEffect, useState } from './preact.js';
import { STATIC } from './urls.js';

/** A failure's words, as a page shows them. */
export const errorText = (error: unknown): string => String((error as { message?: unknown } | null)?.message ?? error);

/**
 * Calls `load` now, when `inputs` change, and when the server says a run changed (a burst of
 * events, one call). A static report has no server: it loads once.
 */
export function useLive(
  load: () => unknown,
  accept: (change: RunChanged) => boolean = () => true,
  inputs: readonly unknown[] = [],
): void {
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    load();
    if (STATIC) return undefined;
    const events = new EventSource('/api/events');
    const soon = (event: Event) => {
      if (event.type === 'run' && !accept(JSON.parse((event as MessageEvent<string>).data))) return;
      clearTimeout(timer);
      timer = setTimeout(load, 150);
    };
    events.addEventListener('run', soon);
    events.addEventListener('resync', soon);
    return () => {
      clearTimeout(timer);
      events.close();
    };
  }, inputs);
}

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  /** How many answers came: a part of the page that reads more follows it. */
  version: number;
}

/** useLive for one loader: its last answer, or its error. */
export function useLoaded<T>(
  load: () => Promise<T>,
  accept?: (change: RunChanged) => boolean,
  inputs?: readonly unknown[],
): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ data: null, error: null, version: 0 });
  useLive(
    async () => {
      try {
        const data = await load();
        setState((s) => ({ data, error: null, version: s.version + 1 }));
      } catch (error) {
        setState((s) => ({ ...s, error: errorText(error) }));
      }
    },
    accept,
    inputs,
  );
  return state;
}
