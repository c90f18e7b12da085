import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { DefinitionsPin } from '../runner/records.js';
import { gitQuery, type Env } from '../git/git.js';
import { objectId } from '../git/objects.js';

/**
 * Pins the definitions a run uses: the commit checked out, the blob hash of each file as it
 * is on disk (which is what runs, committed or not), and whether any of them differs from
 * that commit. Outside a git repository commit and dirty are null.
 */
export async function pinDefinitions(repo: string, files: string[], env: Env = process.env): Promise<DefinitionsPin> {
  const hashes: Record<string, string | null> = {};
  for (const file of [...new Set(files)].sort()) {
    hashes[file] = blobOnDisk(repo, file);
  }
  // One git process for HEAD and each file's blob in it: a file is dirty when what runs is
  // not what HEAD holds (changed, new, or deleted). A name with a line break cannot be asked
  // this way and counts as dirty.
  const paths = Object.keys(hashes);
  const asked = paths.filter((path) => !path.includes('\n'));
  const query = ['HEAD', ...asked.map((path) => `HEAD:${path}`)].map((line) => `${line}\n`).join('');
  const answer = await gitQuery(repo, ['cat-file', '--batch-check=%(objectname)'], env, query);
  // Not a git repository (or git is missing): nothing to pin to.
  if (answer === undefined) return { commit: null, dirty: null, files: hashes };
  const [head = '', ...committed] = answer.split('\n');
  const commit = /^[0-9a-f]{40,64}$/.test(head) ? head : null;
  const dirty =
    commit === null ||
    asked.length < paths.length ||
    asked.some((path, i) => committed[i] !== (hashes[path] ?? `HEAD:${path} missing`));
  return { commit, dirty, files: hashes };
}

/** The git blob hash of a file as it is on disk (null when missing): what a run of it pins. */
export function blobOnDisk(repo: string, file: string): string | null {
  try {
    // A symbolic link is pinned as git stores it: the link's target, not what it points at.
    const path = join(repo, file);
    return objectId('blob', lstatSync(path).isSymbolicLink() ? Buffer.from(readlinkSync(path)) : readFileSync(path));
  } catch {
    return null;
  }
}
