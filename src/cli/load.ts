import { validate, type ValidationReport } from '../definitions/validate.js';
import type { CommandContext } from './command.js';
import { formatIssues } from './output.js';

/**
 * Validates before a command uses the definitions: problems go to stderr (stdout stays
 * clean for --json), and the caller stops with exit 2 when there are errors.
 */
export async function loadValidated(
  context: CommandContext,
  sequences: string[] = [],
  options: { githubSchedules?: boolean } = {},
): Promise<ValidationReport> {
  // Warnings about GitHub's schedules are for the commands that make them (validate, workflows).
  const report = await validate({
    repo: context.repo,
    sequences,
    env: context.env,
    githubSchedules: options.githubSchedules ?? false,
  });
  context.stderr.write(formatIssues(report.issues, 'text', context.paintErr, context.repo, context.cwd));
  return report;
}
