// How the pages write times, durations, statuses and lists of facts.
import { formatDuration } from '../../definitions/duration.js';
import type { Loaded } from './live.js';
import { html, type Rendered } from './preact.js';

export const when = (iso: string | null | undefined): Rendered => {
  if (!iso) return '';
  const at = new Date(iso);
  return html`<time datetime=${iso} title=${`${at.toISOString().replace('T', ' ').slice(0, 19)} UTC`}>${at.toLocaleString()}</time>`;
};

/** As the CLI writes it (etl show, etl history): the same function, built from one source. */
export const duration = (ms: number | null | undefined): string =>
  ms === null || ms === undefined ? '' : formatDuration(ms);

/** The parts that have something to say, with " · " between them (an empty one leaves no "· ·"). */
export const joined = (parts: readonly unknown[]): unknown[] =>
  parts
    .filter((part) => part !== '' && part !== null && part !== undefined && part !== false)
    .flatMap((part, i) => (i ? [' · ', part] : [part]));

export const Status = ({ status }: { status: string }) =>
  html`<span class=${`status s-${status}`}>${status.replace('_', ' ')}</span>`;

export const Loading = ({ state, what }: { state: Loaded<unknown>; what: string }) =>
  state.error
    ? html`<p role="alert" class="error">Cannot read ${what}: ${state.error}</p>`
    : html`<p class="muted">Loading…</p>`;
