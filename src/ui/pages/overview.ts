// The overview: every sequence with its schedule, last run and recent runs; today's counts;
// the runs in progress; the scheduler.
import type { SequenceEntry } from '../api-types.js';
import { RunNow } from './actions.js';
import { duration, Loading, Status, when } from './format.js';
import { useLoaded } from './live.js';
import { Scheduler } from './scheduler.js';
import { source } from './source.js';
import { RUN_STATES } from './states.js';
import { page } from './urls.js';
import { html } from './preact.js';

/** Recent runs, oldest on the left, each as tall as its duration is long among them. */
function Strip({ runs }: { runs: SequenceEntry['recent'] }) {
  const longest = Math.max(1, ...runs.map((r) => r.duration_ms ?? 0));
  return html`<div class="strip">${[...runs].reverse().map(
    (r) =>
      html`<a class=${`s-${r.status}`} href=${page(`runs/${r.id}`)} aria-label=${`${r.status} run of ${r.started_at}`} title=${`${r.status} ${duration(r.duration_ms)} ${r.started_at}`}
        style=${{ height: `${4 + Math.round(18 * ((r.duration_ms ?? 0) / longest))}px` }}></a>`,
  )}</div>`;
}

type Freshness = NonNullable<Extract<SequenceEntry, { file: string }>['freshness']>;

/** Its `freshness`: stale (no success ended within it) is said aloud, fresh quietly. */
function FreshnessNote({ freshness: f }: { freshness: Freshness }) {
  const last = f.last_success_at ? html`the last ended ${when(f.last_success_at)}` : 'it never succeeded';
  return f.stale
    ? html`<div class="stale" data-freshness="stale"><b>stale</b>: no success within ${f.freshness}; ${last}</div>`
    : html`<div class="muted" data-freshness="fresh">fresh: a success within ${f.freshness}</div>`;
}

export function Overview() {
  const state = useLoaded(async () => {
    const midnight = new Date();
    midnight.setUTCHours(0, 0, 0, 0);
    const [{ sequences }, today, scheduler] = await Promise.all([
      source.sequences(),
      source.runs({ since: midnight.toISOString(), limit: 500 }),
      source.schedule().catch(() => null),
    ]);
    return { sequences, today, scheduler };
  });
  if (!state.data) return html`<${Loading} state=${state} what="the ledger" />`;
  const { sequences, today, scheduler } = state.data;
  // One run of a sequence at a time: a running run is its last.
  const running = sequences.flatMap((s) => (s.last?.status === 'running' ? [s.last] : []));
  const count = (statuses: readonly string[]) => today.runs.filter((r) => statuses.includes(r.status)).length;
  const more = today.next ? '+' : '';
  return html`
    <h1>Sequences</h1>
    <ul class="counts" aria-label="runs today (UTC)">
      <li><b data-count="running">${running.length}</b> running</li>
      ${RUN_STATES.filter(([state]) => state !== 'running').map(
        ([state, statuses]) => html`<li><b data-count=${state}>${count(statuses)}${more}</b> ${state} today</li>`,
      )}
    </ul>
    ${
      running.length
        ? html`<section aria-label="in progress"><h2>In progress</h2><ul class="running">${running.map(
            (r) =>
              html`<li><a href=${page(`runs/${r.id}`)}>${r.sequence}</a> <${Status} status="running" /> since ${when(r.started_at)}${' · '}<span class="muted">${r.steps.filter((s) => s.status === 'succeeded').length} of ${r.steps.filter((s) => s.role === 'step').length} steps done</span></li>`,
          )}</ul></section>`
        : ''
    }
    ${scheduler ? html`<${Scheduler} scheduler=${scheduler} />` : ''}
    <table>
      <thead><tr><th>sequence</th><th class="hide-narrow">schedule</th><th>last run</th><th class="hide-narrow">success</th><th>recent</th></tr></thead>
      <tbody>${sequences.map((s) => {
        const defined = 'defined' in s ? undefined : s;
        return html`<tr data-sequence=${s.name}>
          <td><a class="name" href=${page(`sequences/${s.name}`)}>${s.name}</a>${defined?.description ? html`<div class="description">${defined.description}</div>` : ''}<${RunNow} sequence=${s.name} /></td>
          <td class="hide-narrow">${defined?.schedule ? html`<code>${defined.schedule}</code> <span class="muted">${defined.timezone}</span><div class="muted">next ${when(defined.next_run)}</div>` : html`<span class="muted">manual</span>`}</td>
          <td>${s.last ? html`<${Status} status=${s.last.status} /> ${when(s.last.started_at)} <span class="muted">${duration(s.last.duration_ms)}</span>` : html`<span class="muted">never run</span>`}${defined?.freshness ? html`<${FreshnessNote} freshness=${defined.freshness} />` : ''}</td>
          <td class="hide-narrow">${s.success_rate === null ? '' : `${Math.round(s.success_rate * 100)}%`}</td>
          <td><${Strip} runs=${s.recent} /></td>
        </tr>`;
      })}</tbody>
    </table>`;
}
