// Committing the removal of many folders at once (etl ledger prune): the new tree is HEAD's
// with the folders' entries left out, built from the trees along their paths only, so the
// cost is a few git processes whatever the number of folders and files, and neither the
// user's staged changes nor their other files are touched. HEAD moves by compare-and-swap, as
// a run's commit does (commit-folder.ts); the folders leave the working tree by trash.ts.
import { EtlError } from '../errors.js';
import { sleep } from '../timers.js';
import {
  type Env,
  type GitClient,
  gitOperation,
  identityArgs,
  isInsideWorkTree,
  openGit,
  withIndexLock,
} from './git.js';
import { type GitWorkOptions, withGitLock } from './lock.js';
import { formatTree, objectId, parseTree, readObjects, type TreeEntry, writeTrees } from './objects.js';
import { gitMessage, runGit } from './run-git.js';
import { discardFolders } from './trash.js';

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
  /** Where the removed folders are being deleted by a background process, if they are. */
  emptying?: string;
}

/**
 * Commits the removal of `folders` (relative to `repo`, under `base`) from HEAD, as one
 * commit, then drops their files from the index and takes them out of the working tree.
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
        const commit = await removeUnderLock(repo, git, folders, identity, { ...options, env });
        if (!commit) return { leftOnDisk: [] };
        const { left, emptying } = discardFolders(repo, folders, options.base);
        return { commit, leftOnDisk: left, ...(emptying ? { emptying } : {}) };
      },
      options,
    );
  });
}

/** The commit that removed the folders from HEAD, or undefined when HEAD had none of them. */
async function removeUnderLock(
  repo: string,
  git: GitClient,
  folders: string[],
  identity: string[],
  options: FolderRemoval & { env: Env },
): Promise<string | undefined> {
  const { env } = options;
  const deadline = Date.now() + (options.casWaitMs ?? 60_000);
  for (let attempt = 1; ; attempt++) {
    const head = (await runGit(repo, ['rev-parse', '--verify', '--quiet', 'HEAD'], { env })).stdout.trim();
    const tree = head ? treeWithout(repo, head, folders, env) : undefined;
    if (tree === undefined) return undefined;
    const commit = (
      await gitOut(repo, [...identity, 'commit-tree', tree, '-p', head, '-m', options.message], env)
    ).trim();
    // Moves HEAD (or the branch it names) only if it is still where we read it.
    const moved = await runGit(repo, ['update-ref', '-m', options.reflog, 'HEAD', commit, head], { env });
    if (moved.code === 0) {
      await forgetInIndex(git, head, commit, options.lockWaitMs ?? 30_000);
      return commit;
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
  const trees = await gitOut(repo, ['ls-tree', '-r', '-t', '-z', '--name-only', head, '--', ...parents], env);
  for (const path of trees.split('\0')) if (path.split('/').length === depth) states.committed.add(path);
  const status = await gitOut(
    repo,
    ['--no-optional-locks', 'status', '--porcelain=v1', '-z', '--untracked-files=all', '--', ...parents],
    env,
  );
  // "XY path", and for a rename a second NUL-ended field (its old path).
  for (const entry of status.split('\0')) if (entry.length > 3) states.changed.add(prefix(entry.slice(3)));
  return states;
}

/** A folder path, one name a level: where the removed folders are. */
interface PathNode {
  children: Map<string, PathNode>;
  /** This folder is one of those removed. */
  removed: boolean;
}

/**
 * HEAD's tree less the folders, or undefined when HEAD has none of them. Only the trees above
 * a removed folder are read (one git process) and rebuilt; the new ones are written with one
 * more. A folder removed whole is one entry left out of its parent, whatever it holds.
 */
function treeWithout(repo: string, head: string, folders: string[], env: Env): string | undefined {
  const root: PathNode = { children: new Map(), removed: false };
  const above: string[] = ['']; // the paths of the trees to read, '' for the root
  for (const folder of folders) {
    let node = root;
    folder.split('/').forEach((name, i, names) => {
      let child = node.children.get(name);
      if (!child) {
        child = { children: new Map(), removed: false };
        node.children.set(name, child);
        if (i < names.length - 1) above.push(names.slice(0, i + 1).join('/'));
      }
      node = child;
    });
    node.removed = true;
  }
  const specOf = (path: string) => (path === '' ? `${head}^{tree}` : `${head}:${path}`);
  const trees = readObjects(repo, above.map(specOf), env);
  const written = new Map<string, Buffer>();
  /** The id of the tree at `path` once rebuilt, or null when nothing is left in it. */
  const rebuild = (node: PathNode, path: string, content: Buffer): string | null => {
    const entries: TreeEntry[] = [];
    for (const entry of parseTree(content)) {
      const child = entry.mode === '40000' ? node.children.get(entry.name) : undefined;
      if (child?.removed) continue;
      const childPath = path === '' ? entry.name : `${path}/${entry.name}`;
      const inside = child ? trees.get(specOf(childPath)) : undefined;
      const id = inside?.type === 'tree' ? rebuild(child!, childPath, inside.content) : entry.id;
      if (id !== null) entries.push({ ...entry, id });
    }
    if (entries.length === 0 && path !== '') return null;
    const tree = formatTree(entries);
    const id = objectId('tree', tree);
    written.set(id, tree);
    return id;
  };
  const headTree = trees.get(specOf(''));
  if (!headTree) throw new EtlError('git-failed', `git could not read the tree of HEAD (${head})`);
  const tree = rebuild(root, '', headTree.content)!;
  if (tree === objectId('tree', headTree.content)) return undefined;
  // The trees that did not change are in git already.
  const existing = new Set([...trees.values()].map((object) => objectId('tree', object.content)));
  writeTrees(repo, new Map([...written].filter(([id]) => !existing.has(id))), env);
  return tree;
}

/**
 * The user's index forgets the removed files and nothing else (what they staged stays
 * staged, the stat data of the rest is kept): a two-tree read-tree from the old HEAD to the
 * new one, waiting while another git process holds index.lock.
 */
async function forgetInIndex(git: GitClient, head: string, commit: string, waitMs: number): Promise<void> {
  try {
    await withIndexLock(() => git.raw(['read-tree', '-m', head, commit]), waitMs);
  } catch (error) {
    throw new EtlError(
      'index-locked',
      `the prune is committed, but the index still lists the removed files (${gitMessage(error)}): "git read-tree -m ${head.slice(0, 12)} HEAD" puts it right`,
      undefined,
      { cause: error },
    );
  }
}

/** git's output, or an EtlError with its words. */
async function gitOut(
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
