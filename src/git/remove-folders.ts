// Committing the removal of many folders at once (etl ledger prune): the new tree is built in a
// temporary index from HEAD's, less the folders' files, so the cost is a few git processes
// whatever the number of folders, and neither the user's staged changes nor their other
// files are touched. HEAD moves by compare-and-swap, as a run's commit does (commit-folder.ts).
import { mkdtempSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { EtlError } from '../errors.js';
import { sleep } from '../timers.js';
import { type Env, gitOperation, identityArgs, isInsideWorkTree, openGit } from './git.js';
import { type GitWorkOptions, withGitLock } from './lock.js';
import { gitMessage, runGit } from './run-git.js';

export interface FolderRemoval extends GitWorkOptions {
  env?: Env;
  message: string;
  reflog: string;
  /** Folders are removed only below this one (runs): the folders above them that empty go too. */
  base: string;
  /** How long to keep retrying when HEAD moves between reading it and moving it (default 60 s). */
  casWaitMs?: number;
  /** How long to wait for another git process's index.lock (default 30 s). */
  lockWaitMs?: number;
}

export interface Removed {
  /** The commit that removed them; undefined when HEAD had none of their files. */
  commit?: string;
  /** Folders still on disk after the commit (a file that could not be deleted), for a message. */
  leftOnDisk: string[];
}

/**
 * Commits the removal of `folders` (relative to `repo`, under `base`) from HEAD, as one
 * commit, then drops their files from the index and deletes them from disk.
 */
export async function commitFolderRemoval(repo: string, folders: string[], options: FolderRemoval): Promise<Removed> {
  return gitOperation('removing folders from git', async () => {
    const env = options.env ?? process.env;
    const git = openGit(repo, env);
    if (!(await isInsideWorkTree(git, repo)))
      throw new EtlError('not-a-repository', `${repo} is not in a git repository: pruning the ledger needs one`);
    return withGitLock(
      git,
      repo,
      'pruning the ledger',
      async () => {
        const identity = await identityArgs(git, env);
        const { files, ...removed } = await removeUnderLock(repo, new Set(folders), identity, { ...options, env });
        if (removed.commit) removed.leftOnDisk = deleteFolders(repo, files, folders, options.base);
        return removed;
      },
      options,
    );
  });
}

async function removeUnderLock(
  repo: string,
  folders: Set<string>,
  identity: string[],
  options: FolderRemoval & { env: Env },
): Promise<Removed & { files: string[] }> {
  const { env } = options;
  const deadline = Date.now() + (options.casWaitMs ?? 60_000);
  for (let attempt = 1; ; attempt++) {
    const head = (await runGit(repo, ['rev-parse', '--verify', '--quiet', 'HEAD'], { env })).stdout.trim();
    const files = await filesUnder(repo, head, folders, env);
    if (files.length === 0) return { files: [], leftOnDisk: [] };
    const removal = files.map((file) => `0 ${'0'.repeat(40)}\t${file}\0`).join('');
    const tree = await treeWithout(repo, head, removal, env);
    const commit = (await git(repo, [...identity, 'commit-tree', tree, '-p', head, '-m', options.message], env)).trim();
    // Moves HEAD (or the branch it names) only if it is still where we read it.
    const moved = await runGit(repo, ['update-ref', '-m', options.reflog, 'HEAD', commit, head], { env });
    if (moved.code === 0) {
      await dropFromIndex(repo, removal, env, options.lockWaitMs ?? 30_000);
      return { commit, files, leftOnDisk: [] };
    }
    // Retried only when someone else moved HEAD meanwhile; any other refusal (a hook) is final.
    const now = (await runGit(repo, ['rev-parse', '--verify', '--quiet', 'HEAD'], { env })).stdout.trim();
    if (now === head || Date.now() >= deadline)
      throw new EtlError(
        'commit-failed',
        `could not commit the prune: ${gitMessage(moved.stderr)}; nothing was removed`,
      );
    await sleep(Math.random() * Math.min(1000, 25 * 2 ** Math.min(attempt, 6))); // HEAD moved: build on it
  }
}

export interface FolderStates {
  /** Folders of that depth HEAD has. */
  committed: Set<string>;
  /** Folders with something git does not have as HEAD has it: untracked, changed or staged files. */
  changed: Set<string>;
}

/**
 * Which folders `depth` levels deep under `parents` (runs/<sequence>) HEAD has, and which hold
 * anything not committed as it is: two listings, whatever the number of folders. Nothing is
 * written, not even the index's cached stat data (--no-optional-locks).
 */
export async function folderStates(repo: string, parents: string[], depth: number, env: Env): Promise<FolderStates> {
  const states: FolderStates = { committed: new Set(), changed: new Set() };
  const inside = await runGit(repo, ['rev-parse', '--is-inside-work-tree'], { env });
  if (inside.stdout.trim() !== 'true')
    throw new EtlError(
      'not-a-repository',
      `${repo} is not in a git working tree: pruning removes run folders in a commit, so that git history keeps them`,
    );
  const head = (await runGit(repo, ['rev-parse', '--verify', '--quiet', 'HEAD'], { env })).stdout.trim();
  if (head === '' || parents.length === 0) return states;
  const prefix = (path: string) => path.split('/').slice(0, depth).join('/');
  const trees = await git(repo, ['ls-tree', '-r', '-t', '-z', '--name-only', head, '--', ...parents], env);
  for (const path of trees.split('\0')) if (path.split('/').length === depth) states.committed.add(path);
  const status = await git(
    repo,
    ['--no-optional-locks', 'status', '--porcelain=v1', '-z', '--untracked-files=all', '--', ...parents],
    env,
  );
  // "XY path", and for a rename a second NUL-ended field (its old path).
  for (const entry of status.split('\0')) if (entry.length > 3) states.changed.add(prefix(entry.slice(3)));
  return states;
}

/** HEAD's files inside the folders (one listing of the base folders they are in, filtered here). */
async function filesUnder(repo: string, head: string, folders: Set<string>, env: Env): Promise<string[]> {
  if (!head) return [];
  const depth = [...folders][0]?.split('/').length ?? 0;
  // Listing runs/<sequence> for each sequence involved: pathspecs by the thousand would be matched one by one.
  const parents = [...new Set([...folders].map((folder) => folder.split('/').slice(0, 2).join('/')))];
  const listing = await git(repo, ['ls-tree', '-r', '-z', '--name-only', head, '--', ...parents], env);
  return listing.split('\0').filter((file) => file !== '' && folders.has(file.split('/').slice(0, depth).join('/')));
}

/** HEAD's tree less the removed files, built in a temporary index. */
async function treeWithout(repo: string, head: string, removal: string, env: Env): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'etl-prune-'));
  const indexFile = join(dir, 'index');
  try {
    await git(repo, ['read-tree', head], env, { indexFile });
    await git(repo, ['update-index', '-z', '--index-info'], env, { indexFile, input: removal });
    return (await git(repo, ['write-tree'], env, { indexFile })).trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The user's index forgets the removed files (and nothing else), waiting while another git
 * process holds index.lock; the lock is never removed (a live git process owns it).
 */
async function dropFromIndex(repo: string, removal: string, env: Env, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
    const outcome = await runGit(repo, ['update-index', '-z', '--index-info'], { env, input: removal });
    if (outcome.code === 0) return;
    if (!/index\.lock/.test(outcome.stderr) || Date.now() + delay > deadline)
      throw new EtlError(
        'index-locked',
        `the prune is committed, but the index still lists the removed files (${gitMessage(outcome.stderr)}): "git reset -q" puts it right`,
      );
    await sleep(delay);
  }
}

/**
 * Deletes the removed files from disk, folder after folder (each one's files, its subfolders,
 * itself: what one folder holds is deleted while its entries are at hand, as rm -r does), then
 * the folders above them left empty, up to `base`/<name>. Git listed the files: nothing is read
 * twice, as rmSync's recursive walk would. A folder that is not empty then (a file git does not
 * track, an ignored one) is removed whole; one that cannot be is returned.
 */
function deleteFolders(repo: string, files: string[], removed: string[], base: string): string[] {
  const depth = removed[0]?.split('/').length ?? 0;
  const byFolder = new Map<string, string[]>();
  for (const file of files) {
    const folder = file.split('/').slice(0, depth).join('/');
    byFolder.set(folder, [...(byFolder.get(folder) ?? []), file]);
  }
  const left: string[] = [];
  const parents = new Set<string>();
  for (const [folder, inside] of byFolder) {
    const subfolders = new Set<string>();
    for (const file of inside) {
      try {
        unlinkSync(join(repo, file));
      } catch {
        // gone already, or left for the rmdir below to notice
      }
      for (let up = dirname(file); up !== folder; up = dirname(up)) subfolders.add(up);
    }
    try {
      for (const sub of [...subfolders].sort((a, b) => b.length - a.length)) rmdirSync(join(repo, sub));
      rmdirSync(join(repo, folder));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') removeWhole(repo, folder, left);
    }
    for (let up = dirname(folder); up.split('/').length > base.split('/').length + 1; up = dirname(up)) parents.add(up);
  }
  // Deepest first: a day's folder before its month's; one with runs kept stays.
  for (const parent of [...parents].sort((a, b) => b.length - a.length)) {
    try {
      rmdirSync(join(repo, parent));
    } catch {
      // not empty, or gone
    }
  }
  return left;
}

function removeWhole(repo: string, folder: string, left: string[]): void {
  try {
    rmSync(join(repo, folder), { recursive: true, force: true });
  } catch {
    left.push(folder);
  }
}

/** git's output, or an EtlError with its words. */
async function git(
  repo: string,
  args: string[],
  env: Env,
  extra: { indexFile?: string; input?: string } = {},
): Promise<string> {
  const outcome = await runGit(repo, args, { env, ...extra });
  if (outcome.code !== 0)
    throw new EtlError(
      'git-failed',
      `git ${args
        .filter((a) => !a.includes('='))
        .join(' ')
        .slice(0, 60)} failed: ${gitMessage(outcome.stderr)}`,
    );
  return outcome.stdout;
}
