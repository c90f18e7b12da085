import { joinWords } from '../definitions/words.js';
import { EtlError, ExitCode } from '../errors.js';
import { appendSummary, inActions, warningLine } from '../github/actions.js';
import { openGitHub } from '../github/client.js';
import { upsertStickyComment } from '../github/sticky-comment.js';
import { changedSequences, deletedSequences } from '../ledger/changed.js';
import { maskPlan, planRun, type PlannedStep } from '../runner/plan.js';
import type { Command } from './command.js';
import { loadValidated } from './load.js';

export const command: Command = {
  usage: `Usage: etl pr-plan --base REF [--comment PR]

What a change would run, as Markdown: the sequences "etl changed --base REF" finds, why,
and each one's steps with their exact command lines. In GitHub Actions it also goes to the
job summary; with --comment it is posted as one comment on the pull request, updated (never
duplicated) on later pushes. Nothing is run.

Options:
  --base REF     the commit the change is compared with (the pull request's base)
  --comment PR   the pull request to comment on (needs GITHUB_TOKEN with pull-requests: write)
  -C, --repo DIR
`,
  options: { base: { type: 'string' }, comment: { type: 'string' } },
  async run(values, positionals, context) {
    if (positionals.length > 0 || values.base === undefined)
      throw new EtlError('usage', 'pr-plan takes --base REF (and optionally --comment PR)');
    const pr = values.comment === undefined ? undefined : Number(values.comment);
    if (pr !== undefined && !(Number.isInteger(pr) && pr > 0))
      throw new EtlError('usage', `--comment takes a pull request number, got "${String(values.comment)}"`);
    const report = await loadValidated(context);
    const changed = await changedSequences(context.repo, String(values.base), { env: context.env });
    let markdown = `### What this change would run\n\n`;
    if (changed.length === 0) markdown += 'No sequence changed: merging it runs nothing.\n\n';
    for (const c of changed) {
      markdown += `#### \`${c.name}\`: ${c.reasons.join('; ')}\n\n`;
      if (!report.definitions.sequences.has(c.name)) {
        markdown += 'This sequence has validation errors: see the annotations.\n\n';
        continue;
      }
      const plan = maskPlan(planRun(report.definitions, c.name, context.env), context.env);
      const line = (s: PlannedStep) => `${s.index}. \`${joinWords(s.argv).replace(/`/g, "'")}\``;
      markdown += `${plan.steps.map(line).join('\n')}\n\n`;
      if (plan.on_failure.length) markdown += `On failure:\n\n${plan.on_failure.map(line).join('\n')}\n\n`;
    }
    const deleted = await deletedSequences(context.repo, String(values.base), { env: context.env });
    if (deleted.length)
      markdown += `#### Deleted: ${deleted.map((d) => `\`${d}\``).join(', ')}\n\nMerging stops their runs (and schedules); their runs stay in the ledger.\n`;
    context.stdout.write(markdown);
    if (inActions(context.env)) appendSummary(context.env, markdown);
    if (pr !== undefined) {
      try {
        const result = await upsertStickyComment(await openGitHub(context.repo, context.env), pr, 'plan', markdown);
        context.stderr.write(`${result.action} the plan comment on #${pr}\n`);
      } catch (error) {
        // A pull request from a fork gets a read-only token: the plan is in the summary anyway.
        if (!(error instanceof EtlError)) throw error;
        context.stderr.write(
          warningLine(context.env, 'etl pr-plan', 'etl pr-plan', `could not comment on #${pr}: ${error.message}`),
        );
      }
    }
    return report.errors > 0 ? ExitCode.invalid : ExitCode.ok;
  },
};
