import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { EtlError } from '../errors.js';
import { RUNS_DIR } from './layout.js';
import { gitOperation, isInsideWorkTree, openGit, pushBranch, type Env } from '../git/git.js';
import { isInside } from '../paths.js';

export interface LedgerTarget {
  commit: boolean;
  push?: { remote?: string; branch?: string };
}

/**
 * What can be known before the first module starts, is checked before it starts: a run that
 * is to be committed needs a repository, a push needs its remote and a branch to push to.
 * Finding out after an hour-long run would lose the hour.
 */
export async function checkLedgerTarget(ledger: string, target: LedgerTarget, env: Env = process.env): Promise<void> {
  if (!target.commit && !target.push) return;
  await gitOperation('checking the ledger repository', async () => {
    const git = openGit(ledger, env);
    if (!(await isInsideWorkTree(git, ledger))) {
      throw new EtlError(
        'not-a-repository',
        `${ledger} is not in a git repository: --commit and --push record runs in git ("git init" first)`,
      );
    }
    if (!target.push) return;
    const remote = target.push.remote ?? 'origin';
    const remotes = (await git.raw(['remote'])).split('\n').filter(Boolean);
    if (!remotes.includes(remote)) {
      throw new EtlError(
        'unknown-remote',
        `there is no git remote "${remote}" to push to; ${remotes.length ? `the remotes are ${remotes.join(', ')}` : 'the repository has no remote'} (--remote)`,
      );
    }
    await pushBranch(git, target.push.branch);
  });
}

/**
 * The ledger folders a run writes into must be inside the repository: `runs/` (or
 * `runs/SEQUENCE`) as a symbolic link to elsewhere would put records where git never sees
 * them, or let a pull request write outside the checkout.
 */
export function checkRunsFolder(ledger: string, sequence: string): void {
  const root = realpathSync(ledger);
  for (const folder of [RUNS_DIR, join(RUNS_DIR, sequence)]) {
    let real: string;
    try {
      real = realpathSync(join(ledger, folder));
    } catch {
      return; // not there yet: it is made inside the repository
    }
    if (!isInside(root, real))
      throw new EtlError(
        'runs-outside-repository',
        `${folder}/ is a symbolic link to ${real}, outside the repository: the ledger must live inside it`,
      );
  }
}
