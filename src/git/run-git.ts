// The one way etl starts a git process: always with the environment of gitEnv, and with one
// message when git fails (git.ts's client for a repository runs its commands through runGit).
import { execFile, spawn, spawnSync } from 'node:child_process';
import { formatDuration } from '../definitions/duration.js';
import { EtlError } from '../errors.js';
import type { Env } from './git.js';

/** GIT_* variables passed on to git: the others would point it elsewhere (GIT_DIR, GIT_INDEX_FILE...). */
export const GIT_VARIABLES = [
  'GIT_TERMINAL_PROMPT',
  'GIT_AUTHOR_NAME',
  'GIT_AUTHOR_EMAIL',
  'GIT_AUTHOR_DATE',
  'GIT_COMMITTER_NAME',
  'GIT_COMMITTER_EMAIL',
  'GIT_COMMITTER_DATE',
  'GIT_SSH',
  'GIT_SSH_COMMAND',
  'GIT_ASKPASS',
  'SSH_ASKPASS',
];
/** Variables a ledger's git commands must never use: an editor or a pager would wait for a person (npm sets EDITOR). */
const UNUSED = new Set(['editor', 'visual', 'pager', 'prefix']);

/**
 * The environment for a git process: the user's, less what would point git elsewhere
 * (GIT_DIR, GIT_INDEX_FILE...) or is never needed, with English messages and no prompts.
 */
export function gitEnv(env: Env, extra: Env = {}): Record<string, string> {
  const clean: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...env, ...extra })) {
    if (value === undefined || UNUSED.has(key.toLowerCase())) continue;
    if (!key.toUpperCase().startsWith('GIT_') || GIT_VARIABLES.includes(key)) clean[key] = value;
  }
  return { ...clean, LC_ALL: 'C', LANG: 'C', GIT_TERMINAL_PROMPT: '0' };
}

/** The first lines of git's own message, for an error a person reads. */
export function gitMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (
    text
      // A remote URL may carry a token (https://x-access-token:TOKEN@host/...): never print it.
      .replace(/(\w+:\/\/)[^/@\s]+@/g, '$1***@')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .slice(0, 6)
      .join('; ')
  );
}

export interface GitCall {
  /** The user's environment, cleaned by gitEnv. */
  env?: Env;
  /** Variables on top of it (an author for a commit), cleaned too. */
  extra?: Env;
  /** What git reads on its standard input. */
  input?: string;
  /** A temporary index instead of the repository's (gitEnv drops an inherited GIT_INDEX_FILE). */
  indexFile?: string;
  /** Stops git when it writes nothing for this long (a push to a host that never answers). */
  idleTimeoutMs?: number;
}

export interface GitOutcome<Output> {
  /** git's exit code; -1 when git could not start or did not run to its end. */
  code: number;
  stdout: Output;
  /** What git wrote on its error output, else why it did not run (its own error message). */
  stderr: string;
  /** Why git could not start at all: ENOENT when it is not installed. */
  unstarted?: string;
  /** git exited non-zero without a word on its error output (a query that found nothing). */
  quiet?: boolean;
}

/** git's output is read whole: the limit only stops a runaway command from taking all memory. */
const MAX_OUTPUT = 1 << 30;

function processEnv(call: GitCall): Record<string, string> {
  const env = gitEnv(call.env ?? process.env, call.extra);
  return call.indexFile === undefined ? env : { ...env, GIT_INDEX_FILE: call.indexFile };
}

/** Runs git in `repo`; a git that fails is an answer here, not an error. */
export function runGit(repo: string, args: string[], call: GitCall = {}): Promise<GitOutcome<string>> {
  return new Promise((resolve) => {
    let idle: NodeJS.Timeout | undefined;
    let stalled = false;
    const child = execFile(
      'git',
      args,
      { cwd: repo, env: processEnv(call), maxBuffer: MAX_OUTPUT, encoding: 'utf8' },
      (error, stdout, stderr) => {
        clearTimeout(idle);
        if (!error) return resolve({ code: 0, stdout, stderr });
        const code = typeof error.code === 'number' && !stalled ? error.code : -1;
        resolve({
          code,
          stdout,
          stderr: stalled
            ? `git ${commandOf(args)} wrote nothing for ${formatDuration(call.idleTimeoutMs!)} and was stopped`
            : stderr || (error.signal ? `git ${commandOf(args)} was stopped by ${error.signal}` : error.message),
          ...(child.pid === undefined ? { unstarted: String(error.code) } : {}),
          ...(code > 0 && stderr === '' ? { quiet: true } : {}),
        });
      },
    );
    if (call.idleTimeoutMs !== undefined) {
      const rearm = () => {
        clearTimeout(idle);
        idle = setTimeout(() => {
          stalled = true;
          child.kill();
        }, call.idleTimeoutMs);
      };
      rearm();
      child.stdout?.on('data', rearm);
      child.stderr?.on('data', rearm);
    }
    child.stdin?.on('error', () => {}); // git may exit before reading it all
    child.stdin?.end(call.input ?? '');
  });
}

/** runGit for a caller that cannot wait (reading objects in the middle of a sync function). */
export function runGitSync(repo: string, args: string[], call: GitCall = {}): GitOutcome<Buffer> {
  const result = spawnSync('git', args, { cwd: repo, env: processEnv(call), input: call.input, maxBuffer: MAX_OUTPUT });
  const stderr = result.stderr?.toString() ?? '';
  if (result.status === 0) return { code: 0, stdout: result.stdout, stderr };
  const unstarted = (result.error as NodeJS.ErrnoException | undefined)?.code;
  return {
    code: result.status ?? -1,
    stdout: result.stdout ?? Buffer.alloc(0),
    stderr: stderr || (result.error?.message ?? ''),
    ...(result.pid === 0 && unstarted ? { unstarted } : {}),
  };
}

/** runGitSync's output, or an EtlError with git's own words when git fails. */
export function gitOutputSync(repo: string, args: string[], call: GitCall = {}): Buffer {
  const outcome = runGitSync(repo, args, call);
  if (outcome.code !== 0) throw gitFailed(args, outcome);
  return outcome.stdout;
}

/** The error for a git command that failed: which one, and what git said. */
function gitFailed(args: string[], outcome: GitOutcome<unknown>): EtlError {
  return new EtlError('git-failed', `git ${commandOf(args)} failed: ${gitMessage(outcome.stderr)}`);
}

/** The git command among its arguments ("commit" in -c user.name=x commit -m ...). */
function commandOf(args: string[]): string {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-c' || args[i] === '-C') i++;
    else if (!args[i]!.startsWith('-')) return args[i]!;
  }
  return args[0] ?? '';
}

/**
 * A read-only git command's output as records split at `separator`, read as git writes them:
 * a reader that stops early (a --limit reached) ends git there, instead of waiting for, and
 * holding, the whole of a long history. A git that fails yields what it wrote before.
 */
export async function* gitRecords(
  repo: string,
  args: string[],
  separator: string,
  env: Env = process.env,
): AsyncGenerator<string> {
  const child = spawn('git', args, { cwd: repo, env: gitEnv(env), stdio: ['ignore', 'pipe', 'ignore'] });
  child.on('error', () => {}); // no git: the stream just ends
  child.stdout.setEncoding('utf8');
  let rest = '';
  try {
    for await (const chunk of child.stdout) {
      const records = (rest + chunk).split(separator);
      rest = records.pop()!;
      yield* records;
    }
    if (rest) yield rest;
  } finally {
    if (child.exitCode === null) child.kill();
  }
}
