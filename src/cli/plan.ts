import { HANDLER_TITLE, HANDLERS } from '../definitions/handlers.js';
import { relative } from 'node:path';
import { formatDuration } from '../definitions/duration.js';
import { graphLevels } from '../definitions/graph.js';
import { joinWords } from '../definitions/words.js';
import { EtlError, ExitCode } from '../errors.js';
import { maskPlan, planRun, type Plan, type PlannedStep } from '../runner/plan.js';
import { stepHow } from '../runner/labels.js';
import { withWorktreeAt } from '../git/worktree.js';
import type { CommandContext } from './command.js';
import type { Paint } from './output.js';
import { loadValidated } from './load.js';
import { defineCommand } from './usage.js';

export const command = defineCommand({
  synopsis: ['etl plan SEQUENCE [--json] [--at COMMIT]'],
  description: `Shows what "etl run SEQUENCE" would execute, step by step: the module, the exact argv, the
working directory, the timeout and retries, and the error handler (on_failure). Validates
first; nothing runs.`,
  options: {
    json: { type: 'boolean', default: false, help: 'print the plan as JSON' },
    at: {
      type: 'string',
      value: 'COMMIT',
      help: 'plan with the definitions of an older commit (from a temporary checkout)',
    },
  },
  async run(values, positionals, context) {
    if (positionals.length !== 1)
      throw new EtlError('usage', `plan takes one sequence name, got ${positionals.length}`);
    if (values.at !== undefined)
      return withWorktreeAt(
        context.repo,
        values.at,
        (dir) => showPlan(values, positionals, { ...context, repo: dir }),
        { env: context.env },
      );
    return showPlan(values, positionals, context);
  },
});

async function showPlan(values: { json: boolean }, positionals: string[], context: CommandContext): Promise<number> {
  const report = await loadValidated(context, positionals);
  if (report.errors > 0) return ExitCode.invalid;
  const name = [...report.definitions.sequences.keys()][0]!;
  const plan = maskPlan(planRun(report.definitions, name, context.env), context.env);
  const { stdout, paint } = context;
  if (values.json) {
    stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
    return ExitCode.ok;
  }
  stdout.write(formatPlan(plan, paint));
  return ExitCode.ok;
}

/** A plan as a person reads it: each step's exact command line, program and limits. */
export function formatPlan(plan: Plan, paint: Paint, selected: (step: PlannedStep) => boolean = () => true): string {
  const show = (step: PlannedStep) => {
    if (!selected(step)) return paint('dim', `${step.index}. ${step.name}: skipped`);
    const limits = [
      step.timeout_ms ? `timeout ${formatDuration(step.timeout_ms)}` : 'no timeout',
      step.retries
        ? `${step.retries} retries${step.retry_delay_ms ? ` ${formatDuration(step.retry_delay_ms)} apart` : ''}`
        : '',
      Object.keys(step.expect).length ? `expect ${Object.keys(step.expect).join(', ')}` : '',
      step.skip_unchanged ? 'skipped when unchanged' : '',
    ].filter(Boolean);
    const env = Object.keys(step.env);
    const program = relative(plan.repo, step.command);
    const needs =
      step.needs &&
      `   needs ${step.needs.length ? step.needs.map((i) => nameOf(plan, i)).join(', ') : 'nothing: starts at once'}`;
    return [
      `${paint('bold', `${step.index}. ${step.name}`)}${stepHow({ ...step, call: step.call?.sequence }, 'module ')}`,
      ...(needs ? [needs] : []),
      `   ${paint('cyan', '$')} ${joinWords(step.argv)}`,
      `   ${paint('dim', `program ${program.startsWith('..') ? step.command : program} · ${limits.join(' · ')}${env.length ? ` · env ${env.join(', ')}` : ''}`)}`,
    ].join('\n');
  };
  let text = `Sequence ${paint('bold', plan.sequence)} (${plan.file}), working directory ${plan.repo}${plan.timeout_ms ? `, timeout ${formatDuration(plan.timeout_ms)}` : ''}\n\n`;
  text += `${plan.steps.map(show).join('\n\n')}\n`;
  if (plan.max_parallel !== undefined) text += graphText(plan, paint);
  for (const handler of HANDLERS)
    if (plan[handler].length > 0)
      text += `\n${paint('bold', `${HANDLER_TITLE[handler]}:`)}\n\n${plan[handler].map(show).join('\n\n')}\n`;
  if (plan.secrets.length > 0) text += `\nSecrets (masked in logs and records): ${plan.secrets.join(', ')}\n`;
  return text;
}

const nameOf = (plan: Plan, index: number) => plan.steps[index - 1]?.name ?? String(index);

/** A graph's steps by level: what may run together, and how many at once. */
function graphText(plan: Plan, paint: Paint): string {
  const levels = graphLevels(plan.steps.map((step) => (step.needs ?? []).map((index) => index - 1)));
  const lines = levels.map(
    (positions, i) => `  ${i + 1}. ${positions.map((position) => plan.steps[position]!.name).join(', ')}`,
  );
  return `\n${paint('bold', `As a graph, up to ${plan.max_parallel} steps at once, by level (the steps of a level may run together):`)}\n${lines.join('\n')}\n`;
}
