import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtlError } from '../errors.js';
import { openGit, type Env } from './git.js';
import { gitMessage } from './run-git.js';

export interface WorktreeOptions {
  env?: Env;
  /**
   * Told when the checkout holds files that `use` wrote (a module's outputs, relative to the
   * checkout): it is then kept, not removed, so that nothing a run made is lost.
   */
  onKept?: (dir: string, written: string[]) => void;
}

/**
 * Runs `use` with a temporary checkout of `commit` (a detached git worktree), removed
 * afterwards whatever happens, unless something was written into it (see onKept): the
 * definitions of an older commit, exactly as they were.
 */
export async function withWorktreeAt<T>(
  repo: string,
  commit: string,
  use: (dir: string, sha: string) => Promise<T>,
  options: WorktreeOptions = {},
): Promise<T> {
  const env = options.env ?? process.env;
  const git = openGit(repo, env);
  let sha: string;
  try {
    sha = (await git.raw(['rev-parse', '--verify', `${commit}^{commit}`])).trim();
  } catch (error) {
    throw new EtlError(
      'unknown-commit',
      `"${commit}" is not a commit of this repository: ${gitMessage(error)}`,
      undefined,
      { cause: error },
    );
  }
  const dir = join(mkdtempSync(join(tmpdir(), 'etl-at-')), 'checkout');
  await git.raw(['worktree', 'add', '--quiet', '--detach', dir, sha]);
  try {
    return await use(dir, sha);
  } finally {
    const written = options.onKept
      ? (
          await openGit(dir, env)
            .raw(['status', '--porcelain', '--untracked-files=all', '--ignored'])
            .catch(() => '')
        )
          .split('\n')
          .filter(Boolean)
          .map((l) => l.slice(3))
      : [];
    if (written.length > 0) options.onKept!(dir, written);
    else await removeWorktree(git, dir);
  }
}

async function removeWorktree(git: ReturnType<typeof openGit>, dir: string): Promise<void> {
  await git.raw(['worktree', 'remove', '--force', dir]).catch(() => undefined);
  rmSync(join(dir, '..'), { recursive: true, force: true });
  await git.raw(['worktree', 'prune']).catch(() => undefined);
}
