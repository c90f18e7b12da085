// A module's conf, read with the parsers etl-ledger reads its own definitions with: JSON
// (strict, duplicate keys refused) or YAML 1.2, chosen by the file's extension, and any
// mistake said at its line and column as `etl validate` says them.
import { readFileSync } from 'node:fs';
import { parseJsonSource } from '../definitions/json-source.js';
import type { ParsedSource } from '../definitions/source.js';
import { readYamlSource } from '../definitions/yaml-source.js';
import { parseArgs } from './args.js';
import { ExitCode, fail } from './exit.js';

export interface ReadConfigOptions {
  /** What a step without a conf gets; without it, such a step ends the module (78). */
  default?: unknown;
}

/**
 * The conf's content: `path`, else the step's conf from the command line. A conf that cannot
 * be read or parsed ends the module with ExitCode.config (78), saying where.
 */
export function readConfig(path?: string, options: ReadConfigOptions = {}): unknown {
  const file = path ?? parseArgs().config;
  if (file === undefined) {
    if ('default' in options) return options.default;
    fail('no conf given: the step has no `conf` (and no default was given to readConfig)', ExitCode.config);
  }
  const parse = parserFor(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    fail(`${file}: cannot read the conf: ${reason(error as NodeJS.ErrnoException)}`, ExitCode.config);
  }
  let source: ParsedSource;
  try {
    source = parse(text);
  } catch (error) {
    // Nesting deep enough to overflow a parser's stack.
    fail(`${file}: the conf cannot be parsed: ${(error as Error).message}`, ExitCode.config);
  }
  const [problem] = source.problems;
  if (problem) fail(`${file}:${problem.line}:${problem.column}: ${problem.message}`, ExitCode.config);
  return source.data;
}

function parserFor(file: string): (text: string) => ParsedSource {
  if (/\.ya?ml$/i.test(file)) return readYamlSource;
  if (/\.json$/i.test(file)) return parseJsonSource;
  return fail(
    `${file}: cannot tell JSON from YAML by its name (.json, .yaml or .yml): read a conf of another kind yourself, from the path parseArgs() gives`,
    ExitCode.config,
  );
}

function reason(error: NodeJS.ErrnoException): string {
  if (error.code === 'ENOENT') return 'it does not exist';
  if (error.code === 'EISDIR') return 'it is a folder, not a file';
  if (error.code === 'EACCES') return 'permission denied';
  return error.message;
}
