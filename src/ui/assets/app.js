// The pages of `etl ui` and of `etl report`: the overview, the board, a sequence and a run.
// Served by `etl ui`, they read the JSON API (/api/) and follow the server's events; in a
// static report they read the same answers written as files, and say they are a snapshot.
// Everything shown is rendered as text (htm/Preact never parse data as HTML).
import { formatDuration } from './duration.js';
import { html, render, useEffect, useRef, useState } from './vendor/htm-preact.js';

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content;
/** Set on the pages of a static report: the way back to its root ("../../"). */
const reportRoot = meta('etl-report-root');
const STATIC = reportRoot !== undefined;
/** The URL of a page: "" (overview), "board", "sequences/NAME", "runs/ID". */
const page = (path) => (STATIC ? `${reportRoot}${path}${path ? '/' : ''}` : `/${path}`);

const getJson = async (url) => {
  const response = await fetch(url, { headers: { Accept: 'application/json' } });
  if (!response.ok) throw new Error(`${response.status} ${(await response.json().catch(() => ({}))).error ?? ''}`);
  return response.json();
};

/** What the pages read: the API, or a static report's files (filtered and paged here). */
const source = STATIC
  ? {
      sequences: () => getJson(`${reportRoot}data/sequences.json`),
      // A snapshot says nothing of a scheduler: it may be running now, or not.
      schedule: async () => null,
      async runs({ sequence, status, since, until, before, limit = 50 }) {
        const all = (await getJson(`${reportRoot}data/${sequence ? `sequences/${sequence}` : 'runs'}.json`)).runs;
        const at = (iso) => Date.parse(iso);
        let runs = all.filter(
          (r) =>
            (!status || r.status === status) &&
            (!since || at(r.started_at) >= at(since)) &&
            (!until || at(r.started_at) < at(until)),
        );
        if (before) runs = runs.slice(runs.findIndex((r) => r.id === before) + 1);
        return { runs: runs.slice(0, limit), next: runs.length > limit ? runs[limit - 1].id : null };
      },
      metrics: (sequence) => getJson(`${reportRoot}data/sequences/${sequence}/metrics.json`),
      run: (id) => getJson(`${reportRoot}data/runs/${id}.json`),
      definitions: (id) => getJson(`${reportRoot}data/runs/${id}/definitions.json`),
      lineage: (id) => getJson(`${reportRoot}data/runs/${id}/lineage.json`),
      log: (id, step) => `${reportRoot}data/runs/${id}/steps/${step}.log`,
    }
  : {
      sequences: () => getJson('/api/sequences'),
      schedule: () => getJson('/api/schedule'),
      runs: (query) =>
        getJson(
          `/api/runs?${new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined && v !== ''))}`,
        ),
      metrics: (sequence) => getJson(`/api/sequences/${sequence}/metrics?limit=50`),
      run: (id) => getJson(`/api/runs/${id}`),
      definitions: (id) => getJson(`/api/runs/${id}/definitions`),
      lineage: (id) => getJson(`/api/runs/${id}/lineage`),
      log: (id, step) => `/api/runs/${id}/steps/${step}/log`,
    };

// --allow-run: the token comes in the URL the server printed; kept for this tab, then taken
// out of the address bar.
const given = new URLSearchParams(location.search).get('token');
if (given) {
  sessionStorage.setItem('etl-token', given);
  history.replaceState(null, '', location.pathname);
}
const token = sessionStorage.getItem('etl-token');
const config = STATIC ? Promise.resolve({ allow_run: false }) : getJson('/api/config');

/** Whether this page may act: the server allows runs and the tab holds its token. */
function useAllowed() {
  const [allowed, setAllowed] = useState(false);
  useEffect(() => {
    config.then((c) => setAllowed(c.allow_run && Boolean(token)));
  }, []);
  return allowed;
}

/**
 * An action button: shown only when the server allows runs; `help` says what it does. Once
 * asked, it says how it went, with a link to the run it started.
 */
function Action({ label, action, body, help, params }) {
  const allowed = useAllowed();
  const [said, setSaid] = useState('');
  if (!allowed) return '';
  const act = async () => {
    setSaid('starting…');
    const response = await fetch(`/api/actions/${action}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Etl-Token': token },
      body: JSON.stringify(params ? { ...body, params } : body),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) setSaid(html`<span class="error">${answer.error ?? String(response.status)}</span>`);
    else if (answer.run)
      setSaid(html`started <a class="new-run" href=${page(`runs/${answer.run}`)}>run ${answer.run}</a>`);
    else setSaid(action === 'cancel' ? 'cancelling' : 'started');
  };
  const kind = body.resume ? 'resume' : body.from ? 'rerun' : action;
  return html`<span class="action-line"><button type="button" class=${`action action-${kind}`} onClick=${act}>${label}</button>${help ? html` <span class="action-help muted">${help}</span>` : ''} <span class="said" role="status">${said}</span></span>`;
}

/** "Run now", with the params of the run to give (NAME=VALUE, a line each) if wanted. */
function RunNow({ sequence }) {
  const allowed = useAllowed();
  const [text, setText] = useState('');
  if (!allowed) return '';
  const params = Object.fromEntries(
    text
      .split('\n')
      .map((line) => /^\s*([^=\s]+)\s*=(.*)$/.exec(line))
      .filter(Boolean)
      .map((match) => [match[1], match[2].trim()]),
  );
  return html`<div class="run-now"><${Action} label="Run now" action="run" body=${{ sequence }} params=${Object.keys(params).length ? params : undefined} />
    <details class="run-params"><summary>params</summary>
      <textarea name="params" rows="2" placeholder="name=value, a line each" aria-label=${`params of the run of ${sequence}`} value=${text} onInput=${(event) => setText(event.target.value)}></textarea>
    </details></div>`;
}

/**
 * Calls `load` now, when `inputs` change, and when the server says a run changed (a burst of
 * events, one call). A static report has no server: it loads once.
 */
function useLive(load, accept = () => true, inputs = []) {
  useEffect(() => {
    let timer;
    load();
    if (STATIC) return undefined;
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

/** useLive for one loader: its last answer, or its error. */
function useLoaded(load, accept, inputs) {
  const [state, setState] = useState({ data: null, error: null, version: 0 });
  useLive(
    async () => {
      try {
        const data = await load();
        setState((s) => ({ data, error: null, version: s.version + 1 }));
      } catch (error) {
        setState((s) => ({ ...s, error: String(error.message ?? error) }));
      }
    },
    accept,
    inputs,
  );
  return state;
}

const when = (iso) => {
  if (!iso) return '';
  const at = new Date(iso);
  return html`<time datetime=${iso} title=${`${at.toISOString().replace('T', ' ').slice(0, 19)} UTC`}>${at.toLocaleString()}</time>`;
};

/** As the CLI writes it (etl show, etl history): the same function, built from one source. */
const duration = (ms) => (ms === null || ms === undefined ? '' : formatDuration(ms));

/** The parts that have something to say, with " · " between them (an empty one leaves no "· ·"). */
const joined = (parts) =>
  parts
    .filter((part) => part !== '' && part !== null && part !== undefined && part !== false)
    .flatMap((part, i) => (i ? [' · ', part] : [part]));

/**
 * A run's states as the overview counts them and the board sorts them, in the same words: an
 * abandoned run (its runner died) failed; a cancelled one was stopped, and is neither.
 */
const RUN_STATES = [
  ['running', ['running']],
  ['failed', ['failed', 'abandoned']],
  ['cancelled', ['cancelled']],
  ['succeeded', ['succeeded']],
];

const Status = ({ status }) => html`<span class=${`status s-${status}`}>${status.replace('_', ' ')}</span>`;

const Loading = ({ state, what }) =>
  state.error
    ? html`<p role="alert" class="error">Cannot read ${what}: ${state.error}</p>`
    : html`<p class="muted">Loading…</p>`;

/** Recent runs, oldest on the left, each as tall as its duration is long among them. */
function Strip({ runs }) {
  const longest = Math.max(1, ...runs.map((r) => r.duration_ms ?? 0));
  return html`<div class="strip">${[...runs].reverse().map(
    (r) =>
      html`<a class=${`s-${r.status}`} href=${page(`runs/${r.id}`)} aria-label=${`${r.status} run of ${r.started_at}`} title=${`${r.status} ${duration(r.duration_ms)} ${r.started_at}`}
        style=${{ height: `${4 + Math.round(18 * ((r.duration_ms ?? 0) / longest))}px` }}></a>`,
  )}</div>`;
}

function Overview() {
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
  const running = sequences.filter((s) => s.last?.status === 'running').map((s) => s.last);
  const count = (statuses) => today.runs.filter((r) => statuses.includes(r.status)).length;
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
      <tbody>${sequences.map(
        (s) => html`<tr data-sequence=${s.name}>
          <td><a class="name" href=${page(`sequences/${s.name}`)}>${s.name}</a>${s.description ? html`<div class="description">${s.description}</div>` : ''}<${RunNow} sequence=${s.name} /></td>
          <td class="hide-narrow">${s.schedule ? html`<code>${s.schedule}</code> <span class="muted">${s.timezone}</span><div class="muted">next ${when(s.next_run)}</div>` : html`<span class="muted">manual</span>`}</td>
          <td>${s.last ? html`<${Status} status=${s.last.status} /> ${when(s.last.started_at)} <span class="muted">${duration(s.last.duration_ms)}</span>` : html`<span class="muted">never run</span>`}</td>
          <td class="hide-narrow">${s.success_rate === null ? '' : `${Math.round(s.success_rate * 100)}%`}</td>
          <td><${Strip} runs=${s.recent} /></td>
        </tr>`,
      )}</tbody>
    </table>`;
}

/**
 * Whether `etl schedule` runs for this repository, and what its status file says of each
 * sequence: the next tick, the one running, the last tick that could not start (and why),
 * the ticks skipped (and why), an edit that does not validate (the old schedule is kept).
 */
function Scheduler({ scheduler }) {
  const { alive, daemon, status } = scheduler;
  const headline = alive
    ? html`<b class="daemon-running">running</b>, pid ${daemon.pid} on ${daemon.host}, since ${when(daemon.started_at)}`
    : status
      ? html`<b class="daemon-stopped">not running</b> (last: pid ${status.pid} on ${status.host}, ${status.stopped_at ? html`stopped ${when(status.stopped_at)}` : html`gone since ${when(status.updated_at)}`})`
      : html`<b class="daemon-stopped">not running</b>: no daemon has run for this repository (<code>etl schedule</code> starts one; schedules that run on GitHub Actions need none)`;
  const entries = Object.entries(status?.sequences ?? {});
  return html`<section class="scheduler" aria-label="scheduler">
    <h2>Scheduler</h2>
    <p>etl schedule: ${headline}</p>
    ${
      entries.length
        ? html`<ul class="scheduler-sequences">${entries.map(([name, s]) => {
            const skipped = s.ticks.filter((t) => t.outcome.startsWith('skipped')).slice(-5);
            const notStarted = s.last && !s.last.run_id && s.last.error ? s.last : null;
            return html`<li data-scheduled=${name}><strong>${name}</strong> <code>${s.schedule}</code> <span class="muted">${s.timezone}</span>
              <ul>
                ${alive ? html`<li class="next-tick">next tick ${s.next ? when(s.next) : 'none'}</li>` : ''}
                ${s.running ? html`<li>running the tick of ${when(s.running.tick)}</li>` : ''}
                ${s.last?.run_id ? html`<li>last tick ${when(s.last.tick)}: <a href=${page(`runs/${s.last.run_id}`)}>${s.last.status}</a></li>` : ''}
                ${notStarted ? html`<li class="not-started error">the tick of ${when(notStarted.tick)} could not start: ${notStarted.error}</li>` : ''}
                ${s.error ? html`<li class="error">${s.error} (the schedule before this edit is kept)</li>` : ''}
                ${skipped.map((t) => html`<li class="skipped-tick">skipped the tick of ${when(t.tick)}: ${t.outcome.replace(/^skipped: /, '')}</li>`)}
              </ul></li>`;
          })}</ul>`
        : ''
    }
  </section>`;
}

/** The seed's monitoring page: the newest runs in a column per state, as the overview counts them. */
function Board() {
  const state = useLoaded(() => source.runs({ limit: 200 }));
  if (!state.data) return html`<${Loading} state=${state} what="the ledger" />`;
  const shown = state.data.runs.length;
  return html`
    <h1>Board</h1>
    <p class="muted board-caption">${shown === 1 ? 'The newest run' : `The ${shown} newest runs`}, all sequences together, by state.</p>
    <div class="board">${RUN_STATES.map(([title, statuses]) => {
      const runs = state.data.runs.filter((r) => statuses.includes(r.status));
      return html`<section class="column" data-column=${title} aria-label=${title}>
        <h2>${title} <span class="muted">${runs.length}</span></h2>
        ${runs.length === 0 ? html`<p class="muted">none</p>` : ''}
        ${runs.map(
          (r) => html`<a class=${`card s-${r.status}`} href=${page(`runs/${r.id}`)}>
              <strong>${r.sequence}</strong> <${Status} status=${r.status} />
              <div class="muted">${joined([when(r.started_at), duration(r.duration_ms), r.failed_step && `step ${r.failed_step}`])}</div>
            </a>`,
        )}
      </section>`;
    })}</div>`;
}

/** A run: links, its steps as a timeline (ending, attempts, argv, log), and its definitions. */
function Run({ id }) {
  const state = useLoaded(
    () => source.run(id),
    (change) => change.id === id,
  );
  // Who wrote what the steps read: asked once the run is shown, again as it changes.
  const lineage = useLoaded(
    () => source.lineage(id),
    (change) => change.id === id,
  );
  // The logs shown, by step: a failed step's is open until closed.
  const [logsShown, setLogsShown] = useState({});
  if (!state.data) return html`<${Loading} state=${state} what=${`run ${id}`} />`;
  const { run, steps, links } = state.data;
  const sources = new Map((lineage.data?.sources ?? []).map((s) => [`${s.role}-${s.index}`, s]));
  const stopped = run.steps.find((s) => s.role === 'step' && s.status !== 'succeeded' && s.status !== 'skipped');
  const start = Date.parse(run.started_at);
  const end = run.finished_at ? Date.parse(run.finished_at) : Date.now();
  const span = Math.max(1, end - start);
  const records = new Map(steps.map((s) => [`${s.role}-${s.index}`, s]));
  const ci = run.trigger.ci;
  return html`
    <p><a href=${page(`sequences/${run.sequence}`)}>← ${run.sequence}</a></p>
    <h1>${run.sequence} <${Status} status=${run.status} /></h1>
    <p class="muted run-facts">${joined([
      html`run <code>${run.id}</code>`,
      html`started ${when(run.started_at)}`,
      duration(run.duration_ms),
      `${run.trigger.kind}${run.trigger.actor ? ` by ${run.trigger.actor}` : ''}${ci?.workflow ? ` (workflow ${ci.workflow})` : ''}`,
      run.selection?.from && `from step ${run.selection.from}`,
      run.selection?.only && `only step ${run.selection.only}`,
      run.trigger.tick && html`<span class="tick">for the tick of ${when(run.trigger.tick)}</span>`,
      Object.keys(run.params ?? {}).length > 0 &&
        html`<span class="params">params ${Object.entries(run.params).map(([name, value]) => html`<code>${name}=${value}</code> `)}</span>`,
      run.resumed_from && html`resumes <a href=${page(`runs/${run.resumed_from}`)}>run ${run.resumed_from}</a>`,
    ])}</p>
    <p class="links">
      ${links?.commit ? html`<a href=${links.commit} rel="noreferrer">commit ${run.definitions.commit?.slice(0, 10)}</a>` : ''}
      ${links?.actions_run ? html`<a href=${links.actions_run} rel="noreferrer">Actions run</a>` : ''}
      ${links?.pull_request ? html`<a href=${links.pull_request} rel="noreferrer">pull request</a>` : ''}
    </p>
    ${run.error ? html`<p class="error" role="alert">${run.error}</p>` : ''}
    <div class="actions">${run.status === 'running' ? html`<${Action} label="Cancel" action="cancel" body=${{ run: run.id }} help="stops the run as Ctrl-C would" />` : ''}
      ${run.status === 'failed' && run.failed_step ? html`<${Action} label=${`Re-run from step ${run.failed_step}`} action="run" body=${{ sequence: run.sequence, from: run.failed_step }} help=${`a new run of the definitions as they are now, from step ${run.failed_step} on: the steps before it are not run`} />` : ''}
      ${['failed', 'cancelled', 'abandoned'].includes(run.status) && stopped ? html`<${Action} label=${`Resume at step ${stopped.index}`} action="run" body=${{ sequence: run.sequence, resume: run.id }} help=${`a new run that takes this one up where it stopped: the steps before step ${stopped.index} count as done by this run (their outputs checked first), step ${stopped.index} on run again`} />` : ''}</div>
    <div class="scroll"><table class="steps">
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
        const key = `${line.role}-${line.index}`;
        const hasLog = line.status !== 'pending' && line.status !== 'skipped';
        const logShown = hasLog && (logsShown[key] ?? FAILED_STEP.includes(line.status));
        const toggleLog = () => setLogsShown((shown) => ({ ...shown, [key]: !logShown }));
        // A running step has no record yet: the server plans its argv again.
        const argv = step?.argv ?? state.data.running_argv?.[key];
        const took = duration(step?.duration_ms ?? line.duration_ms);
        return html`<tr data-step=${key} id=${`step-${key}`}>
          <td><strong>${line.role === 'on_failure' ? 'on failure ' : ''}${line.index}. ${line.name}</strong>
            ${argv ? html`<div class="argv"><code>${argv.map((arg, i) => html`${i ? ' ' : ''}<span class="arg">${arg}</span>`)}</code></div>` : ''}
            <${StepFacts} line=${line} step=${step} sources=${sources.get(`${line.role}-${line.index}`)} here=${run.id} /></td>
          <td><${Status} status=${line.status} />${took ? html` <span class="took">${took}</span>` : ''}</td>
          <td class="hide-narrow"><div class="gantt" title=${`${duration(step?.duration_ms)}`}><span class=${`bar s-${line.status}`} style=${{ left: `${(100 * from) / span}%`, width: `${Math.max(0.5, (100 * (to - from)) / span)}%` }}></span></div></td>
          <td>${last ? (last.signal ? `signal ${last.signal}` : last.exit_code !== null ? `exit ${last.exit_code}` : (last.error ?? '')) : ''}${line.attempts > 1 ? html` <span class="muted">(${line.attempts} attempts)</span>` : ''}
            ${hasLog ? html` <button type="button" class="show-log" aria-expanded=${logShown} onClick=${toggleLog}>${logShown ? 'hide log' : 'log'}</button>` : ''}</td>
        </tr>
        ${
          // The log gets a row of its own, as wide as the table: a cell of the table is too narrow to read it.
          logShown
            ? html`<tr class="log-row" data-log=${key}><td colspan="4"><${Log} key=${key} run=${run.id} line=${line} step=${step} version=${state.version} /></td></tr>`
            : ''
        }`;
      })}</tbody>
    </table></div>
    <${Definitions} run=${run} />`;
}

/** A link to a step of a run: on this page, or on that run's. */
const stepLink = (entry, here) =>
  html`<a class="step-link" href=${`${entry.run_id === here ? '' : page(`runs/${entry.run_id}`)}#step-${entry.step.role}-${entry.step.index}`}>${entry.run_id === here ? '' : `${entry.sequence} `}step ${entry.step.index} (${entry.step.name})${entry.run_id === here ? '' : `, run ${entry.run_id}`}</a>`;

/** What a step's record says beyond its ending: why it was skipped or run, its metrics, what it read and wrote. */
function StepFacts({ line, step, sources, here }) {
  const skipped = line.skipped_as ?? step?.skipped_as;
  const artifacts = ['input', 'config', 'output'].filter((use) => step?.lineage?.[use]);
  return html`
    ${
      skipped
        ? html`<div class="fact">${skipped.reason === 'unchanged' ? 'unchanged since ' : 'done by '}<a href=${page(`runs/${skipped.run_id}`)}>run ${skipped.run_id}</a>${skipped.reason === 'resumed' ? ' (resumed)' : ''}</div>`
        : ''
    }
    ${step?.ran_because ? html`<div class="fact muted">ran: ${step.ran_because}</div>` : ''}
    ${step?.metrics ? html`<div class="fact metrics-line">${Object.entries(step.metrics).map(([k, v]) => html`<span class="metric"><span class="muted">${k}</span> ${String(v)}</span> `)}</div>` : ''}
    ${(step?.expectations ?? []).filter((e) => !e.ok).map((e) => html`<div class="fact error">expect ${e.message}</div>`)}
    ${
      artifacts.length
        ? html`<ul class="lineage">${artifacts.map((use) => {
            const a = step.lineage[use];
            const from = use === 'output' ? null : sources?.[use];
            return html`<li><span class="muted">${use === 'output' ? 'wrote' : use === 'config' ? 'config' : 'read'}</span> <code>${a.path}</code> <span class="muted hash" title=${a.sha256 ?? a.kind}>${a.sha256 ? a.sha256.slice(0, 12) : a.kind}</span>${from ? html` · from ${stepLink(from, here)}` : ''}</li>`;
          })}</ul>`
        : ''
    }`;
}

/** A step that ended this way has its log open when its run's page opens. */
const FAILED_STEP = ['failed', 'timed_out'];

/** The runner's own lines in a log (attempts, the truncation marker): shown apart from the module's. */
const RUNNER_LINE = /^\[etl-ledger: .*\]$/;

/**
 * A step's kept log, read when shown; while the step runs (its record is written when it ends), what
 * it adds is fetched (from the size already shown) each time the run changes. The log keeps stdout and stderr as one stream,
 * in the order printed; the runner's lines (attempts, a truncation) are marked.
 */
function Log({ run, line, step, version }) {
  const [log, setLog] = useState(null);
  const url = source.log(run, `${line.role === 'on_failure' ? 'on_failure-' : ''}${line.index}`);
  const load = async (from) => {
    const response = await fetch(from === undefined || STATIC ? url : `${url}?from=${from}`);
    const text = response.ok ? await response.text() : `(${response.status})`;
    const size = Number(response.headers.get('X-Log-Size') ?? text.length);
    const skipped = Number(response.headers.get('X-Log-Start') ?? 0);
    setLog((old) => (from === undefined || !old ? { text, size, skipped } : { ...old, text: old.text + text, size }));
  };
  // Read whole when shown; then, as the run changes, what was added.
  useEffect(() => {
    if (log === null) load();
    else if (!STATIC) load(log.size);
  }, [version]);
  if (log === null) return html`<p class="muted">Loading the log…</p>`;
  // The runner's lines marked; a log without any is shown as one text.
  const lines = log.text.includes('[etl-ledger: ') ? log.text.split('\n') : [log.text];
  return html`<div class="log-view"><p class="log-head">log of ${line.role === 'on_failure' ? 'on failure ' : ''}step ${line.index} <a href=${url} download=${`${run}-${line.index}.log`}>raw</a></p>
    ${step?.log.truncated ? html`<p class="notice">The module printed ${step.log.bytes} bytes; the log keeps the first and last ${step.log.kept_bytes} (marked where output was dropped).</p>` : ''}
    ${log.skipped ? html`<p class="notice">The first ${log.skipped} bytes are not shown here: see the raw file.</p>` : ''}
    <pre class="log">${log.text ? lines.map((text, i) => html`${RUNNER_LINE.test(text) ? html`<mark>${text}</mark>` : text}${i < lines.length - 1 ? '\n' : ''}`) : '(nothing printed)'}</pre></div>`;
}

/** The definitions a run ran (read from git by their pinned hashes) and what changed since the run before. */
function Definitions({ run }) {
  const [state, setState] = useState(null);
  const show = async () => {
    try {
      setState({ data: await source.definitions(run.id) });
    } catch (error) {
      setState({ error: String(error.message ?? error) });
    }
  };
  const pin = run.definitions;
  return html`<section class="definitions" aria-label="definitions">
    <h2>Definitions</h2>
    <p class="muted">${pin.commit ? html`commit <code>${pin.commit.slice(0, 12)}</code>` : 'not in git'}${pin.dirty ? ' · with uncommitted changes' : ''} · ${Object.keys(pin.files).length} files</p>
    ${state === null ? html`<button type="button" class="show-definitions" onClick=${show}>show definitions</button>` : ''}
    ${state?.error ? html`<p class="error">${state.error}</p>` : ''}
    ${state?.data ? html`<${PinnedFiles} data=${state.data} />` : ''}
  </section>`;
}

function PinnedFiles({ data }) {
  return html`
    ${
      data.previous
        ? data.changes.length
          ? html`<h3>Changed since <a href=${page(`runs/${data.previous.id}`)}>the run before</a></h3>
            ${data.changes.map(
              (c) => html`<div class="change"><strong>${c.path}</strong> <span class="muted">${c.change}</span>
                ${c.patch === null ? html`<p class="muted">Content not in git (an uncommitted edit ran): no diff.</p>` : html`<${Diff} patch=${c.patch} />`}</div>`,
            )}`
          : html`<p class="muted">Same definitions as <a href=${page(`runs/${data.previous.id}`)}>the run before</a>.</p>`
        : html`<p class="muted">The first run of this sequence in the ledger.</p>`
    }
    ${data.files.map(
      (
        f,
      ) => html`<details class="pinned"><summary><code>${f.path}</code> <span class="muted">${f.blob ? f.blob.slice(0, 10) : 'missing'}</span></summary>
        ${f.content === null ? html`<p class="muted">${f.blob ? 'Not in git (an uncommitted edit ran), or not text.' : 'The file was missing.'}</p>` : html`<pre class="file">${f.content}</pre>`}</details>`,
    )}`;
}

const Diff = ({ patch }) =>
  html`<pre class="diff">${patch
    .split('\n')
    .map(
      (line) =>
        html`<span class=${line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : line.startsWith('@@') ? 'hunk' : ''}>${`${line}\n`}</span>`,
    )}</pre>`;

/** uPlot, loaded the first time a chart is drawn (the overview does not pay for it). */
let uPlotLoaded;
const loadUPlot = () => {
  uPlotLoaded ??= new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = new URL('./vendor/uPlot.iife.min.js', import.meta.url).href;
    script.onload = () => resolve(window.uPlot);
    script.onerror = () => reject(new Error('chart library missing'));
    document.head.append(script);
  });
  return uPlotLoaded;
};

/**
 * A y axis as wide as its widest label, its ticks and their gap: with uPlot's fixed 50 px, a
 * label like 1,234,567 ran over the axis title beside it.
 */
const labelsWidth = (chart, values, index) => {
  const axis = chart.axes[index];
  if (!values) return 50;
  chart.ctx.font = axis.font[0];
  const widest = Math.max(0, ...values.map((v) => chart.ctx.measureText(String(v ?? '')).width)) / devicePixelRatio;
  return Math.ceil(widest) + axis.ticks.size + axis.gap + 4;
};

const PALETTE = ['#1c7ed6', '#2f9e44', '#f08c00', '#ae3ec9', '#0c8599', '#e8590c', '#5c7cfa', '#c2255c'];

/**
 * A chart over time: `times` (ISO, oldest first) on x, one line per series ({label, values},
 * null where a run has no value).
 */
function TimeChart({ caption, unit, times, series, format = (v) => String(v), height = 220 }) {
  const box = useRef(null);
  useEffect(() => {
    let chart;
    let gone = false;
    if (times.length === 0 || series.length === 0) return undefined;
    loadUPlot().then((uPlot) => {
      if (gone || !box.current) return;
      const ink = getComputedStyle(document.body).color;
      const seconds = times.map((t) => Date.parse(t) / 1000);
      const lone = new Set(seconds).size === 1 ? seconds[0] : null;
      const axis = {
        stroke: ink,
        grid: { stroke: 'rgba(128,128,128,0.2)' },
        ticks: { stroke: 'rgba(128,128,128,0.3)' },
      };
      chart = new uPlot(
        {
          width: box.current.clientWidth,
          height,
          // One run (or runs at one time): its point in the middle, an hour either side (uPlot
          // would put it at the edge of a day).
          scales: {
            x: { time: true, range: (_, min, max) => (lone === null ? [min, max] : [lone - 3600, lone + 3600]) },
          },
          series: [
            {},
            ...series.map((s, i) => ({
              label: s.label,
              stroke: PALETTE[i % PALETTE.length],
              width: 1.5,
              points: { show: true, size: 4 },
              // A run that skipped the step (or failed before it) leaves a gap: the line goes over it.
              spanGaps: true,
              value: (_, v) => (v === null ? '' : format(v)),
            })),
          ],
          axes: [
            // Ticks far enough apart for the widest time label ("12:59:59pm") and a gap.
            { ...axis, space: 90 },
            { ...axis, label: unit, size: labelsWidth },
          ],
        },
        [seconds, ...series.map((s) => s.values)],
        box.current,
      );
      // The chart, for the browser tests (and a curious console) to measure what it drew.
      box.current.uplot = chart;
    });
    return () => {
      gone = true;
      chart?.destroy();
    };
  }, [times.join(), JSON.stringify(series)]);
  return html`<figure class="chart"><figcaption>${caption}</figcaption><div ref=${box}></div></figure>`;
}

/** Each step's duration over the runs shown, oldest on the left. */
function Durations({ runs, columns }) {
  const ordered = runs.filter((r) => r.started_at).reverse();
  const seconds = (run, column) => {
    const step = run.steps.find((s) => s.role === 'step' && s.index === column.index);
    return step?.duration_ms === null || step?.duration_ms === undefined ? null : step.duration_ms / 1000;
  };
  return html`<${TimeChart}
    caption="Step durations, per run"
    unit="seconds"
    times=${ordered.map((r) => r.started_at)}
    series=${columns.map((c) => ({ label: `${c.index}. ${c.name}`, values: ordered.map((r) => seconds(r, c)) }))}
    format=${(v) => `${v.toFixed(2)}s`}
  />`;
}

/** Numbers kept per chart at most: a module writing dozens of metrics would make an unreadable one. */
const METRIC_CHARTS = 6;

/**
 * What the steps wrote to ETL_METRICS over the sequence's newest runs: a chart per numeric
 * metric, a line per step that wrote it.
 */
function Metrics({ name }) {
  const state = useLoaded(
    () => source.metrics(name),
    (change) => change.sequence === name,
    [name],
  );
  if (state.error) return html`<p class="muted">Metrics: ${state.error}</p>`;
  const points = state.data?.points ?? [];
  if (points.length === 0) return '';
  const times = [...new Set(points.map((p) => p.started_at))].sort();
  // The charts in the order of the steps (the first that wrote a key), then of the keys.
  const firstWriter = new Map();
  const rank = (step) => (step.role === 'step' ? 0 : 1_000_000) + step.index;
  for (const p of points)
    for (const [key, value] of Object.entries(p.metrics))
      if (typeof value === 'number') firstWriter.set(key, Math.min(firstWriter.get(key) ?? Infinity, rank(p.step)));
  const keys = [...firstWriter.keys()].sort(
    (a, b) => firstWriter.get(a) - firstWriter.get(b) || (a < b ? -1 : a > b ? 1 : 0),
  );
  return html`<section class="metrics" aria-label="metrics">
    ${keys.slice(0, METRIC_CHARTS).map((key) => {
      const steps = [
        ...new Map(
          points
            .filter((p) => typeof p.metrics[key] === 'number')
            .map((p) => [`${p.step.role} ${p.step.index}`, p.step]),
        ).values(),
      ].sort((a, b) => (a.role === b.role ? a.index - b.index : a.role === 'step' ? -1 : 1));
      const series = steps.map((step) => ({
        label: `${step.role === 'on_failure' ? 'on failure ' : ''}${step.index}. ${step.name}`,
        values: times.map((t) => {
          const p = points.find((q) => q.started_at === t && q.step.role === step.role && q.step.index === step.index);
          return typeof p?.metrics[key] === 'number' ? p.metrics[key] : null;
        }),
      }));
      return html`<${TimeChart} caption=${`Metric ${key}, per run`} unit=${key} times=${times} series=${series} height=${160} />`;
    })}
    ${keys.length > METRIC_CHARTS ? html`<p class="muted">${keys.length - METRIC_CHARTS} more metrics: etl metrics ${name}</p>` : ''}
  </section>`;
}

const STATUSES = ['succeeded', 'failed', 'running', 'cancelled', 'abandoned'];

/**
 * A sequence's runs, newest first, a page at a time (the API's cursor), filtered by status
 * and date, as a grid of runs by steps coloured by each step's status (which step breaks,
 * and since when), and a chart of the steps' durations.
 */
function Sequence({ name }) {
  const [filter, setFilter] = useState({ status: '', since: '', until: '' });
  const [pages, setPages] = useState({ runs: [], next: null, loaded: false, error: null });
  const query = (before) => ({
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
        setPages((p) => ({ ...p, error: String(error.message ?? error) }));
      }
    },
    (change) => change.sequence === name,
    [filter.status, filter.since, filter.until],
  );
  const older = async () => {
    const next = await source.runs(query(pages.next));
    setPages((p) => ({ ...p, runs: [...p.runs, ...next.runs], next: next.next }));
  };
  const set = (key) => (event) => setFilter((f) => ({ ...f, [key]: event.target.value }));
  // The steps of the newest run head the columns; older runs' extra steps are left out.
  const columns = (pages.runs[0]?.steps ?? []).filter((s) => s.role === 'step');
  return html`
    <p><a href=${page('')}>← sequences</a></p>
    <h1>${name}</h1>
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>
      <label>status <select name="status" onChange=${set('status')} value=${filter.status}>
        <option value="">any</option>${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
      </select></label>
      <label>from <input type="date" name="since" value=${filter.since} onChange=${set('since')} /></label>
      <label>to <input type="date" name="until" value=${filter.until} onChange=${set('until')} /></label>
      <span class="muted">days in UTC</span>
    </form>
    ${pages.error ? html`<p role="alert" class="error">${pages.error}</p>` : ''}
    ${pages.loaded && pages.runs.length === 0 ? html`<p class="muted">No runs.</p>` : ''}
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

function Nav({ here }) {
  return html`<nav aria-label="pages">
    <a href=${page('')} aria-current=${here === 'overview' ? 'page' : undefined}>sequences</a>
    <a href=${page('board')} aria-current=${here === 'board' ? 'page' : undefined}>board</a>
    ${STATIC ? html`<span class="muted snapshot">static report of ${when(meta('etl-report-time'))}: no live updates, no actions</span>` : ''}
  </nav>`;
}

// The page's route: its path in `etl ui`, named by the page itself in a static report.
const route = STATIC ? meta('etl-report-page') : location.pathname.slice(1);
const run = /^runs\/([^/]+)$/.exec(route);
const sequence = /^sequences\/([^/]+)$/.exec(route);
const view = run
  ? html`<${Run} id=${run[1]} />`
  : sequence
    ? html`<${Sequence} name=${decodeURIComponent(sequence[1])} />`
    : route === 'board'
      ? html`<${Board} />`
      : html`<${Overview} />`;
render(
  html`<${Nav} here=${route === 'board' ? 'board' : route === '' ? 'overview' : ''} />${view}`,
  document.getElementById('app'),
);
