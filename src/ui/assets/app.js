// The pages of `etl ui`: the overview (/), a sequence (/sequences/NAME) and a run (/runs/ID),
// kept up to date by the server's events. Everything shown comes from /api/ and is rendered
// as text (htm/Preact never parse data as HTML).
import { html, render, useEffect, useState } from '/assets/vendor/htm-preact.js';

// --allow-run: the token comes in the URL the server printed; kept for this tab, then taken
// out of the address bar.
const given = new URLSearchParams(location.search).get('token');
if (given) {
  sessionStorage.setItem('etl-token', given);
  history.replaceState(null, '', location.pathname);
}
const token = sessionStorage.getItem('etl-token');
const config = fetch('/api/config').then((r) => r.json());

/** An action button: shown only when the server allows runs; says how it went. */
function Action({ label, action, body }) {
  const [allowed, setAllowed] = useState(false);
  const [said, setSaid] = useState('');
  useEffect(() => {
    config.then((c) => setAllowed(c.allow_run && Boolean(token)));
  }, []);
  if (!allowed) return '';
  const act = async () => {
    const response = await fetch(`/api/actions/${action}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Etl-Token': token },
      body: JSON.stringify(body),
    });
    const done = action === 'cancel' ? 'cancelling' : 'started';
    setSaid(response.ok ? done : ((await response.json()).error ?? String(response.status)));
  };
  return html`<button type="button" class=${`action action-${action}`} onClick=${act}>${label}</button> <span class="muted">${said}</span>`;
}

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
      html`<a class=${`s-${r.status}`} href=${`/runs/${r.id}`} title=${`${r.status} ${duration(r.duration_ms)} ${r.started_at}`}
        style=${{ height: `${4 + Math.round(18 * ((r.duration_ms ?? 0) / longest))}px` }}></a>`,
  )}</div>`;
}

function Overview() {
  const [state, setState] = useState({ sequences: null, today: null, error: null });
  useLive(async () => {
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
  });
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
          <td><a class="name" href=${`/sequences/${s.name}`}>${s.name}</a>${s.description ? html`<div class="description">${s.description}</div>` : ''}</td>
          <td class="hide-narrow">${s.schedule ? html`<code>${s.schedule}</code> <span class="muted">${s.timezone}</span><div class="muted">next ${when(s.next_run)}</div>` : html`<span class="muted">manual</span>`}</td>
          <td>${s.last ? html`<${Status} status=${s.last.status} /> ${when(s.last.started_at)} <span class="muted">${duration(s.last.duration_ms)}</span>` : html`<span class="muted">never run</span>`}</td>
          <td class="hide-narrow">${s.success_rate === null ? '' : `${Math.round(s.success_rate * 100)}%`} <${Action} label="Run now" action="run" body=${{ sequence: s.name }} /></td>
          <td><${Strip} runs=${s.recent} /></td>
        </tr>`,
      )}</tbody>
    </table>`;
}

/** Calls `load` now, when `inputs` change, and when the server says a run changed (a burst of events, one call). */
function useLive(load, accept = () => true, inputs = []) {
  useEffect(() => {
    let timer;
    load();
    const events = new EventSource('/api/events');
    const soon = (event) => {
      if (event.type === 'run' && !accept(JSON.parse(event.data))) return;
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

/** A run: its steps as a timeline, each with its ending, attempts, argv and log. */
function Run({ id }) {
  const [state, setState] = useState({ data: null, error: null });
  useLive(
    async () => {
      try {
        setState({ data: await api(`/api/runs/${id}`), error: null });
      } catch (error) {
        setState((s) => ({ ...s, error: String(error) }));
      }
    },
    (change) => change.id === id,
  );
  if (state.error && !state.data) return html`<p role="alert">No run ${id}: ${state.error}</p>`;
  if (!state.data) return html`<p class="muted">Loading…</p>`;
  const { run, steps } = state.data;
  const start = Date.parse(run.started_at);
  const end = run.finished_at ? Date.parse(run.finished_at) : Date.now();
  const span = Math.max(1, end - start);
  const records = new Map(steps.map((s) => [`${s.role}-${s.index}`, s]));
  return html`
    <p><a href="/">← sequences</a></p>
    <h1>${run.sequence} <${Status} status=${run.status} /></h1>
    <p class="muted">run <code>${run.id}</code> · started ${when(run.started_at)} · ${duration(run.duration_ms)} · ${run.trigger.kind}${run.trigger.actor ? ` by ${run.trigger.actor}` : ''}${run.definitions.commit ? html` · definitions <code>${run.definitions.commit.slice(0, 10)}</code>${run.definitions.dirty ? ' (dirty)' : ''}` : ''}</p>
    ${run.error ? html`<p class="error" role="alert">${run.error}</p>` : ''}
    <p>${run.status === 'running' ? html`<${Action} label="Cancel" action="cancel" body=${{ run: run.id }} />` : ''}
      ${run.status === 'failed' && run.failed_step ? html`<${Action} label=${`Re-run from step ${run.failed_step}`} action="run" body=${{ sequence: run.sequence, from: run.failed_step }} />` : ''}</p>
    <table class="steps">
      <thead><tr><th>step</th><th>status</th><th class="hide-narrow">timeline</th><th>ending</th></tr></thead>
      <tbody>${run.steps.map((line) => {
        const step = records.get(`${line.role}-${line.index}`);
        const from = step?.started_at ? Date.parse(step.started_at) - start : 0;
        const to = step?.finished_at
          ? Date.parse(step.finished_at) - start
          : line.status === 'running'
            ? end - start
            : from;
        const last = step?.attempts.at(-1);
        return html`<tr data-step=${`${line.role}-${line.index}`}>
          <td><strong>${line.role === 'on_failure' ? 'on failure ' : ''}${line.index}. ${line.name}</strong>
            ${step ? html`<div class="argv"><code>${step.argv.join(' ')}</code></div>` : ''}</td>
          <td><${Status} status=${line.status} /></td>
          <td class="hide-narrow"><div class="gantt"><span class=${`bar s-${line.status}`} style=${{ left: `${(100 * from) / span}%`, width: `${Math.max(0.5, (100 * (to - from)) / span)}%` }}></span></div></td>
          <td>${last ? (last.signal ? `signal ${last.signal}` : last.exit_code !== null ? `exit ${last.exit_code}` : (last.error ?? '')) : ''}${line.attempts > 1 ? html` <span class="muted">(${line.attempts} attempts)</span>` : ''}
            ${line.status !== 'pending' && line.status !== 'skipped' ? html`<${Log} run=${run.id} step=${line} live=${line.status === 'running'} />` : ''}</td>
        </tr>`;
      })}</tbody>
    </table>`;
}

/** A step's kept log, on demand; followed while the step runs. */
function Log({ run, step, live }) {
  const [text, setText] = useState(null);
  const path = `/api/runs/${run}/steps/${step.role === 'on_failure' ? 'on_failure-' : ''}${step.index}/log`;
  const load = async () => {
    const response = await fetch(path);
    setText(response.ok ? await response.text() : `(${response.status})`);
  };
  useEffect(() => {
    if (text !== null) load();
  }, [live, step.status]);
  if (text === null) return html`<button type="button" onClick=${load}>log</button>`;
  return html`<details open><summary>log <a href=${path} download>raw</a></summary><pre class="log">${text || '(nothing printed)'}</pre></details>`;
}

const STATUSES = ['succeeded', 'failed', 'running', 'cancelled', 'abandoned'];

/**
 * A sequence's runs, newest first, a page at a time (the API's cursor), as a grid of runs by
 * steps coloured by each step's status: which step breaks, and since when.
 */
function Sequence({ name }) {
  const [status, setStatus] = useState('');
  const [pages, setPages] = useState({ runs: [], next: null, loaded: false, error: null });
  const query = (before) =>
    `/api/runs?sequence=${encodeURIComponent(name)}&limit=50${status ? `&status=${status}` : ''}${before ? `&before=${before}` : ''}`;
  const first = async () => {
    try {
      const page = await api(query());
      setPages({ runs: page.runs, next: page.next, loaded: true, error: null });
    } catch (error) {
      setPages((p) => ({ ...p, error: String(error) }));
    }
  };
  useLive(first, (change) => change.sequence === name, [status]);
  const older = async () => {
    const page = await api(query(pages.next));
    setPages((p) => ({ ...p, runs: [...p.runs, ...page.runs], next: page.next }));
  };
  // The steps of the newest run head the columns; older runs' extra steps are left out.
  const columns = (pages.runs[0]?.steps ?? []).filter((s) => s.role === 'step');
  return html`
    <p><a href="/">← sequences</a></p>
    <h1>${name}</h1>
    <p><label>status <select onChange=${(e) => setStatus(e.target.value)} value=${status}>
      <option value="">any</option>${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
    </select></label></p>
    ${pages.error ? html`<p role="alert">${pages.error}</p>` : ''}
    ${pages.loaded && pages.runs.length === 0 ? html`<p class="muted">No runs.</p>` : ''}
    <table class="grid">
      <thead><tr><th>run</th><th>status</th><th class="hide-narrow">duration</th>${columns.map((c) => html`<th title=${c.name}>${c.index}. ${c.name}</th>`)}</tr></thead>
      <tbody>${pages.runs.map(
        (run) => html`<tr data-run=${run.id}>
          <td><a href=${`/runs/${run.id}`}>${when(run.started_at)}</a></td>
          <td><${Status} status=${run.status} /></td>
          <td class="hide-narrow">${duration(run.duration_ms)}</td>
          ${columns.map((c) => {
            const step = run.steps.find((s) => s.role === 'step' && s.index === c.index);
            return html`<td><span class=${`cell s-${step?.status ?? 'none'}`} title=${step ? `${step.name}: ${step.status}` : ''}></span></td>`;
          })}
        </tr>`,
      )}</tbody>
    </table>
    ${pages.next ? html`<p><button type="button" class="older" onClick=${older}>older runs</button></p>` : ''}`;
}

const route = location.pathname;
const run = /^\/runs\/([^/]+)$/.exec(route);
const sequence = /^\/sequences\/([^/]+)$/.exec(route);
render(
  run
    ? html`<${Run} id=${run[1]} />`
    : sequence
      ? html`<${Sequence} name=${decodeURIComponent(sequence[1])} />`
      : html`<${Overview} />`,
  document.getElementById('app'),
);
