#!/usr/bin/env node
// The `etl` command line: parses arguments, calls the library, prints, exits. Commands are
// imported lazily so `etl validate` loads only what validation needs.
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { MODULES_FILE, SEQUENCES_DIR } from '../definitions/model.js';
import { parseArgs } from 'node:util';
import { EtlError, exitCodeFor, ExitCode } from '../errors.js';
import { didYouMean } from '../definitions/suggest.js';
import type { CommandContext } from './command.js';
import { COMMANDS } from './commands.js';
import { onUnusableRecord } from '../ledger/record-file.js';
import { internalErrorReport } from './internal-error.js';
import { painter } from './output.js';
import { formatOptions, GLOBAL_OPTIONS, parseArgsOptions } from './usage.js';
import { readVersion } from './version.js';

const GLOBAL_PARSE_OPTIONS = parseArgsOptions(GLOBAL_OPTIONS);

function generalHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  return `etl: run ETL sequences from a git repository, recording every run in its runs/ ledger.

Usage: etl <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, { summary }]) => `  ${name.padEnd(width)}  ${summary}`)
  .join('\n')}

Options for every command:
${formatOptions(GLOBAL_OPTIONS)}
Exit codes: 0 ok, 1 run failed, 2 invalid definitions or usage, 3 lock held, 4 git or GitHub
failed, 129/130/143 cancelled.
Run "etl <command> --help" for a command's options.
`;
}

/** The --repo folder, which must exist and be a folder. */
function checkRepository(given: string): string {
  if (given === '') throw new EtlError('no-repository', '--repo "" names no folder');
  const path = resolve(given);
  let isFolder: boolean;
  try {
    isFolder = statSync(path).isDirectory();
  } catch {
    throw new EtlError('no-repository', `--repo ${JSON.stringify(given)}: no such folder`);
  }
  if (!isFolder) throw new EtlError('no-repository', `--repo ${JSON.stringify(given)} is a file, not a folder`);
  return path;
}

/**
 * Without --repo, the pipeline repository is the nearest folder, from here upward, that has
 * modules.json or etl_sequences/ (as git finds .git); the current folder if none has.
 */
function findRepository(cwd: string): string {
  for (let dir = cwd; ; dir = dirname(dir)) {
    if (existsSync(join(dir, MODULES_FILE)) || existsSync(join(dir, SEQUENCES_DIR))) return dir;
    if (dirname(dir) === dir) return cwd;
  }
}

/** parseArgs' message, said the way the rest of etl says things. */
function describeParseError(message: string, options: string[]): string {
  const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(message)?.[1];
  if (unknown) {
    return `unknown option ${unknown}${didYouMean(
      unknown,
      options.map((o) => `--${o}`),
      false,
    )}`;
  }
  const option = /Option '(?:-\w, )?(-{1,2}[^' ]+)/.exec(message)?.[1];
  if (/ambiguous/.test(message)) return `${option} needs a value; one that starts with "-" is written ${option}=-1`;
  if (/argument missing/.test(message)) return `${option} needs a value`;
  return message.split('\n')[0]!.replace(/\.$/, '');
}

/** The command name is the first word that is neither an option nor an option's value. */
function splitCommand(argv: string[]): { name?: string; rest: string[]; missingRepo?: string } {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if (arg === '--repo' || arg === '-C') {
      if (i + 1 >= argv.length) return { rest: argv, missingRepo: arg };
      i++;
      continue;
    }
    if (!arg.startsWith('-')) return { name: arg, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { rest: argv };
}

/**
 * A closed output (`etl run | head -1`, a closed terminal) must never stop a run: the first
 * write error (EPIPE, EIO) turns the stream's writes into no-ops, and the run goes on.
 */
function keepGoingWhenClosed(stream: NodeJS.WriteStream): void {
  stream.on('error', () => {
    stream.write = (_chunk: unknown, ...rest: unknown[]) => {
      const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    };
  });
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { stdout, stderr } = process;
  keepGoingWhenClosed(stdout);
  keepGoingWhenClosed(stderr);
  const { name, rest, missingRepo } = splitCommand(argv);
  const usageError = (message: string) => {
    stderr.write(`etl: ${message}\n`);
    return ExitCode.invalid;
  };
  if (missingRepo) return usageError(`${missingRepo} needs a folder: etl ${missingRepo} DIR <command>`);

  if (name === undefined || name === 'help') {
    if (rest.includes('--version') || rest.includes('-V')) {
      stdout.write(`${readVersion()}\n`);
      return ExitCode.ok;
    }
    const topic = name === 'help' ? rest.find((a) => !a.startsWith('-')) : undefined;
    if (topic && COMMANDS[topic]) {
      stdout.write((await COMMANDS[topic].load()).usage);
      return ExitCode.ok;
    }
    if (name === undefined && rest.length > 0 && !rest.some((a) => a === '--help' || a === '-h')) {
      return usageError(`no command given\n\n${generalHelp()}`);
    }
    (name === undefined && rest.length === 0 ? stderr : stdout).write(generalHelp());
    return name === undefined && rest.length === 0 ? ExitCode.invalid : ExitCode.ok;
  }

  const entry = COMMANDS[name];
  if (!entry) {
    return usageError(
      `unknown command "${name}"${didYouMean(name, Object.keys(COMMANDS))}; run "etl --help" for the list`,
    );
  }
  const command = await entry.load();
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...GLOBAL_PARSE_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    return usageError(
      `${name}: ${describeParseError((error as Error).message, Object.keys({ ...GLOBAL_PARSE_OPTIONS, ...command.options }))}; run "etl ${name} --help" for its options`,
    );
  }
  const { values, positionals } = parsed;
  if (values.help) {
    stdout.write(command.usage);
    return ExitCode.ok;
  }
  if (values.version) {
    stdout.write(`${readVersion()}\n`);
    return ExitCode.ok;
  }
  let repo: string;
  try {
    // init makes its folder; every other command needs an existing one, found like git does.
    repo =
      name === 'init'
        ? resolve(String(values.repo ?? '.'))
        : values.repo === undefined
          ? findRepository(process.cwd())
          : checkRepository(String(values.repo));
  } catch (error) {
    if (!(error instanceof EtlError)) throw error;
    return usageError(`${error.message} [${error.code}]`);
  }
  const context: CommandContext = {
    repo,
    cwd: process.cwd(),
    env,
    stdout,
    stderr,
    paint: painter(stdout, env),
    paintErr: painter(stderr, env),
  };
  // A record of the ledger that cannot be used is skipped by every reader: said once, here.
  onUnusableRecord(({ path, reason }) => stderr.write(`etl ${name}: warning: ${path} ${reason}: skipped\n`));
  try {
    return await command.run(values as Record<string, unknown>, positionals, context);
  } catch (error) {
    if (error instanceof EtlError) {
      const where = error.where ? `${error.where.file}:${error.where.line}:${error.where.column}: ` : '';
      stderr.write(`etl ${name}: ${where}${context.paintErr('red', 'error')}: ${error.message} [${error.code}]\n`);
      return exitCodeFor(error);
    }
    throw error;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Not an EtlError: our bug, not the user's. Show what helps, and none of the user's paths.
    process.stderr.write(internalErrorReport(error));
    process.exitCode = ExitCode.failed;
  },
);
