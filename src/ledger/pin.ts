import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { DefinitionsPin } from '../runner/records.js';
import { openGit, type Env } from '../git/git.js';
import { objectId } from '../git/objects.js';

/**
 * Pins the definitions a run uses: the commit checked out, the blob hash of each file as it
 * is on disk (which is what runs, committed or not), and whether any of them differs from
 * that commit. Outside a git repository commit and dirty are null.
 */
export async function pinDefinitions(repo: string, files: string[], env: Env = process.env): Promise<DefinitionsPin> {
  const hashes: Record<string, string | null> = {};
  for (const file of [...new Set(files)].sort()) {
    try {
      // A symbolic link is pinned as git stores it: the link's target, not what it points at.
      const path = join(repo, file);
      hashes[file] = objectId(
        'blob',
        lstatSync(path).isSymbolicLink() ? Buffer.from(readlinkSync(path)) : readFileSync(path),
      );
    } catch {
      hashes[file] = null;
    }
  }
  const git = openGit(repo, env);
  let commit: string | null = null;
  let dirty: boolean | null = null;
  try {
    commit = (await git.raw(['rev-parse', '--verify', '--quiet', 'HEAD'])).trim() || null;
    const status = await git.raw(['status', '--porcelain', '--untracked-files=all', '--', ...Object.keys(hashes)]);
    dirty = commit === null ? true : status.trim() !== '';
  } catch {
    // not a git repository (or git is missing): nothing to pin to
  }
  return { commit, dirty, files: hashes };
}
