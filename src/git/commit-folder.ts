// Committing one folder by building objects: its files become blobs and trees spliced into
// HEAD's tree, so the cost does not grow with history, and HEAD moves by compare-and-swap.
import { readdirSync, type Dirent } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { EtlError } from '../errors.js';
import { sleep } from '../timers.js';
import {
  gitOperation,
  identityArgs,
  isInsideWorkTree,
  openGit,
  withIndexLock,
  type Env,
  type GitClient,
} from './git.js';
import { withGitLock, type GitWorkOptions } from './lock.js';
import { formatTree, objectId, parseTree, readObjects, writeObjects, writeTrees, type TreeEntry } from './objects.js';
import { gitMessage } from './run-git.js';

export interface CommitFolderOptions extends GitWorkOptions {
  env?: Env;
  /** How long to wait for another git process's index.lock. */
  lockWaitMs?: number;
  /** How long to keep retrying when HEAD moves between reading it and moving it (default 60 s). */
  casWaitMs?: number;
}

/** What a folder's commit says: its message, what it records (for errors), its reflog line. */
export interface FolderCommit extends CommitFolderOptions {
  message: string;
  what: string;
  reflog: string;
  /** How the files still get committed if this fails, for the error message. */
  later: string;
}

/**
 * Commits one folder and nothing else, and returns the new commit (undefined when the
 * folder had nothing new). The commit is built from objects: the folder's files become
 * blobs and trees, spliced into HEAD's tree along the folder's path, so the cost does not
 * grow with the number of runs in history (`git commit` would rebuild the whole tree).
 * HEAD moves by compare-and-swap; the index learns only the folder's files, so whatever the
 * user has staged stays staged and their other changes stay uncommitted.
 */
export async function commitFolder(repo: string, folder: string, options: FolderCommit): Promise<string | undefined> {
  return gitOperation(`recording ${options.what} in git`, async () => {
    const env = options.env ?? process.env;
    const git = openGit(repo, env);
    if (!(await isInsideWorkTree(git, repo))) {
      throw new EtlError(
        'not-a-repository',
        `${repo} is not in a git repository: recording ${options.what} in git needs one ("git init")`,
      );
    }
    return withGitLock(
      git,
      repo,
      `recording ${options.what}`,
      () => commitUnderLock(repo, git, folder, env, options),
      options,
    );
  });
}

async function commitUnderLock(
  repo: string,
  git: GitClient,
  folder: string,
  env: Env,
  options: FolderCommit,
): Promise<string | undefined> {
  const files = listFiles(join(repo, folder));
  const folderTree = buildTrees(repo, folder, files, env);
  // The index first: this waits while another git process (a person's `git commit`) holds
  // index.lock, so HEAD is not moved under that process's feet.
  await withIndexLock(
    () => git.raw(['update-index', '--add', '--', ...files.map((f) => `${folder}/${f}`)]),
    options.lockWaitMs,
    options.onWait,
  );
  // Other etl processes wait for the git lock; what can still move HEAD meanwhile is a
  // person's commit or another tool. Retry with jittered back-off until a deadline.
  const deadline = Date.now() + (options.casWaitMs ?? 60_000);
  const identity = await identityArgs(git, env);
  for (let attempt = 1; ; attempt++) {
    const head = (await git.raw(['rev-parse', '--verify', '--quiet', 'HEAD']).catch(() => '')).trim();
    const root = spliceIntoHead(repo, head, folder, folderTree, env);
    if (root === undefined) return undefined; // HEAD already has exactly this folder
    const commit = (
      await git.raw([...identity, 'commit-tree', root, ...(head ? ['-p', head] : []), '-m', options.message])
    ).trim();
    try {
      // Moves HEAD (or the branch it names) only if it is still where we read it.
      await git.raw(['update-ref', '-m', options.reflog, 'HEAD', commit, head || '0'.repeat(40)]);
      return commit;
    } catch (error) {
      if (Date.now() < deadline) {
        await sleep(Math.random() * Math.min(1000, 25 * 2 ** Math.min(attempt, 6)));
        continue; // another commit landed meanwhile: build on it
      }
      // The user's index goes back to what it was for this folder: HEAD's version, or nothing.
      const restore = head
        ? ['reset', '-q', head, '--', folder]
        : ['rm', '--cached', '-r', '-q', '--ignore-unmatch', '--', folder];
      await git.raw(restore).catch(() => undefined);
      throw new EtlError(
        'commit-failed',
        `could not record ${options.what} in git: ${gitMessage(error)}; its files are on disk: ${options.later}`,
        undefined,
        { cause: error },
      );
    }
  }
}

/** Files under a folder, relative to it, forward slashes; temporary files (".x.tmp") left out. */
function listFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as Dirent[])
    .filter((entry) => entry.isFile() && !entry.name.startsWith('.'))
    .map((entry) =>
      relative(dir, join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name))
        .split(sep)
        .join('/'),
    )
    .sort();
}

interface FolderTrees {
  id: string;
  /** Every tree object written for the folder, id -> content. */
  trees: Map<string, Buffer>;
}

/** Writes the folder's files as blobs and computes its trees (written later, with the rest). */
function buildTrees(repo: string, folder: string, files: string[], env: Env): FolderTrees {
  const blobIds = writeObjects(
    repo,
    'blob',
    files.map((f) => join(repo, folder, f)),
    env,
  );
  const trees = new Map<string, Buffer>();
  const build = (prefix: string): string => {
    const entries: TreeEntry[] = [];
    const subfolders = new Set<string>();
    files.forEach((file, i) => {
      if (!file.startsWith(prefix)) return;
      const rest = file.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash === -1) entries.push({ mode: '100644', name: rest, id: blobIds[i]! });
      else subfolders.add(rest.slice(0, slash));
    });
    for (const name of subfolders) entries.push({ mode: '40000', name, id: build(`${prefix}${name}/`) });
    const content = formatTree(entries);
    const id = objectId('tree', content);
    trees.set(id, content);
    return id;
  };
  return { id: build(''), trees };
}

/**
 * HEAD's root tree with `folder` replaced by the tree `id`, rebuilding only the trees along
 * the folder's path; undefined when nothing changes. Writes the new trees.
 */
function spliceIntoHead(
  repo: string,
  head: string,
  folder: string,
  { id, trees: folderTrees }: FolderTrees,
  env: Env,
): string | undefined {
  const parts = folder.split('/');
  const parents = parts.map((_, i) => parts.slice(0, i).join('/')); // '', 'runs', 'runs/s', ...
  const existing = head
    ? readObjects(
        repo,
        parents.map((p) => (p === '' ? `${head}^{tree}` : `${head}:${p}`)),
        env,
      )
    : new Map();
  const written = new Map(folderTrees);
  let child = id;
  for (let level = parts.length - 1; level >= 0; level--) {
    const spec = parents[level] === '' ? `${head}^{tree}` : `${head}:${parents[level]}`;
    const current = existing.get(spec);
    const entries = current?.type === 'tree' ? parseTree(current.content) : [];
    const name = parts[level]!;
    const before = entries.find((e) => e.name === name);
    if (level === parts.length - 1 && before?.id === child) return undefined;
    const content = formatTree([...entries.filter((e) => e.name !== name), { mode: '40000', name, id: child }]);
    child = objectId('tree', content);
    written.set(child, content);
  }
  writeTrees(repo, written, env);
  return child;
}
