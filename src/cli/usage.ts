// A command's options are declared once, in one table: how parseArgs reads each option and
// how its help describes it. The usage text and the parseArgs config are both made from it,
// so an option cannot be accepted without being described, nor described without being accepted.
import type { ParseArgsConfig } from 'node:util';
import type { Command, CommandContext } from './command.js';

/** One option: its parseArgs shape, and its line under "Options:". */
export interface OptionSpec {
  type: 'boolean' | 'string';
  short?: string;
  multiple?: boolean;
  default?: boolean | string | readonly string[];
  /** The name of a string option's value in the help: N, DATE, K=V. */
  value?: string;
  /** The help, wrapped to fit; a "\n" starts a new line. */
  help?: string;
  /** Described on the line of that option instead of a line of its own (--from DATE, --to DATE). */
  describedWith?: string;
}

export type OptionTable = Record<string, OptionSpec>;

/** What `run` receives for an option of the table: a default or a boolean is always there. */
type OptionValue<S extends OptionSpec> = S extends { multiple: true }
  ? string[]
  : S extends { type: 'boolean' }
    ? S extends { default: boolean }
      ? boolean
      : boolean | undefined
    : S extends { default: string }
      ? string
      : string | undefined;

export type OptionValues<T extends OptionTable> = { [K in keyof T]: OptionValue<T[K]> };

export interface CommandSpec<T extends OptionTable> {
  /** The ways to call the command, each without "Usage: ": etl history [SEQUENCE] [--json]. */
  synopsis: readonly string[];
  /** What the command does, as printed (already wrapped). */
  description: string;
  options: T;
  /** Printed after the options (exit statuses). */
  notes?: string;
  run(values: OptionValues<T>, positionals: string[], context: CommandContext): Promise<number>;
}

/** -C, --repo DIR and the others every command takes; main.ts parses them, each usage lists --repo. */
export const GLOBAL_OPTIONS = {
  repo: {
    type: 'string',
    short: 'C',
    value: 'DIR',
    help: 'the pipeline repository (default: the current directory)',
  },
  help: { type: 'boolean', short: 'h', help: 'show help for a command' },
  version: { type: 'boolean', short: 'V', help: 'show the version' },
} as const satisfies OptionTable;

/** Lines are wrapped to this many characters, as the hand-written usage was. */
const WIDTH = 92;
/** A longer label does not widen the column: its help starts after it, on the same line. */
const LABEL_COLUMN_MAX = 18;

export function defineCommand<const T extends OptionTable>(spec: CommandSpec<T>): Command {
  return {
    usage: formatUsage(spec),
    options: parseArgsOptions(spec.options),
    // main.ts parsed the values with parseArgsOptions(spec.options): they have the table's types.
    run: (values, positionals, context) => spec.run(values as OptionValues<T>, positionals, context),
  };
}

/** The table as parseArgs takes it: without the help, and a repeatable option defaults to none. */
export function parseArgsOptions(table: OptionTable): NonNullable<ParseArgsConfig['options']> {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, spec] of Object.entries(table)) {
    const { type, short, multiple } = spec;
    const fallback = multiple ? [] : undefined;
    const value = spec.default ?? fallback;
    options[name] = {
      type,
      ...(short === undefined ? {} : { short }),
      ...(multiple ? { multiple } : {}),
      ...(value === undefined ? {} : { default: value as string | boolean | string[] }),
    };
  }
  return options;
}

export function formatUsage(spec: CommandSpec<OptionTable>): string {
  const synopsis = spec.synopsis.map((form, index) => wrapSynopsis(form, index === 0 ? 'Usage: ' : '       '));
  const options = formatOptions({ ...spec.options, repo: { ...GLOBAL_OPTIONS.repo } });
  const notes = spec.notes === undefined ? '' : `\n${spec.notes.trimEnd()}\n`;
  return `${synopsis.join('\n')}\n\n${spec.description.trimEnd()}\n\nOptions:\n${options}${notes}`;
}

/** The lines under "Options:", the help of each in a column after the widest (short enough) label. */
export function formatOptions(table: OptionTable): string {
  const entries = Object.entries(table);
  const labels = new Map<string, string[]>();
  for (const [name, spec] of entries) {
    const line = spec.describedWith ?? name;
    if (spec.describedWith !== undefined && !(spec.describedWith in table))
      throw new Error(`option --${name} is described with --${spec.describedWith}, which is not in the table`);
    labels.set(line, [...(labels.get(line) ?? []), optionLabel(name, spec)]);
  }
  const rows = entries
    .filter(([, spec]) => spec.describedWith === undefined)
    .map(([name, spec]) => ({ label: labels.get(name)!.join(', '), help: spec.help ?? '' }));
  const fitting = rows.map((row) => row.label.length).filter((length) => length <= LABEL_COLUMN_MAX);
  const column = 2 + Math.max(0, ...fitting) + 2;
  return rows.map((row) => formatOptionRow(row.label, row.help, column)).join('');
}

/** --limit N, -f, --follow, --param K=V. */
function optionLabel(name: string, spec: OptionSpec): string {
  const long = `--${name}${spec.type === 'string' ? ` ${spec.value ?? 'VALUE'}` : ''}`;
  return spec.short === undefined ? long : `-${spec.short}, ${long}`;
}

function formatOptionRow(label: string, help: string, column: number): string {
  const head = `  ${label}`;
  if (help === '') return `${head}\n`;
  const start = Math.max(column, head.length + 2);
  const lines = wrapHelp(help, WIDTH - column, WIDTH - start);
  const indent = ' '.repeat(column);
  return `${head.padEnd(start)}${lines.map((line, index) => (index === 0 ? line : `${indent}${line}`)).join('\n')}\n`;
}

/** Words into lines of at most `width` (the first line `firstWidth`); "\n" breaks a line. */
function wrapHelp(help: string, width: number, firstWidth: number): string[] {
  const lines: string[] = [];
  for (const paragraph of help.split('\n')) {
    let line = '';
    for (const word of paragraph.split(' ').filter((w) => w !== '')) {
      const room = lines.length === 0 ? firstWidth : width;
      if (line !== '' && line.length + 1 + word.length > room) {
        lines.push(line);
        line = word;
      } else line = line === '' ? word : `${line} ${word}`;
    }
    lines.push(line);
  }
  return lines;
}

/**
 * A synopsis wrapped at the spaces outside brackets, so [--push [--remote R]] stays whole;
 * its next lines start under the first argument, after "etl COMMAND ".
 */
function wrapSynopsis(form: string, prefix: string): string {
  const words: string[] = [];
  let depth = 0;
  let word = '';
  for (const char of form) {
    if (char === ' ' && depth === 0) {
      if (word !== '') words.push(word);
      word = '';
      continue;
    }
    if (char === '[') depth++;
    if (char === ']') depth--;
    word += char;
  }
  if (word !== '') words.push(word);
  const indent = ' '.repeat(prefix.length + words.slice(0, 2).join(' ').length + 1);
  const lines = [`${prefix}${words.slice(0, 2).join(' ')}`];
  for (const next of words.slice(2)) {
    const last = lines[lines.length - 1]!;
    if (last.length + 1 + next.length > WIDTH) lines.push(`${indent}${next}`);
    else lines[lines.length - 1] = `${last} ${next}`;
  }
  return lines.join('\n');
}

/**
 * A shared group of options described on one line, with this command's words for them:
 * --commit, --push, --remote R, --branch B   given to every run (see etl run).
 */
export function describedAs<const T extends OptionTable>(group: T, help: string): T {
  const [first] = Object.keys(group);
  const together: OptionTable = {};
  for (const [name, spec] of Object.entries(group)) {
    const { help: _own, describedWith: _with, ...shape } = spec;
    together[name] = name === first ? { ...shape, help } : { ...shape, describedWith: first };
  }
  return together as T;
}
