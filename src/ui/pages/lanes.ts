// A graph run's timeline: its steps as bars in lanes, steps that overlap in time in lanes of
// their own, so the steps that ran together are seen side by side. A list run keeps its
// timeline in the steps' table, a bar per row.
import { duration } from './format.js';
import { html } from './preact.js';

/** A bar of the timeline: from and to in ms since the run started. */
export interface Span {
  key: string;
  label: string;
  status: string;
  from: number;
  to: number;
}

/**
 * Each span's lane: the first whose last bar ended by the time it starts (a span that starts
 * as another ends shares its lane). As many lanes as steps ran at once, at most.
 */
export function assignLanes(spans: readonly Span[]): number[] {
  const ends: number[] = [];
  const lanes = new Array<number>(spans.length);
  const order = spans.map((_, i) => i).sort((a, b) => spans[a]!.from - spans[b]!.from || a - b);
  for (const i of order) {
    const span = spans[i]!;
    let lane = ends.findIndex((end) => end <= span.from);
    if (lane === -1) lane = ends.push(0) - 1;
    ends[lane] = Math.max(span.to, span.from);
    lanes[i] = lane;
  }
  return lanes;
}

/** The timeline of a graph run: a lane per row, a bar per step that started, each linking to its step. */
export function Lanes({
  spans,
  span,
  maxParallel,
  onPick,
}: {
  spans: readonly Span[];
  span: number;
  maxParallel: number | undefined;
  onPick: (key: string) => void;
}) {
  const lanes = assignLanes(spans);
  const count = Math.max(0, ...lanes.map((lane) => lane + 1));
  if (count === 0) return '';
  return html`<section class="lanes" aria-label="timeline">
    <p class="muted lanes-head">timeline: ${count === 1 ? 'one step at a time' : `up to ${count} steps at once`}${maxParallel ? ` (max_parallel ${maxParallel})` : ''}</p>
    ${Array.from(
      { length: count },
      (_, lane) =>
        html`<div class="gantt lane" data-lane=${lane}>${spans.map((s, i) =>
          lanes[i] === lane
            ? html`<a class=${`bar s-${s.status}`} data-step=${s.key} href=${`#step-${s.key}`} onClick=${() => onPick(s.key)}
              title=${`${s.label}: ${s.status.replace('_', ' ')} ${duration(s.to - s.from)}`}
              aria-label=${`${s.label}: ${s.status.replace('_', ' ')}`}
              style=${{ left: `${(100 * s.from) / span}%`, width: `${Math.max(0.5, (100 * (s.to - s.from)) / span)}%` }}></a>`
            : '',
        )}</div>`,
    )}
  </section>`;
}
