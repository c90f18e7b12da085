import { isAbsolute, resolve } from 'node:path';
import { EtlError } from '../errors.js';
import { sleep } from '../timers.js';
import { gitMessage, runGit, runGitSync, type GitCall } from './run-git.js';

export type Env = Record<string, string | undefined>;

/** The identity of ledger commits when git has none configured. */
export const DEFAULT_IDENTITY = { name: 'etl-ledger', email: 'etl-ledger@users.noreply.github.com' };
/** actions/checkout's documented identity for commits made by a workflow. */
export const ACTIONS_IDENTITY = {
  name: 'github-actions[bot]',
  email: '41898282+github-actions[bot]@users.noreply.github.com',
};

/** A client for one repository's git: each command's output, or a GitCommandError. */
export interface GitClient {
  raw(args: string[]): Promise<string>;
}

/** A git command that ran and said why it failed; the message is what it wrote (output, then errors). */
export class GitCommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'GitCommandError';
  }
}

/** A git that writes nothing for this long is stopped (a remote that never answers). */
const GIT_IDLE_TIMEOUT_MS = 10 * 60_000;

/**
 * A git client for one repository: one git process at a time (parallel index writers collide
 * on index.lock), English messages (they are matched below), and never a prompt. The user's
 * own SSH settings stay in force for pushes. Commands run through runGit: simple-git, chosen
 * at first, waits 50 ms after every command that prints nothing (README "Speed").
 */
export function openGit(repo: string, env: Env = process.env, extra: Env = {}): GitClient {
  let queue: Promise<unknown> = Promise.resolve();
  return {
    raw(args) {
      const answer = queue.then(() => gitAnswer(repo, args, { env, extra, idleTimeoutMs: GIT_IDLE_TIMEOUT_MS }));
      queue = answer.catch(() => undefined);
      return answer;
    },
  };
}

/**
 * What a command printed. A command that exits non-zero without a word of error (config
 * --get-regexp finding nothing, rev-parse --verify --quiet) answers with what it printed, as
 * git's own scripts read it; one that says why it failed throws its words.
 */
async function gitAnswer(repo: string, args: string[], call: GitCall): Promise<string> {
  const outcome = await runGit(repo, args, call);
  if (outcome.code === 0 || outcome.quiet) return outcome.stdout;
  throw new GitCommandError(outcome.stdout + outcome.stderr, outcome.code);
}

/** Whether an error is git's own (a command that ran and failed). */
export function isGitError(error: unknown): error is GitCommandError {
  return error instanceof GitCommandError;
}

/**
 * A read-only git query, for what every run asks at start (its config,
 * HEAD, the committed definitions): its output, or undefined when git fails or is missing.
 */
export async function gitQuery(
  repo: string,
  args: string[],
  env: Env = process.env,
  input?: string,
): Promise<string | undefined> {
  const outcome = await runGit(repo, args, { env, input });
  return outcome.code === 0 ? outcome.stdout : undefined;
}

const INDEX_LOCKED = /Unable to create '[^']*\.lock': File exists|index\.lock/;

/**
 * Runs a git command that writes the index, waiting while another git process holds
 * index.lock. The lock is never removed: a live git process owns it, and removing it
 * would corrupt that process's work.
 */
export async function withIndexLock<T>(
  run: () => Promise<T>,
  waitMs = 30_000,
  onWait?: (message: string) => void,
): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
    try {
      return await run();
    } catch (error) {
      if (!isGitError(error) || !INDEX_LOCKED.test(error.message)) throw error;
      if (delay === 50) onWait?.('waiting for another git process to release .git/index.lock');
      if (Date.now() + delay > deadline) {
        throw new EtlError(
          'index-locked',
          `another git process has held .git/index.lock for more than ${Math.round(waitMs / 1000)} s; wait for it to finish (if no git process runs, a crash left the lock: remove .git/index.lock yourself)`,
          undefined,
          { cause: error },
        );
      }
      await sleep(delay);
    }
  }
}

/** `-c user.name=… -c user.email=…` when git has no identity of its own. */
export async function identityArgs(git: GitClient, env: Env): Promise<string[]> {
  // Both keys with one git process (--get-regexp exits 1, printing nothing, when neither is set).
  const config = await git.raw(['config', '--get-regexp', '^user\\.(name|email)$']).catch(() => '');
  let name = '';
  let email = '';
  for (const line of config.split('\n')) {
    const space = line.indexOf(' ');
    const [key, value] = space === -1 ? [line, ''] : [line.slice(0, space), line.slice(space + 1)];
    if (key === 'user.name') name = value.trim(); // the last one set wins, as with --get
    if (key === 'user.email') email = value.trim();
  }
  if ((name || env.GIT_AUTHOR_NAME) && (email || env.GIT_AUTHOR_EMAIL)) return [];
  const identity = env.GITHUB_ACTIONS === 'true' ? ACTIONS_IDENTITY : DEFAULT_IDENTITY;
  return ['-c', `user.name=${name || identity.name}`, '-c', `user.email=${email || identity.email}`];
}

/**
 * Runs a ledger operation so that a failing git command surfaces as an EtlError with git's
 * own words (not a repository, no such remote, permission denied), never a stack trace.
 */
export async function gitOperation<T>(what: string, run: () => Promise<T>): Promise<T> {
  requireGitVersion();
  try {
    return await run();
  } catch (error) {
    if (isGitError(error))
      throw new EtlError('git-failed', `${what} failed: ${gitMessage(error)}`, undefined, { cause: error });
    throw error;
  }
}

/** The commit a revision names, or '' when it names none. */
export async function resolveCommit(git: GitClient, rev: string): Promise<string> {
  return (await git.raw(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]).catch(() => '')).trim();
}

interface RepositoryDirs {
  /** False in a bare repository or inside a .git directory. */
  workTree: boolean;
  /** The git directory all worktrees of the repository share. */
  commonDir: string;
}

const repositoryDirsKnown = new Map<string, RepositoryDirs>();

/**
 * Asked of git once per process and repository: where a repository keeps its git directory
 * does not change while etl runs, and the pre-run check, the commit and the push of one run
 * each asked again (one git process each, under the git lock for the last two).
 */
async function repositoryDirs(git: GitClient, repo: string): Promise<RepositoryDirs> {
  const key = resolve(repo);
  let known = repositoryDirsKnown.get(key);
  if (known === undefined) {
    const [inside = '', common = ''] = (await git.raw(['rev-parse', '--is-inside-work-tree', '--git-common-dir']))
      .trim()
      .split('\n');
    known = { workTree: inside === 'true', commonDir: isAbsolute(common) ? common : resolve(repo, common) };
    repositoryDirsKnown.set(key, known); // only an answer: "not a repository" may change with a "git init"
  }
  return known;
}

/** Whether `repo` is inside a git work tree (false outside any repository, or in a bare one). */
export async function isInsideWorkTree(git: GitClient, repo: string): Promise<boolean> {
  return (await repositoryDirs(git, repo).catch(() => undefined))?.workTree === true;
}

/** The git directory all worktrees of a repository share (where etl keeps its own git state). */
export async function gitCommonDir(git: GitClient, repo: string): Promise<string> {
  return (await repositoryDirs(git, repo)).commonDir;
}

/** The branch checked out, or '' on a detached HEAD. */
export async function checkedOutBranch(git: GitClient): Promise<string> {
  return (await git.raw(['symbolic-ref', '--quiet', '--short', 'HEAD']).catch(() => '')).trim();
}

/** The branch a push from HEAD goes to: the one checked out, or the one given (needed when detached). */
export async function pushBranch(git: GitClient, given?: string): Promise<string> {
  const name = given ?? (await checkedOutBranch(git));
  if (!name) throw new EtlError('detached-head', 'HEAD is detached: say which remote branch to push to with --branch');
  return name;
}

/**
 * The branch that pushes and dispatches go to: the remote's default branch (origin/HEAD),
 * else the branch checked out (a new repository has one before its first commit), else main.
 */
export async function defaultBranch(repo: string, env: Env = process.env): Promise<string> {
  const git = openGit(repo, env);
  const remoteHead = (
    await git.raw(['symbolic-ref', '--quiet', '--short', 'refs/remotes/origin/HEAD']).catch(() => '')
  ).trim();
  const current = await checkedOutBranch(git);
  return remoteHead.replace(/^origin\//, '') || current || 'main';
}

/** The oldest git etl-ledger works with (README "The ledger in git"). */
export const MIN_GIT_VERSION = [2, 30] as const;
let gitVersionChecked = false;

/** Checks once per process that git is installed and recent enough, with a clear message if not. */
export function requireGitVersion(): void {
  if (gitVersionChecked) return;
  const result = runGitSync(process.cwd(), ['--version']);
  if (result.unstarted)
    throw new EtlError(
      'git-missing',
      `git is needed to record runs in the ledger, and it cannot be started (${result.unstarted}): install git ${MIN_GIT_VERSION.join('.')} or later`,
    );
  const version = result.stdout.toString();
  const [major = 0, minor = 0] = (/(\d+)\.(\d+)/.exec(version) ?? []).slice(1).map(Number);
  if (major < MIN_GIT_VERSION[0] || (major === MIN_GIT_VERSION[0] && minor < MIN_GIT_VERSION[1])) {
    throw new EtlError(
      'git-too-old',
      `${version.trim()} is too old: etl-ledger needs git ${MIN_GIT_VERSION.join('.')} or later`,
    );
  }
  gitVersionChecked = true;
}
