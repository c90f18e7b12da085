import { validate, type ValidationReport } from '../definitions/validate.js';
import { EtlError, ExitCode } from '../errors.js';
import type { Command, CommandContext } from './command.js';
import { formatIssues, plural, type IssueFormat } from './output.js';

const FORMATS = ['text', 'json', 'github'] as const;

export const command: Command = {
  usage: `Usage: etl validate [SEQUENCE...] [--format text|json|github] [--strict]

Checks sequences (all of them, or the ones named and the modules they use) and modules.json
against the schemas in schemas/, and what schemas cannot say: unknown modules, commands that
do not exist or are not executable, missing conf files, invalid schedules and time zones.
Never runs a module and never writes a file.

Options:
  --format F   text (default): file:line:column: severity: message [code]
               json: an array of {file, line, column, severity, code, message}
               github: ::error / ::warning annotations for GitHub Actions
  --strict     warnings count as errors
  -C, --repo DIR

Exit status: 0 no errors (warnings allowed unless --strict), 2 errors or a usage error.
`,
  options: {
    format: { type: 'string', default: 'text' },
    strict: { type: 'boolean', default: false },
  },
  async run(values, positionals, context) {
    const format = parseFormat(values.format);
    const report = await validate({ repo: context.repo, sequences: positionals, strict: Boolean(values.strict), env: context.env });
    context.stdout.write(formatIssues(report.issues, format, context.paint, context.repo, context.cwd));
    if (format === 'text') context.stdout.write(summary(report, context));
    return report.ok ? ExitCode.ok : ExitCode.invalid;
  },
};

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
  const counts = [errors ? paint('red', plural(errors, 'error')) : '', warnings ? paint('yellow', plural(warnings, 'warning')) : ''].filter(Boolean).join(', ');
  return `${counts} (${checked})\n`;
}
