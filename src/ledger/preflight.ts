import { EtlError } from '../errors.js';
import { gitOperation, openGit, type Env } from './git.js';

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
    if ((await git.raw(['rev-parse', '--is-inside-work-tree']).catch(() => '')).trim() !== 'true') {
      throw new EtlError('not-a-repository', `${ledger} is not in a git repository: --commit and --push record runs in git ("git init" first)`);
    }
    if (!target.push) return;
    const remote = target.push.remote ?? 'origin';
    const remotes = (await git.raw(['remote'])).split('\n').filter(Boolean);
    if (!remotes.includes(remote)) {
      throw new EtlError('unknown-remote', `there is no git remote "${remote}" to push to; ${remotes.length ? `the remotes are ${remotes.join(', ')}` : 'the repository has no remote'} (--remote)`);
    }
    if (target.push.branch === undefined && !(await git.raw(['symbolic-ref', '--quiet', 'HEAD']).catch(() => '')).trim()) {
      throw new EtlError('detached-head', 'HEAD is detached: say which remote branch to push to with --branch');
    }
  });
}
