import { EtlError, ExitCode } from '../errors.js';
import { appendSummary, inActions, warningLine } from '../github/actions.js';
import { openGitHub } from '../github/client.js';
import { upsertStickyComment } from '../github/sticky-comment.js';
import { changePlanMarkdown } from '../review/pr-plan.js';
import { loadValidated } from './load.js';
import { defineCommand } from './usage.js';
import { digitsValue } from './options.js';

export const command = defineCommand({
  synopsis: ['etl pr-plan --base REF [--comment PR]'],
  description: `What a change would run, as Markdown: the sequences "etl changed --base REF" finds, why,
and each one's steps with their exact command lines. In GitHub Actions it also goes to the
job summary; with --comment it is posted as one comment on the pull request, updated (never
duplicated) on later pushes. Nothing is run.`,
  options: {
    base: {
      type: 'string',
      value: 'REF',
      help: "the commit the change is compared with (the pull request's base)",
    },
    comment: {
      type: 'string',
      value: 'PR',
      help: 'the pull request to comment on (needs GITHUB_TOKEN with pull-requests: write)',
    },
  },
  async run(values, positionals, context) {
    if (positionals.length > 0 || values.base === undefined)
      throw new EtlError('usage', 'pr-plan takes --base REF (and optionally --comment PR)');
    const pr = values.comment === undefined ? undefined : (digitsValue(values.comment) ?? 0);
    if (pr !== undefined && pr < 1)
      throw new EtlError('usage', `--comment takes a pull request number, got "${values.comment}"`);
    const report = await loadValidated(context);
    const markdown = await changePlanMarkdown(context.repo, values.base, report.definitions, context.env);
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
});
