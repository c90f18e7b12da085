// Talking to the GitHub Actions runner through its workflow commands and files
// (https://docs.github.com/actions/reference/workflow-commands-for-github-actions).
import { randomBytes } from 'node:crypto';
import { appendFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { formatDuration } from '../definitions/duration.js';
import { graphLevels } from '../definitions/graph.js';
import type { LedgerStore } from '../ledger/store.js';
import type { RunObserver } from '../runner/engine.js';
import { describeEnding, linkedStep, stepLabel, stepPosition } from '../runner/labels.js';
import type { RunRecord, StepRecord } from '../runner/records.js';

export function inActions(env: Record<string, string | undefined>): boolean {
  return env.GITHUB_ACTIONS === 'true';
}

/** Escaping as actions/toolkit does: data, and property values (which also escape : and ,). */
export function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** `::add-mask::` for every line of every secret value: printed before anything else. */
export function maskCommands(values: Iterable<string>): string {
  const lines = new Set<string>();
  for (const value of values) for (const line of value.split(/\r?\n/)) if (line.trim()) lines.add(line);
  return [...lines].map((line) => `::add-mask::${escapeData(line)}\n`).join('');
}

/**
 * The run as a GitHub Actions log shows it: each step folded in a `::group::`, the module's
 * output between `::stop-commands::` markers with a random token, so that nothing a module
 * prints (data, a malicious line) is taken for a workflow command.
 */
export function actionsView(stream: NodeJS.WritableStream): Partial<RunObserver> {
  let token = '';
  let total = 0;
  let atLineStart = true;
  const label = (step: StepRecord) => stepLabel(step, total);
  return {
    runStarted(run) {
      total = run.steps.filter((s) => s.role === 'step').length;
      stream.write(`etl run ${run.sequence} ${run.id}\n`);
    },
    stepStarted(_run, step) {
      token = randomBytes(16).toString('hex');
      stream.write(`::group::${escapeData(label(step))}\n::stop-commands::${token}\n`);
      atLineStart = true;
    },
    output(_step, text) {
      stream.write(text);
      atLineStart = text.endsWith('\n');
    },
    stepFinished(_run, step) {
      if (step.status === 'skipped') {
        stream.write(`- ${label(step)} skipped\n`);
        return;
      }
      const last = step.attempts.at(-1);
      const how = step.status === 'succeeded' ? '' : ` (${describeEnding(last)})`;
      stream.write(`${atLineStart ? '' : '\n'}::${token}::\n::endgroup::\n`);
      stream.write(
        `${step.status === 'succeeded' ? '✓' : '✗'} ${label(step)} ${step.status}${how} in ${formatDuration(step.duration_ms ?? 0)}\n`,
      );
    },
  };
}

/**
 * A warning for the person reading: inside Actions an annotation titled after the command
 * (escaped, so a message with a newline or % stays one annotation), else "etl CMD: warning:".
 */
export function warningLine(
  env: Record<string, string | undefined>,
  command: string,
  title: string,
  message: string,
): string {
  return inActions(env)
    ? `::warning title=${escapeProperty(title)}::${escapeData(message)}\n`
    : `${command}: warning: ${message}\n`;
}

/** GITHUB_STEP_SUMMARY allows 1 MiB per step; stay well inside it. */
const SUMMARY_LIMIT = 1000 * 1024;
const TAIL_LINES = 30;

/** A Markdown summary of a run: its steps, and the log tails of the ones that failed. */
export function runSummary(run: RunRecord, folder: string, store: LedgerStore): string {
  const rows = run.steps.map(
    (s) =>
      `| ${stepPosition(s)} | ${cell(s.name)} | ${cell(s.run !== undefined ? `(run) ${s.module}` : s.call !== undefined ? `(call) ${s.call}` : s.module)} | ${s.status} | ${s.duration_ms === null ? '' : formatDuration(s.duration_ms)} | ${s.exit_code ?? ''} |`,
  );
  let text = `### etl run \`${run.sequence}\`: ${run.status}${run.duration_ms === null ? '' : ` in ${formatDuration(run.duration_ms)}`}\n\n`;
  text += `Run \`${run.id}\`, recorded in \`${folder}\`${run.definitions.commit ? `, definitions of \`${run.definitions.commit.slice(0, 12)}\`` : ''}.${run.error ? `\n\n${cell(run.error)}` : ''}\n\n`;
  text += `| # | step | module | status | duration | exit |\n|---|---|---|---|---|---|\n${rows.join('\n')}\n`;
  text += graphSummary(run);
  if (run.parent_run)
    text += `\nCalled by step ${cell(linkedStep(run.parent_run))} of run \`${run.parent_run.run_id}\` of \`${run.parent_run.sequence}\`.\n`;
  for (const child of run.child_runs ?? [])
    text += `\nStep ${linkedStep(child)} ran \`${child.sequence}\` as run \`${child.run_id}\`.\n`;
  for (const step of run.steps.filter((s) => s.status === 'failed' || s.status === 'timed_out')) {
    const tail = logTail(store, join(store.writeRoot, folder), step.record);
    if (tail) text += `\n${foldedLog(`last lines of ${cell(step.name)}'s log`, tail)}\n`;
  }
  return text;
}

/** A graph run's steps by level: what could run together, each level after the one before. */
function graphSummary(run: RunRecord): string {
  if (run.max_parallel === undefined) return '';
  const steps = run.steps.filter((s) => s.role === 'step');
  const levels = graphLevels(steps.map((s) => (s.needs ?? []).map((index) => index - 1)));
  const lines = levels.map(
    (positions, i) =>
      `${i + 1}. ${positions.map((p) => `${steps[p]!.index} ${cell(steps[p]!.name)} (${steps[p]!.status})`).join(' · ')}`,
  );
  return `\nRan as a graph, up to ${run.max_parallel} steps at once; by level (each after the steps it needs):\n\n${lines.join('\n')}\n`;
}

/** A log excerpt as Markdown: folded under a summary line, in a fence it cannot close. */
export function foldedLog(summary: string, log: string): string {
  return `<details open><summary>${summary}</summary>\n\n\`\`\`\n${log.replace(/```/g, "'''")}\n\`\`\`\n</details>`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function logTail(store: LedgerStore, folder: string, recordPath: string): string | undefined {
  const record = store.readStep(folder, recordPath);
  return record?.log.path ? store.readLogTail(join(folder, record.log.path), TAIL_LINES, 8000) : undefined;
}

/** Appends Markdown to the step summary, if there is one and it has room. */
export function appendSummary(env: Record<string, string | undefined>, markdown: string): boolean {
  const file = env.GITHUB_STEP_SUMMARY;
  if (!file) return false;
  let used = 0;
  try {
    used = statSync(file).size;
  } catch {
    // not there yet: appendFileSync creates it
  }
  const room = SUMMARY_LIMIT - used;
  if (room <= 200) return false;
  const text =
    Buffer.byteLength(markdown) > room
      ? `${Buffer.from(markdown)
          .subarray(0, room - 100)
          .toString('utf8')}\n\n*(summary cut at GitHub's size limit)*\n`
      : markdown;
  appendFileSync(file, `${text}\n`);
  return true;
}

/** Writes step outputs (`run-id`, `status`, ...) to GITHUB_OUTPUT, each value on one line. */
export function writeOutputs(env: Record<string, string | undefined>, outputs: Record<string, string>): void {
  const file = env.GITHUB_OUTPUT;
  if (!file) return;
  const lines = Object.entries(outputs).map(([name, value]) => {
    if (!value.includes('\n')) return `${name}=${value}\n`;
    const delimiter = `ghadelimiter_${randomBytes(16).toString('hex')}`;
    return `${name}<<${delimiter}\n${value}\n${delimiter}\n`;
  });
  appendFileSync(file, lines.join(''));
}
