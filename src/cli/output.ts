import { relative, resolve } from 'node:path';
import type { Issue } from '../errors.js';
import { escapeData, escapeProperty } from '../github/actions.js';
import type { SkippedAs, StepLineage } from '../runner/records.js';

export type Paint = (style: 'red' | 'yellow' | 'green' | 'dim' | 'bold' | 'cyan', text: string) => string;

const CODES = { red: 31, yellow: 33, green: 32, dim: 2, bold: 1, cyan: 36 } as const;

/** Colour only on a terminal, never with NO_COLOR (https://no-color.org). */
export function painter(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv): Paint {
  const on = Boolean(stream.isTTY) && !('NO_COLOR' in env && env.NO_COLOR !== '') && env.TERM !== 'dumb';
  return on ? (style, text) => `\x1b[${CODES[style]}m${text}\x1b[0m` : (_style, text) => text;
}

export type IssueFormat = 'text' | 'json' | 'github';

/** Renders issues for a terminal, for a program, or as GitHub Actions annotations. */
export function formatIssues(issues: Issue[], format: IssueFormat, paint: Paint, repo: string, cwd: string): string {
  if (format === 'json')
    return `${JSON.stringify(
      issues.map(({ file, line, column, severity, code, message }) => ({
        file,
        line,
        column,
        severity,
        code,
        message,
      })),
      null,
      2,
    )}\n`;
  if (format === 'github') {
    // Annotations name files relative to the workspace, which is where the job runs.
    return issues
      .map((i) => {
        const file = relative(cwd, resolve(repo, i.file)) || i.file;
        return `::${i.severity} file=${escapeProperty(file)},line=${i.line},col=${i.column},title=${escapeProperty(`etl ${i.code}`)}::${escapeData(i.message)}\n`;
      })
      .join('');
  }
  return issues
    .map(
      (i) =>
        `${paint('bold', `${i.file}:${i.line}:${i.column}`)}: ${i.severity === 'error' ? paint('red', 'error') : paint('yellow', 'warning')}: ${i.message} ${paint('dim', `[${i.code}]`)}\n`,
    )
    .join('');
}

/** Why a step was skipped, when it stands for another run's execution of it. */
export function skippedNote(skipped: SkippedAs | undefined): string {
  if (!skipped) return 'skipped';
  return skipped.reason === 'unchanged'
    ? `skipped: unchanged since run ${skipped.run_id}`
    : `skipped: done by run ${skipped.run_id}, resumed`;
}

/** A step's input, config and output as lineage recorded them: path, size, hash. */
export function lineageNote(lineage: StepLineage | undefined): string | undefined {
  if (!lineage) return undefined;
  const parts = (['input', 'config', 'output'] as const).flatMap((use) => {
    const artifact = lineage[use];
    if (!artifact) return [];
    const what =
      artifact.sha256 !== undefined
        ? `${artifact.kind === 'folder' ? `${artifact.files} files, ` : ''}${artifact.size} bytes, sha256 ${artifact.sha256.slice(0, 12)}${artifact.bounded ? ` (${artifact.bounded})` : ''}`
        : artifact.kind;
    return [`${use} ${artifact.path} (${what})`];
  });
  return parts.join('; ');
}

export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/**
 * Rows under a bold header, columns padded to their widest cell; `style` may colour a cell
 * (padding is applied first, so colour codes do not disturb the alignment).
 */
/** An ISO time as the tables print it: 2026-12-01 10:00:00Z. */
export function tableTime(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function formatTable(
  header: string[],
  rows: string[][],
  paint: Paint,
  style?: (cell: string, column: number) => Parameters<Paint>[0] | undefined,
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[], styled: boolean) =>
    cells
      .map((cell, i) => {
        const padded = i === cells.length - 1 ? cell : cell.padEnd(widths[i]!);
        const colour = styled ? style?.(cell, i) : undefined;
        return colour ? paint(colour, padded) : padded;
      })
      .join('  ')
      .trimEnd();
  return `${paint('bold', line(header, false))}\n${rows.map((r) => line(r, true)).join('\n')}\n`;
}
