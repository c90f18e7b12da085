import type { ParseArgsConfig } from 'node:util';
import type { Paint } from './output.js';

export interface CommandContext {
  /** Absolute path of the pipeline repository (--repo, default the current directory). */
  repo: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  paint: Paint;
  paintErr: Paint;
}

/**
 * One `etl` subcommand: a thin layer that parses, calls the library and prints. Made by
 * defineCommand (usage.ts) from one table of options, so `usage` and `options` agree.
 */
export interface Command {
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(values: Record<string, unknown>, positionals: string[], context: CommandContext): Promise<number>;
}
