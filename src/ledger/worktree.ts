import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtlError } from '../errors.js';
import { gitMessage, openGit, type Env } from './git.js';

/**
 * Runs `use` with a temporary checkout of `commit` (a detached git worktree), removed
 * afterwards whatever happens: the definitions of an older commit, exactly as they were.
 */
export async function withWorktreeAt<T>(repo: string, commit: string, use: (dir: string, sha: string) => Promise<T>, env: Env = process.env): Promise<T> {
  const git = openGit(repo, env);
  let sha: string;
  try {
    sha = (await git.raw(['rev-parse', '--verify', `${commit}^{commit}`])).trim();
  } catch (error) {
    throw new EtlError('unknown-commit', `"${commit}" is not a commit of this repository: ${gitMessage(error)}`, undefined, { cause: error });
  }
  const dir = join(mkdtempSync(join(tmpdir(), 'etl-at-')), 'checkout');
  await git.raw(['worktree', 'add', '--quiet', '--detach', dir, sha]);
  try {
    return await use(dir, sha);
  } finally {
    await git.raw(['worktree', 'remove', '--force', dir]).catch(() => undefined);
    rmSync(join(dir, '..'), { recursive: true, force: true });
    await git.raw(['worktree', 'prune']).catch(() => undefined);
  }
}
