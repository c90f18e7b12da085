import { validate, type ValidationReport } from '../definitions/validate.js';
import { EtlError, ExitCode, type Issue } from '../errors.js';
import type { CommandContext } from './command.js';
import { appendSummary } from '../github/actions.js';
import { formatIssues, plural, type IssueFormat } from './output.js';
import { defineCommand } from './usage.js';

const FORMATS = ['text', 'json', 'github'] as const;

export const command = defineCommand({
  synopsis: ['etl validate [SEQUENCE...] [--format text|json|github] [--json] [--strict]'],
  description: `Checks sequences (all of them, or the ones named and the modules they use) and modules.json
against the schemas in schemas/, and what schemas cannot say: unknown modules, commands that
do not exist or are not executable, missing conf files, invalid schedules and time zones.
Never runs a module and never writes a file.`,
  options: {
    format: {
      type: 'string',
      value: 'F',
      help: 'text (default): file:line:column: severity: message [code]\njson: an array of {file, line, column, severity, code, message}\ngithub: ::error / ::warning annotations for GitHub Actions',
    },
    json: { type: 'boolean', default: false, help: 'the same as --format json, as other commands take it' },
    strict: { type: 'boolean', default: false, help: 'warnings count as errors' },
  },
  notes: 'Exit status: 0 no errors (warnings allowed unless --strict), 2 errors or a usage error.',
  async run(values, positionals, context) {
    if (values.json && values.format !== undefined && values.format !== 'json')
      throw new EtlError('usage', `--json and --format ${values.format} say different things: give one`);
    const format = parseFormat(values.json ? 'json' : (values.format ?? 'text'));
    const report = await validate({
      repo: context.repo,
      sequences: positionals,
      strict: values.strict,
      env: context.env,
    });
    if (format === 'github') {
      context.stdout.write(githubAnnotations(report, context));
    } else {
      context.stdout.write(formatIssues(report.issues, format, context.paint, context.repo, context.cwd));
    }
    if (format === 'text') context.stdout.write(summary(report, context));
    return report.ok ? ExitCode.ok : ExitCode.invalid;
  },
});

export function parseFormat(value: unknown): IssueFormat {
  if (!FORMATS.includes(value as IssueFormat)) {
    throw new EtlError('usage', `--format must be one of ${FORMATS.join(', ')}, got "${String(value)}"`);
  }
  return value as IssueFormat;
}

export function summary(report: ValidationReport, { paint }: CommandContext): string {
  const { definitions, errors, warnings } = report;
  const checked = `${plural(definitions.sequences.size, 'valid sequence')}, ${plural(definitions.modules.size, 'module')}`;
  if (errors === 0 && warnings === 0) return `${paint('green', '✓')} ${checked}: no problems\n`;
  const counts = [
    errors ? paint('red', plural(errors, 'error')) : '',
    warnings ? paint('yellow', plural(warnings, 'warning')) : '',
  ]
    .filter(Boolean)
    .join(', ');
  return `${counts} (${checked})\n`;
}

/** GitHub shows at most 10 error and 10 warning annotations per step. */
const ANNOTATIONS_PER_TYPE = 10;

/**
 * Annotations for the first 10 errors and 10 warnings; the rest as plain lines in the log
 * and, with a step summary, all of them in a table there.
 */
function githubAnnotations(report: ValidationReport, context: CommandContext): string {
  const annotated: Issue[] = [];
  const rest: Issue[] = [];
  for (const issue of report.issues) {
    (annotated.filter((i) => i.severity === issue.severity).length < ANNOTATIONS_PER_TYPE ? annotated : rest).push(
      issue,
    );
  }
  let text = formatIssues(annotated, 'github', context.paint, context.repo, context.cwd);
  if (rest.length > 0) {
    text += `::notice title=etl validate::${rest.length} more problems than GitHub shows as annotations: see the log below and the job summary\n`;
    text += formatIssues(rest, 'text', context.paint, context.repo, context.cwd);
  }
  if (report.issues.length > 0) {
    const rows = report.issues.map(
      (i) =>
        `| \`${i.file}:${i.line}:${i.column}\` | ${i.severity} | \`${i.code}\` | ${i.message.replace(/\|/g, '\\|')} |`,
    );
    appendSummary(
      context.env,
      `### etl validate: ${plural(report.errors, 'error')}, ${plural(report.warnings, 'warning')}\n\n| where | severity | code | message |\n|---|---|---|---|\n${rows.join('\n')}\n`,
    );
  }
  return text;
}
