// A run's page: links, its steps as a timeline (ending, attempts, argv, log), what each step
// read and wrote, and its definitions.
import { linkedStep } from '../../runner/labels.js';
import { joinWords } from '../../definitions/words.js';
import type { StepRecord, StepSummary } from '../../runner/records.js';
import type { LineageAnswer, RunAnswer } from '../api-types.js';
import { Action } from './actions.js';
import { Definitions } from './definitions.js';
import { duration, joined, Loading, Status, when } from './format.js';
import { useLoaded } from './live.js';
import { type GraphStep, StepGraph } from './graph.js';
import { Lanes, type Span } from './lanes.js';
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
  const { run, links } = state.data;
  const stopped = run.steps.find((s) => s.role === 'step' && s.status !== 'succeeded' && s.status !== 'skipped');
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
      run.parent_run &&
        html`<span class="parent-run">called by <a href=${`${page(`runs/${run.parent_run.run_id}`)}#step-${stepKey({ role: run.parent_run.role ?? 'step', index: run.parent_run.step })}`}>${run.parent_run.sequence} step ${linkedStep(run.parent_run)}</a></span>`,
    ])}</p>
    <p class="links">
      ${links?.commit ? html`<a href=${links.commit} rel="noreferrer">commit ${run.definitions.commit?.slice(0, 10)}</a>` : ''}
      ${links?.actions_run ? html`<a href=${links.actions_run} rel="noreferrer">Actions run</a>` : ''}
      ${links?.pull_request ? html`<a href=${links.pull_request} rel="noreferrer">pull request</a>` : ''}
    </p>
    ${run.error ? html`<p class="error" role="alert">${run.error}</p>` : ''}
    <div class="actions">${run.status === 'running' ? html`<${Action} label="Cancel" action="cancel" body=${{ run: run.id }} help="stops the run as Ctrl-C would" />` : ''}
      ${run.status === 'failed' && run.failed_step ? html`<${Action} label=${`Re-run from step ${run.failed_step}`} action="run" body=${{ sequence: run.sequence, from: run.failed_step }} help=${`a new run of the definitions as they are now, from step ${run.failed_step} on: the steps before it are not run`} />` : ''}
      ${['failed', 'succeeded_with_failures', 'cancelled', 'abandoned'].includes(run.status) && stopped ? html`<${Action} label=${`Resume at step ${stopped.index}`} action="run" body=${{ sequence: run.sequence, resume: run.id }} help=${`a new run that takes this one up where it stopped: the steps before step ${stopped.index} count as done by this run (their outputs checked first), step ${stopped.index} on run again`} />` : ''}</div>
    <${Steps} answer=${state.data} version=${state.version} lineage=${lineage.data} logsShown=${logsShown} setLogsShown=${setLogsShown} />
    <${Definitions} run=${run} />`;
}

/** When a step ran, in ms since its run started: a running one up to now, one not started at 0. */
function stepSpan(line: StepSummary, step: StepRecord | undefined, start: number, end: number) {
  const from = step?.started_at ? Date.parse(step.started_at) - start : 0;
  const to = step?.finished_at ? Date.parse(step.finished_at) - start : line.status === 'running' ? end - start : from;
  return { from, to };
}

const stepKey = (line: Pick<StepSummary, 'role' | 'index'>) => `${line.role}-${line.index}`;
const stepLabel = (line: StepSummary) =>
  `${line.role === 'step' ? '' : `${line.role.replace('_', ' ')} `}${line.index}. ${line.name}`;

interface StepsProps {
  answer: RunAnswer;
  version: number;
  lineage: LineageAnswer | null;
  logsShown: Record<string, boolean>;
  setLogsShown: (change: (shown: Record<string, boolean>) => Record<string, boolean>) => void;
}

/**
 * The steps: a graph run's as a graph and a timeline in lanes, then every step's row (a list
 * run's rows carry its timeline, a bar each) with its log under it when shown.
 */
function Steps({ answer, version, lineage, logsShown, setLogsShown }: StepsProps) {
  const { run, steps } = answer;
  const graph = run.max_parallel !== undefined;
  const start = Date.parse(run.started_at);
  const end = run.finished_at ? Date.parse(run.finished_at) : Date.now();
  const span = Math.max(1, end - start);
  const records = new Map(steps.map((s) => [stepKey(s), s]));
  const sources = new Map((lineage?.sources ?? []).map((s) => [stepKey(s), s]));
  const isShown = (line: StepSummary) =>
    line.status !== 'pending' &&
    line.status !== 'skipped' &&
    (logsShown[stepKey(line)] ?? FAILED_STEP.includes(line.status));
  const spans: Span[] = run.steps
    .filter((line) => records.get(stepKey(line))?.started_at)
    .map((line) => ({
      key: stepKey(line),
      label: stepLabel(line),
      status: line.status,
      ...stepSpan(line, records.get(stepKey(line)), start, end),
    }));
  const open = (key: string) => setLogsShown((shown) => ({ ...shown, [key]: true }));
  return html`
    ${graph ? html`<${StepGraph} steps=${run.steps.filter((s) => s.role === 'step')} href=${(s: GraphStep) => `#step-step-${s.index}`} label="the steps as a graph: each after the steps it needs" />` : ''}
    ${graph ? html`<${Lanes} spans=${spans} span=${span} maxParallel=${run.max_parallel} onPick=${open} />` : ''}
    <div class="scroll"><table class="steps">
      <thead><tr><th>step</th><th>status</th>${graph ? '' : html`<th class="hide-narrow">timeline</th>`}<th>ending</th></tr></thead>
      <tbody>${run.steps.map((line) => {
        const key = stepKey(line);
        const step = records.get(key);
        const { from, to } = stepSpan(line, step, start, end);
        const logShown = isShown(line);
        const timeline = graph
          ? ''
          : html`<td class="hide-narrow"><div class="gantt" title=${`${duration(step?.duration_ms)}`}><span class=${`bar s-${line.status}`} style=${{ left: `${(100 * from) / span}%`, width: `${Math.max(0.5, (100 * (to - from)) / span)}%` }}></span></div></td>`;
        return html`<${StepRow} line=${line} step=${step} answer=${answer} sources=${sources.get(key)} timeline=${timeline} logShown=${logShown}
          toggleLog=${() => setLogsShown((shown) => ({ ...shown, [key]: !logShown }))} />
        ${
          // The log gets a row of its own, as wide as the table: a cell of the table is too narrow to read it.
          logShown
            ? html`<tr class="log-row" data-log=${key}><td colspan=${graph ? 3 : 4}><${Log} key=${key} run=${run.id} line=${line} step=${step} version=${version} /></td></tr>`
            : ''
        }`;
      })}</tbody>
    </table></div>`;
}

/** A step's row: its name, argv and facts, its status and time, (a list's) its bar, its ending and log button. */
function StepRow({
  line,
  step,
  answer,
  sources,
  timeline,
  logShown,
  toggleLog,
}: {
  line: StepSummary;
  step: StepRecord | undefined;
  answer: RunAnswer;
  sources: StepSources | undefined;
  timeline: unknown;
  logShown: boolean;
  toggleLog: () => void;
}) {
  const key = stepKey(line);
  const last = step?.attempts.at(-1);
  const hasLog = line.status !== 'pending' && line.status !== 'skipped';
  // A running step has no record yet: the server plans its argv again.
  const argv = step?.argv ?? answer.running_argv?.[key];
  const took = duration(step?.duration_ms ?? line.duration_ms);
  return html`<tr data-step=${key} id=${`step-${key}`}>
    <td><strong>${stepLabel(line)}</strong>
      ${argv ? html`<div class="argv"><code>${argv.map((arg, i) => html`${i ? ' ' : ''}<span class="arg">${joinWords([arg])}</span>`)}</code></div>` : ''}
      <${StepFacts} line=${line} step=${step} sources=${sources} here=${answer.run.id} /></td>
    <td><${Status} status=${line.status} />${took ? html` <span class="took">${took}</span>` : ''}</td>
    ${timeline}
    <td>${last ? (last.signal ? `signal ${last.signal}` : last.exit_code !== null ? `exit ${last.exit_code}` : (last.error ?? '')) : ''}${line.attempts > 1 ? html` <span class="muted">(${line.attempts} attempts)</span>` : ''}
      ${hasLog ? html` <button type="button" class="show-log" aria-expanded=${logShown} onClick=${toggleLog}>${logShown ? 'hide log' : 'log'}</button>` : ''}</td>
  </tr>`;
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
    ${line.child_run ? html`<div class="fact child-run">ran <a href=${page(`runs/${line.child_run}`)}>${line.call} run ${line.child_run}</a></div>` : ''}
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
