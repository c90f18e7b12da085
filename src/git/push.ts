import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtlError } from '../errors.js';
import {
  checkedOutBranch,
  gitOperation,
  isGitError,
  identityArgs,
  openGit,
  pushBranch,
  type Env,
  type GitClient,
} from './git.js';
import type { KeptAside } from './kept-aside.js';
import { withGitLock, type GitWorkOptions } from './lock.js';
import { gitMessage, gitOutputSync } from './run-git.js';
import { sleep } from '../timers.js';

/** git rebase refusing to start: local changes, or a rebase already in progress. */
const REBASE_REFUSED = /cannot rebase|already a rebase-(merge|apply) directory/;

/** Rejections that mean "the remote moved": fetch, put our commits on top, try again. */
const MOVED = /\(fetch first\)|non-fast-forward|cannot lock ref|failed to update ref|incorrect old value|stale info/;

export interface PushOptions extends GitWorkOptions {
  remote?: string;
  /** The remote branch; default: the branch checked out. Needed from a detached HEAD. */
  branch?: string;
  env?: Env;
  /** Tries before giving up; with N writers racing, one may lose many times in a row. */
  attempts?: number;
  /** Told before each retry, for a progress line. */
  onRetry?: (attempt: number, reason: string) => void;
  /** Waits out a back-off (default: sleep); tests see when one is taken. */
  pause?: (ms: number) => Promise<unknown>;
}

export interface PushResult {
  remote: string;
  branch: string;
  attempts: number;
  /** The commit the remote branch now points at. */
  head: string;
  /** False when the remote already had every commit: nothing was sent. */
  pushed: boolean;
  /**
   * Set when local changes overlapped what the remote changed: the commits were delivered on
   * top of the remote's tip, and HEAD, the index and the working tree were left as they were.
   */
  keptAside?: KeptAside;
}

/**
 * Pushes HEAD to the remote branch, never forcing. When the push is rejected because the
 * remote moved on, fetches it, rebases the local commits on top and tries again: at once the
 * first time (the clone was behind), after a jittered back-off when it lost a race to another
 * runner. Ledger commits only add files of their own run, so the rebase does not conflict; if
 * it ever does, it is undone and the error says so (the records stay on disk and in the
 * local commits).
 */
export async function pushLedger(repo: string, options: PushOptions = {}): Promise<PushResult> {
  const env = options.env ?? process.env;
  const git = openGit(repo, env);
  return gitOperation('pushing the ledger', () => pushWithRetries(repo, git, env, options));
}

async function pushWithRetries(repo: string, git: GitClient, env: Env, options: PushOptions): Promise<PushResult> {
  const remote = options.remote ?? 'origin';
  const branch = await pushBranch(git, options.branch);
  const attempts = options.attempts ?? 50;
  const pause = options.pause ?? sleep;
  const later = `the runs are committed locally; deliver them later with "etl ledger sync --push${remote === 'origin' ? '' : ` --remote ${remote}`}${options.branch ? ` --branch ${branch}` : ''}"`;
  let identity: Promise<string[]> | undefined; // asked once, and only if a rebase needs it
  // Its own client: asked while the fetch runs, not queued behind it.
  const target: Target = { remote, branch, identity: () => (identity ??= identityArgs(openGit(repo, env), env)) };
  let round = 0; // how long the last round, from the fetch to the refusal, took
  for (let attempt = 1; ; ) {
    // The lock is held for one round (catch up, push) and never during a pause: other runs in
    // this clone commit meanwhile, and the next push delivers their commits too.
    const result = await withGitLock(
      git,
      repo,
      'pushing the ledger',
      async () => {
        // After a back-off the remote has surely moved on: catch up before pushing.
        let started = Date.now();
        let source: Placed = attempt === 1 ? { moved: true } : await catchUp(repo, git, env, target);
        for (;;) {
          try {
            return await pushOnce(git, target, source, attempt);
          } catch (error) {
            if (!isGitError(error) || !MOVED.test(error.message)) {
              throw new EtlError(
                'push-failed',
                `git push to ${remote} ${branch} failed: ${gitMessage(error)}; ${later}`,
                undefined,
                { cause: error },
              );
            }
            if (attempt >= attempts) {
              throw new EtlError(
                'push-failed',
                `git push to ${remote} ${branch} was still rejected after ${attempts} attempts (other runners keep pushing); ${later}`,
                undefined,
                { cause: error },
              );
            }
            options.onRetry?.(attempt, MOVED.exec(error.message)?.[0] ?? 'rejected');
            attempt++;
            // A first refusal is the common case of a clone that is behind, not a lost race:
            // catching up at once is what a pause would end with anyway.
            if (attempt > 2) {
              round = Date.now() - started;
              return undefined;
            }
            started = Date.now();
            source = await catchUp(repo, git, env, target);
          }
        }
      },
      options,
    );
    if (result) return result;
    // Lost a race: a short, random, slowly growing pause spreads racing runners out; a long
    // exponential one would make a runner that lost a few times lose to every newcomer.
    await pause(20 + Math.random() * round * Math.min(2 ** (attempt - 3), 8));
  }
}

interface Target {
  remote: string;
  branch: string;
  identity: () => Promise<string[]>;
}

/** One push of HEAD (or of the commits built beside it); throws git's refusal. */
async function pushOnce(git: GitClient, target: Target, source: Placed, attempt: number): Promise<PushResult> {
  // HEAD:refs/heads/B works from a branch and from a detached HEAD alike.
  const from = source.moved ? 'HEAD' : source.tip;
  const report = await git.raw(['push', '--porcelain', '--', target.remote, `${from}:refs/heads/${target.branch}`]);
  const pushed = !/^=\t/m.test(report); // "=" flags a ref that was already up to date
  const head = (await git.raw(['rev-parse', from])).trim();
  const result: PushResult = { remote: target.remote, branch: target.branch, attempts: attempt, head, pushed };
  if (!source.moved) result.keptAside = await keptAside(git, source.files, head, `${target.remote}/${target.branch}`);
  return result;
}

/**
 * Fetches the remote branch and puts the local commits on top. Between the fetch and the
 * push that follows, another runner's push makes this one lose: only the rebase is done in
 * between (the identity a rebase may need is asked while the fetch runs).
 */
async function catchUp(repo: string, git: GitClient, env: Env, target: Target): Promise<Placed> {
  const [identity] = await Promise.all([
    target.identity(),
    git.raw(['fetch', '--quiet', '--', target.remote, `refs/heads/${target.branch}`]),
  ]);
  return rebaseOnto(repo, git, env, { onto: 'FETCH_HEAD', name: `${target.remote}/${target.branch}`, identity });
}

/** Where the local commits went: HEAD moved onto the remote, or commits built beside it. */
type Placed = { moved: true } | { moved: false; tip: string; files: string[] };

/**
 * Puts the local commits that the remote lacks on top of `onto`. With a clean working tree
 * this is `git rebase`; with local changes (git rebase refuses them, changing nothing) it
 * replays the commits without touching the working tree or the index beyond what the new
 * commits change (--autostash would unstage what the user staged). When those changes are
 * to files the remote changed too, HEAD cannot move without touching them: it stays, and the
 * replayed commits are returned to be pushed as they are (run records never conflict with
 * anything).
 */
async function rebaseOnto(
  repo: string,
  git: GitClient,
  env: Env,
  { onto: ref, name, identity }: { onto: string; name: string; identity: string[] },
): Promise<Placed> {
  const conflict = (error: unknown) =>
    new EtlError(
      'rebase-conflict',
      `putting the ledger commits on top of ${name} conflicted (${gitMessage(error)}); nothing was changed: the records are on disk and committed locally. Resolve it, then run "etl ledger sync"`,
      undefined,
      { cause: error },
    );
  try {
    await git.raw([...identity, 'rebase', '--quiet', '--no-autostash', ref]);
    return { moved: true };
  } catch (error) {
    // Local changes, or an untracked file where the remote added one: replayed below,
    // beside HEAD if need be. A rebase git refused to start (a person's own in progress
    // among them) is not aborted: there is nothing of ours to undo.
    if (!REBASE_REFUSED.test(gitMessage(error))) await git.raw(['rebase', '--abort']).catch(() => undefined);
  }
  const onto = (await git.raw(['rev-parse', ref])).trim();
  const head = (await git.raw(['rev-parse', 'HEAD'])).trim();
  const commits = (await git.raw(['rev-list', '--reverse', `${onto}..HEAD`])).split('\n').filter(Boolean);
  let tip = onto;
  for (const commit of commits) {
    let tree: string;
    try {
      tree = replayTree(repo, env, tip, commit);
    } catch (error) {
      throw conflict(error);
    }
    // Already there (delivered before from beside HEAD): dropped, as git rebase drops it.
    if (tree === (await git.raw(['rev-parse', `${tip}^{tree}`])).trim()) continue;
    const [name, email, date, ...message] = (
      await git.raw(['log', '-1', '--format=%an%n%ae%n%ad%n%B', '--date=raw', commit])
    ).split('\n');
    // The replayed commit keeps its author and date, as a rebase would.
    const asAuthor = openGit(repo, env, { GIT_AUTHOR_NAME: name, GIT_AUTHOR_EMAIL: email, GIT_AUTHOR_DATE: date });
    tip = (
      await asAuthor.raw([...identity, 'commit-tree', tree, '-p', tip, '-m', message.join('\n').trimEnd()])
    ).trim();
  }
  try {
    // Move the index and working tree from HEAD to the new tip, keeping local changes
    // to other files; refuses (and changes nothing) if they touch the same files.
    await git.raw(['read-tree', '-m', '-u', head, tip]);
  } catch {
    return { moved: false, tip, files: await overlapping(git, head, tip) };
  }
  await git.raw(['update-ref', '-m', `etl-ledger: ledger commits on top of ${name}`, 'HEAD', tip, head]);
  return { moved: true };
}

/** The files with local changes (staged or not) that also differ between `head` and `tip`. */
async function overlapping(git: GitClient, head: string, tip: string): Promise<string[]> {
  const names = async (args: string[]) => (await git.raw(args)).split('\n').filter(Boolean);
  const changed = new Set(await names(['diff', '--name-only', head, tip]));
  const local = [
    ...(await names(['diff', '--name-only', 'HEAD'])),
    ...(await names(['diff', '--cached', '--name-only'])),
    ...(await names(['ls-files', '--others', '--exclude-standard'])),
  ];
  return [...new Set(local.filter((file) => changed.has(file)))].sort();
}

/** How HEAD relates to the commit just pushed beside it. */
async function keptAside(git: GitClient, files: string[], pushed: string, remote: string): Promise<KeptAside> {
  const [ahead, behind] = (await git.raw(['rev-list', '--left-right', '--count', `HEAD...${pushed}`]))
    .trim()
    .split(/\s+/)
    .map(Number) as [number, number];
  return { files, local: await checkedOutBranch(git), remote, ahead, behind };
}

/**
 * The tree of `tip` with the changes of `commit` applied, built in a temporary index (works
 * on git 2.30; `merge-tree --write-tree --merge-base` needs 2.40). Ledger commits only add
 * files of their own run: a path that `tip` changed too is a conflict, and nothing is written.
 */
function replayTree(repo: string, env: Env, tip: string, commit: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'etl-replay-'));
  const git = (args: string[], input?: string) =>
    gitOutputSync(repo, args, { env, input, indexFile: join(dir, 'index') }).toString();
  try {
    // ":old-mode new-mode old-id new-id status\0path\0" per changed path.
    const fields = git(['diff-tree', '-r', '-z', '--no-renames', `${commit}^`, commit]).split('\0');
    const changes: Array<{ mode: string; id: string; oldId: string; path: string }> = [];
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const [, mode, oldId, id] = fields[i]!.slice(1).split(' ') as [string, string, string, string];
      changes.push({ mode, oldId, id, path: fields[i + 1]! });
    }
    if (changes.length === 0) return git(['rev-parse', `${tip}^{tree}`]).trim();
    const atTip = new Map(
      git(['ls-tree', '-r', '-z', tip, '--', ...changes.map((c) => c.path)])
        .split('\0')
        .filter(Boolean)
        .map((line) => [line.slice(line.indexOf('\t') + 1), line.split(' ')[2]!.split('\t')[0]!] as const),
    );
    const ZERO = '0'.repeat(40);
    for (const change of changes) {
      const there = atTip.get(change.path) ?? ZERO;
      if (there !== change.oldId && there !== change.id) throw new Error(`${change.path} was changed on both sides`);
    }
    git(['read-tree', tip]);
    git(
      ['update-index', '-z', '--index-info'],
      changes.map((c) => (c.id === ZERO ? `0 ${ZERO}\t${c.path}\0` : `${c.mode} ${c.id}\t${c.path}\0`)).join(''),
    );
    return git(['write-tree']).trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
