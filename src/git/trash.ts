// Folders a prune removed leave the working tree at once: each is renamed into the git
// directory's etl-trash (one rename, whatever the folder holds), and the trash is emptied
// after. Deleting 90,000 run folders is half a million unlinks and rmdirs, a minute or more
// of the disk's time: past a few hundred folders a detached process of its own does it, so
// the prune ends when its commit and the working tree are right, not when the disk is done.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gitDirOf } from './git-dir.js';

/** From this many folders on, the trash is emptied in the background. */
export const BACKGROUND_MIN_FOLDERS = 500;

export interface Discarded {
  /** Folders still in the working tree: they could be neither moved nor deleted. */
  left: string[];
  /** The trash a background process is emptying (the git directory's etl-trash), if one is. */
  emptying?: string;
}

/**
 * Takes `folders` (relative to `repo`, under `base`) out of the working tree, then the folders
 * above them left empty, up to `base`/<name>. Where the trash cannot be used (another file
 * system), a folder is deleted where it is.
 */
export function discardFolders(
  repo: string,
  folders: string[],
  base: string,
  backgroundMin = BACKGROUND_MIN_FOLDERS,
): Discarded {
  const trashRoot = join(gitDirOf(repo) ?? join(repo, '.git'), 'etl-trash');
  const batch = join(trashRoot, `${Date.now()}-${process.pid}`);
  let moved = 0;
  const left: string[] = [];
  const parents = new Set<string>();
  for (const folder of folders) {
    const from = join(repo, folder);
    try {
      if (moved === 0) mkdirSync(batch, { recursive: true });
      renameSync(from, join(batch, String(moved)));
      moved++;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') deleteInPlace(from, folder, left);
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
  if (moved === 0) {
    // Nothing could be moved (another file system): no empty batch is left behind.
    for (const dir of [batch, trashRoot])
      try {
        rmdirSync(dir);
      } catch {
        // not made, or holds an earlier batch
      }
    return { left };
  }
  // Batches of earlier prunes whose emptying was cut short (the machine stopped) go too.
  if (moved < backgroundMin && readdirSync(trashRoot).length === 1) {
    rmSync(trashRoot, { recursive: true, force: true, maxRetries: 3 });
    return { left };
  }
  emptyInBackground(trashRoot);
  return { left, emptying: trashRoot };
}

function deleteInPlace(path: string, folder: string, left: string[]): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch {
    left.push(folder);
  }
}

/**
 * Empties the trash in a detached process that outlives this one. Two of them at once (two
 * prunes) are harmless: each takes what the other has not deleted yet.
 */
function emptyInBackground(trashRoot: string): void {
  const script = `const fs = require('node:fs'), path = require('node:path'), root = process.argv[1];
for (const batch of fs.readdirSync(root)) {
  try { fs.rmSync(path.join(root, batch), { recursive: true, force: true, maxRetries: 5 }); } catch {}
}
try { fs.rmdirSync(root); } catch {}`;
  const child = spawn(process.execPath, ['-e', script, trashRoot], { detached: true, stdio: 'ignore' });
  child.on('error', () => {}); // cannot start: the next prune's emptying takes this batch too
  child.unref();
}
