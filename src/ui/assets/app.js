// The overview page of `etl ui`: every sequence with its last run and recent runs, today's
// counts, kept up to date by the server's events. Everything shown comes from /api/ and is
// rendered as text (htm/Preact never parse data as HTML).
import { html, render, useEffect, useState } from '/assets/vendor/htm-preact.js';

const api = async (path) => {
  const response = await fetch(path, { headers: { Accept: 'application/json' } });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
};

const when = (iso) => {
  if (!iso) return '';
  const at = new Date(iso);
  return html`<time datetime=${iso} title=${`${at.toISOString().replace('T', ' ').slice(0, 19)} UTC`}>${at.toLocaleString()}</time>`;
};

const duration = (ms) => {
  if (ms === null || ms === undefined) return '';
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
};

const Status = ({ status }) => html`<span class=${`status status-${status}`}>${status}</span>`;

/** Recent runs, oldest on the left, each as tall as its duration is long among them. */
function Strip({ runs }) {
  const longest = Math.max(1, ...runs.map((r) => r.duration_ms ?? 0));
  return html`<div class="strip">${[...runs].reverse().map(
    (r) =>
      html`<a class=${`s-${r.status}`} href=${`/api/runs/${r.id}`} title=${`${r.status} ${duration(r.duration_ms)} ${r.started_at}`}
        style=${{ height: `${4 + Math.round(18 * ((r.duration_ms ?? 0) / longest))}px` }}></a>`,
  )}</div>`;
}

function Overview() {
  const [state, setState] = useState({ sequences: null, today: null, error: null });
  useEffect(() => {
    let timer;
    const load = async () => {
      try {
        const midnight = new Date();
        midnight.setUTCHours(0, 0, 0, 0);
        const [{ sequences }, today] = await Promise.all([
          api('/api/sequences'),
          api(`/api/runs?since=${midnight.toISOString()}&limit=500`),
        ]);
        setState({ sequences, today, error: null });
      } catch (error) {
        setState((s) => ({ ...s, error: String(error) }));
      }
    };
    load();
    // Reload when the server says a run changed (a burst of events, one reload).
    const events = new EventSource('/api/events');
    const soon = () => {
      clearTimeout(timer);
      timer = setTimeout(load, 150);
    };
    events.addEventListener('run', soon);
    events.addEventListener('resync', soon);
    return () => events.close();
  }, []);
  if (state.error && !state.sequences) return html`<p role="alert">Cannot read the ledger: ${state.error}</p>`;
  if (!state.sequences) return html`<p class="muted">Loading…</p>`;
  const count = (status) => state.today.runs.filter((r) => r.status === status).length;
  const more = state.today.next ? '+' : '';
  return html`
    <h1>Sequences</h1>
    <ul class="counts" aria-label="runs today (UTC)">
      <li><b data-count="running">${count('running')}</b> running</li>
      <li><b data-count="failed">${count('failed')}${more}</b> failed today</li>
      <li><b data-count="succeeded">${count('succeeded')}${more}</b> succeeded today</li>
    </ul>
    <table>
      <thead><tr><th>sequence</th><th class="hide-narrow">schedule</th><th>last run</th><th class="hide-narrow">success</th><th>recent</th></tr></thead>
      <tbody>${state.sequences.map(
        (s) => html`<tr data-sequence=${s.name}>
          <td><strong>${s.name}</strong>${s.description ? html`<div class="description">${s.description}</div>` : ''}</td>
          <td class="hide-narrow">${s.schedule ? html`<code>${s.schedule}</code> <span class="muted">${s.timezone}</span><div class="muted">next ${when(s.next_run)}</div>` : html`<span class="muted">manual</span>`}</td>
          <td>${s.last ? html`<${Status} status=${s.last.status} /> ${when(s.last.started_at)} <span class="muted">${duration(s.last.duration_ms)}</span>` : html`<span class="muted">never run</span>`}</td>
          <td class="hide-narrow">${s.success_rate === null ? '' : `${Math.round(s.success_rate * 100)}%`}</td>
          <td><${Strip} runs=${s.recent} /></td>
        </tr>`,
      )}</tbody>
    </table>`;
}

render(html`<${Overview} />`, document.getElementById('app'));
