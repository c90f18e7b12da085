import { formatMetrics } from '../runner/metrics.js';
import { describeEnding, linkedStep, stepHow, stepPosition } from '../runner/labels.js';
import { join } from 'node:path';
import { formatDuration } from '../definitions/duration.js';
import { joinWords } from '../definitions/words.js';
import { EtlError, ExitCode } from '../errors.js';
import { LedgerStore } from '../ledger/store.js';
import type { RunRecord, StepRecord, StepSummary } from '../runner/records.js';
import { lineageNote, skippedNote } from './output.js';
import { defineCommand } from './usage.js';
import { findRunOf } from './options.js';

export const command = defineCommand({
  synopsis: ['etl show RUN [--json]'],
  description: `Shows one run with all its steps: status, attempts, exit codes, durations, logs, and the
definitions it ran (commit and file hashes). RUN is a run id, a unique prefix of one, or
SEQUENCE@latest / SEQUENCE@latest~N (N runs before it) / SEQUENCE@last-failed.`,
  options: {
    json: { type: 'boolean', default: false, help: 'print {run, steps}: run.json and every step record' },
  },
  async run(values, positionals, context) {
    if (positionals.length !== 1) throw new EtlError('usage', `show takes one run, got ${positionals.length}`);
    const store = await LedgerStore.open(context.repo, { env: context.env });
    const ref = findRunOf(context.repo, store, positionals[0]!);
    const root = ref.root;
    const run = store.requireRun(ref);
    const steps = run.steps.map((s) => store.readStep(join(root, ref.folder), s.record));
    if (values.json) {
      context.stdout.write(`${JSON.stringify({ run, steps: steps.filter(Boolean) }, null, 2)}\n`);
      return ExitCode.ok;
    }
    const { paint } = context;
    const lines = [
      `${paint('bold', `run ${run.id}`)}  ${run.sequence}  ${run.status}${run.duration_ms === null ? '' : ` in ${formatDuration(run.duration_ms)}`}`,
      `started  ${run.started_at}${run.finished_at ? `, finished ${run.finished_at}` : ''} on ${run.host} (pid ${run.pid}, etl-ledger ${run.runner_version})`,
      `trigger  ${run.trigger.kind}${run.trigger.actor ? ` by ${run.trigger.actor}` : ''}${run.trigger.ci?.url ? ` (${run.trigger.ci.url})` : ''}`,
      ...tickLine(run),
      ...Object.entries(run.params ?? {}).map(
        ([name, value], i) => `${i === 0 ? 'params   ' : '         '}${name}=${value}`,
      ),
      `commit   ${run.definitions.commit ?? '(not in git)'}${run.definitions.dirty ? ' with uncommitted changes to the definitions' : ''}`,
      ...Object.entries(run.definitions.files).map(
        ([file, hash]) => `         ${paint('dim', `${hash ?? '(missing)'}`)} ${file}`,
      ),
      ...(run.resumed_from ? [`resumed  run ${run.resumed_from}, from step ${run.selection?.from ?? '?'}`] : []),
      ...(run.parent_run
        ? [
            `parent   run ${run.parent_run.run_id} of ${run.parent_run.sequence}, its step ${linkedStep(run.parent_run)}`,
          ]
        : []),
      ...(run.child_runs ?? []).map(
        (child, i) =>
          `${i === 0 ? 'children ' : '         '}run ${child.run_id} of ${child.sequence}, from step ${linkedStep(child)}`,
      ),
      ...(run.error ? [`error    ${run.error}`] : []),
      ...(run.max_parallel === undefined
        ? []
        : [`graph    its steps run as a graph, up to ${run.max_parallel} at once`]),
      `folder   ${ref.folder}`,
      '',
    ];
    for (const [i, summary] of run.steps.entries()) {
      const step = steps[i];
      const attempts = step?.attempts ?? [];
      const last = attempts.at(-1);
      const how = last ? describeEnding(last) : '';
      lines.push(
        `${stepPosition(summary)}. ${paint('bold', summary.name)}${stepHow(summary, '')}  ${summary.status}` +
          `${summary.duration_ms === null ? '' : `  ${formatDuration(summary.duration_ms)}`}${how ? `  ${how}` : ''}${attempts.length > 1 ? `  ${attempts.length} attempts` : ''}`,
      );
      if (summary.skipped_as) lines.push(`   ${paint('dim', skippedNote(summary.skipped_as))}`);
      if (summary.skipped_because) lines.push(`   ${paint('dim', `skipped: ${summary.skipped_because}`)}`);
      if (summary.not_started_because) lines.push(`   ${paint('dim', `cannot start: ${summary.not_started_because}`)}`);
      if (summary.needs) lines.push(`   ${paint('dim', graphNote(run, summary, step))}`);
      if (step && step.status !== 'skipped' && step.status !== 'pending') {
        // Quoted as plan prints it: a space inside an argument, or an empty one, stays visible.
        lines.push(`   ${paint('dim', `$ ${joinWords(step.argv)}`)}`);
        const logLine =
          step.log.path === null
            ? 'no output'
            : `log ${join(ref.folder, step.log.path)} (${step.log.bytes} bytes${step.log.truncated ? `, ${step.log.kept_bytes} kept` : ''})`;
        lines.push(`   ${paint('dim', logLine)}`);
        for (const unmet of step.expectations?.filter((e) => !e.ok) ?? [])
          lines.push(`   ${paint('red', `expect ${unmet.message} (not met)`)}`);
        if (step.metrics) lines.push(`   metrics ${formatMetrics(step.metrics)}`);
        const lineage = lineageNote(step.lineage);
        if (lineage) lines.push(`   ${paint('dim', lineage)}`);
        if (step.ran_because) lines.push(`   ${paint('dim', `ran: ${step.ran_because}`)}`);
      }
    }
    context.stdout.write(`${lines.join('\n')}\n`);
    return ExitCode.ok;
  },
});

/** What a step of a graph waited for, and when it started in the run. */
function graphNote(run: RunRecord, summary: StepSummary, step: StepRecord | undefined): string {
  const names = (summary.needs ?? []).map(
    (index) => run.steps.find((s) => s.role === 'step' && s.index === index)?.name ?? String(index),
  );
  const at = step?.started_at
    ? `, started at +${formatDuration(Date.parse(step.started_at) - Date.parse(run.started_at))}`
    : '';
  return `needs ${names.length ? names.join(', ') : 'nothing'}${at}`;
}

/** The tick the run was for; without one, what \${tick} stood for and why. */
function tickLine(run: RunRecord): string[] {
  if (run.trigger.tick) return [`tick     ${run.trigger.tick}`];
  if (!run.tick) return []; // a record from before ticks were kept
  const why = run.resumed_from
    ? `the tick of run ${run.resumed_from}, which it resumes`
    : 'no tick given: when etl run started, to the second';
  return [`tick     ${run.tick} (${why})`];
}
