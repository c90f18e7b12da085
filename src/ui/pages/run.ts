// A run's page: links, its steps as a timeline (ending, attempts, argv, log), what each step
// read and wrote, and its definitions.
import type { StepRecord, StepSummary } from '../../runner/records.js';
import type { LineageAnswer } from '../api-types.js';
import { Action } from './actions.js';
import { Definitions } from './definitions.js';
import { duration, joined, Loading, Status, when } from './format.js';
import { useLoaded } from './live.js';
import { FAILED_STEP, Log } from './log.js';
import { source } from './source.js';
import { page } from './urls.js';
import { html, useState } from './preact.js';

type StepSources = LineageAnswer['sources'][number];
type LineageEntry = NonNullable<StepSources['input']>;

/** A run: links, its steps as a timeline (ending, attempts, argv, log), and its definitions. */
export function Run({ id }: { id: string }) {
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
  const [logsShown, setLogsShown] = useState<Record<string, boolean>>({});
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
        html`<span class="params">params ${Object.entries(run.params ?? {}).map(([name, value]) => html`<code>${name}=${value}</code> `)}</span>`,
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
        const argv = step?.argv ?? state.data?.running_argv?.[key];
        const took = duration(step?.duration_ms ?? line.duration_ms);
        return html`<tr data-step=${key} id=${`step-${key}`}>
          <td><strong>${line.role === 'step' ? '' : `${line.role.replace('_', ' ')} `}${line.index}. ${line.name}</strong>
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
const stepLink = (entry: LineageEntry, here: string) =>
  html`<a class="step-link" href=${`${entry.run_id === here ? '' : page(`runs/${entry.run_id}`)}#step-${entry.step.role}-${entry.step.index}`}>${entry.run_id === here ? '' : `${entry.sequence} `}step ${entry.step.index} (${entry.step.name})${entry.run_id === here ? '' : `, run ${entry.run_id}`}</a>`;

const ARTIFACT_USES = ['input', 'config', 'output'] as const;

/** What a step's record says beyond its ending: why it was skipped or run, its metrics, what it read and wrote. */
function StepFacts({
  line,
  step,
  sources,
  here,
}: {
  line: StepSummary;
  step: StepRecord | undefined;
  sources: StepSources | undefined;
  here: string;
}) {
  const skipped = line.skipped_as ?? step?.skipped_as;
  const lineage = step?.lineage;
  const artifacts = ARTIFACT_USES.filter((use) => lineage?.[use]);
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
      lineage && artifacts.length
        ? html`<ul class="lineage">${artifacts.map((use) => {
            const a = lineage[use]!;
            const from = use === 'output' ? null : sources?.[use];
            return html`<li><span class="muted">${use === 'output' ? 'wrote' : use === 'config' ? 'config' : 'read'}</span> <code>${a.path}</code> <span class="muted hash" title=${a.sha256 ?? a.kind}>${a.sha256 ? a.sha256.slice(0, 12) : a.kind}</span>${from ? html` · from ${stepLink(from, here)}` : ''}</li>`;
          })}</ul>`
        : ''
    }`;
}
