// A sequence's page: its runs as a grid of runs by steps, filtered and paged, and its charts.
import type { RunRecord } from '../../runner/records.js';
import { Durations } from './charts.js';
import { duration, Status, when } from './format.js';
import { type GraphStep, StepGraph } from './graph.js';
import { errorText, useLive, useLoaded } from './live.js';
import { Metrics } from './metrics.js';
import { type RunsQuery, source } from './source.js';
import { STATUSES } from './states.js';
import { page } from './urls.js';
import { html, useState } from './preact.js';

interface Filter {
  status: string;
  since: string;
  until: string;
}

interface Pages {
  runs: RunRecord[];
  next: string | null;
  loaded: boolean;
  error: string | null;
}

/**
 * A sequence's runs, newest first, a page at a time (the API's cursor), filtered by status
 * and date, as a grid of runs by steps coloured by each step's status (which step breaks,
 * and since when), and a chart of the steps' durations.
 */
export function Sequence({ name }: { name: string }) {
  const [filter, setFilter] = useState<Filter>({ status: '', since: '', until: '' });
  const [pages, setPages] = useState<Pages>({ runs: [], next: null, loaded: false, error: null });
  const query = (before?: string): RunsQuery => ({
    sequence: name,
    status: filter.status,
    // Dates are days in UTC; the end day is included.
    since: filter.since ? `${filter.since}T00:00:00Z` : '',
    until: filter.until ? new Date(Date.parse(`${filter.until}T00:00:00Z`) + 86_400_000).toISOString() : '',
    before,
    limit: 50,
  });
  useLive(
    async () => {
      try {
        const first = await source.runs(query());
        setPages({ runs: first.runs, next: first.next, loaded: true, error: null });
      } catch (error) {
        setPages((p) => ({ ...p, error: errorText(error) }));
      }
    },
    (change) => change.sequence === name,
    [filter.status, filter.since, filter.until],
  );
  const older = async () => {
    const next = await source.runs(query(pages.next ?? undefined));
    setPages((p) => ({ ...p, runs: [...p.runs, ...next.runs], next: next.next }));
  };
  const set = (key: keyof Filter) => (event: Event) =>
    setFilter((f) => ({ ...f, [key]: (event.target as HTMLInputElement | HTMLSelectElement).value }));
  // The steps of the newest run head the columns; older runs' extra steps are left out.
  const columns = (pages.runs[0]?.steps ?? []).filter((s) => s.role === 'step');
  return html`
    <p><a href=${page('')}>← sequences</a></p>
    <h1>${name}</h1>
    <form class="filters" onSubmit=${(e: Event) => e.preventDefault()}>
      <label>status <select name="status" onChange=${set('status')} value=${filter.status}>
        <option value="">any</option>${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
      </select></label>
      <label>from <input type="date" name="since" value=${filter.since} onChange=${set('since')} /></label>
      <label>to <input type="date" name="until" value=${filter.until} onChange=${set('until')} /></label>
      <span class="muted">days in UTC</span>
    </form>
    ${pages.error ? html`<p role="alert" class="error">${pages.error}</p>` : ''}
    ${pages.loaded && pages.runs.length === 0 ? html`<p class="muted">No runs.</p>` : ''}
    ${pages.runs[0]?.max_parallel !== undefined ? html`<${NewestGraph} run=${pages.runs[0]} />` : html`<${DefinedGraph} name=${name} />`}
    ${pages.runs.length > 0 ? html`<${Durations} runs=${pages.runs} columns=${columns} />` : ''}
    <${Metrics} name=${name} />
    <div class="scroll"><table class="grid">
      <thead><tr><th>run</th><th>status</th><th class="hide-narrow">duration</th>${columns.map((c) => html`<th title=${c.name}><span>${c.index}. ${c.name}</span></th>`)}</tr></thead>
      <tbody>${pages.runs.map(
        (run) => html`<tr data-run=${run.id}>
          <td><a href=${page(`runs/${run.id}`)}>${when(run.started_at)}</a>${run.trigger.tick ? html` <span class="muted tick">for the tick of ${when(run.trigger.tick)}</span>` : ''}</td>
          <td><${Status} status=${run.status} /></td>
          <td class="hide-narrow">${duration(run.duration_ms)}</td>
          ${columns.map((c) => {
            const step = run.steps.find((s) => s.role === 'step' && s.index === c.index);
            return html`<td><span class=${`cell s-${step?.status ?? 'none'}`} title=${step ? `${step.name}: ${step.status} ${duration(step.duration_ms)}` : ''}></span></td>`;
          })}
        </tr>`,
      )}</tbody>
    </table></div>
    ${pages.next ? html`<p><button type="button" class="older" onClick=${older}>older runs</button></p>` : ''}`;
}

/** A graph's steps, as the newest run shown ran them: each node goes to that step of that run. */
function NewestGraph({ run }: { run: RunRecord }) {
  return html`<section class="sequence-graph" aria-label="the steps as a graph">
    <h2>Steps</h2>
    <p class="muted">as <a href=${page(`runs/${run.id}`)}>the newest run shown</a> ran them (${when(run.started_at)}), each after the steps it needs</p>
    <${StepGraph} steps=${run.steps.filter((s) => s.role === 'step')} href=${(s: GraphStep) => `${page(`runs/${run.id}`)}#step-step-${s.index}`}
      label=${`the steps of run ${run.id} as a graph: each after the steps it needs`} />
  </section>`;
}

/** A graph's steps as its definition says, before any run of it (or when its newest run shown ran as a list). */
function DefinedGraph({ name }: { name: string }) {
  const state = useLoaded(
    () => source.sequences(),
    () => false,
  );
  const entry = state.data?.sequences.find((s) => s.name === name);
  const graph = entry && 'graph' in entry ? entry.graph : undefined;
  if (!graph) return '';
  return html`<section class="sequence-graph" aria-label="the steps as a graph">
    <h2>Steps</h2>
    <p class="muted">as <code>${entry && 'file' in entry ? entry.file : name}</code> defines them, each after the steps it needs</p>
    <${StepGraph} steps=${graph.map((step) => ({ ...step, status: 'pending' }))}
      label=${`the steps of ${name} as its definition says: each after the steps it needs`} />
  </section>`;
}
