import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EtlError } from '../errors.js';
import { RUNS_DIR } from './layout.js';
import { gitCommonDir, gitQuery, gitOperation, identityArgs, openGit, resolveCommit, type Env } from '../git/git.js';
import { gitMessage } from '../git/run-git.js';

/** `git config etl.ledgerBranch NAME`: the repository keeps its runs on that branch. */
const CONFIG_KEY = 'etl.ledgerBranch';
const BRANCH_PATTERN = /^(?!-)(?!.*\.\.)(?!.*\/\/)[A-Za-z0-9._/-]+(?<![./])$/;

/**
 * Where runs/ lives. Normally the repository itself; with a ledger branch (given, or set
 * before in git config) a worktree of that branch inside .git, so the main branch's history
 * holds only definition changes. history, show, logs and sync all go through here.
 */
export async function ledgerRoot(
  repo: string,
  options: { branch?: string; env?: Env; create?: boolean } = {},
): Promise<string> {
  const env = options.env ?? process.env;
  const branch = options.branch ?? (await configuredLedgerBranch(repo, env));
  if (branch === undefined) return repo;
  return openLedgerWorktree(repo, branch, env, options.create ?? true);
}

/**
 * Every root a ledger's runs may be in, for reading: the ledger branch's worktree and, when
 * runs were recorded in the repository itself before the switch, the repository too.
 */
export async function ledgerView(repo: string, options: { env?: Env } = {}): Promise<string[]> {
  const root = await ledgerRoot(repo, options);
  return root !== repo && existsSync(join(repo, RUNS_DIR)) ? [root, repo] : [root];
}

export async function configuredLedgerBranch(repo: string, env: Env = process.env): Promise<string | undefined> {
  const value = ((await gitQuery(repo, ['config', '--get', CONFIG_KEY], env)) ?? '').trim();
  // In CI, where no git config was set, the generated workflows name it in ETL_LEDGER_BRANCH.
  return value || env.ETL_LEDGER_BRANCH || undefined;
}

/**
 * The worktree of the ledger branch, made on first use: from the local branch, else from
 * the remote's (fetched), else as a new branch with no history of its own. Remembers the
 * branch in git config.
 */
async function openLedgerWorktree(repo: string, branch: string, env: Env, create: boolean): Promise<string> {
  if (!BRANCH_PATTERN.test(branch))
    throw new EtlError('usage', `"${branch}" is not a usable branch name for the ledger`);
  return gitOperation(`opening the ledger branch ${branch}`, async () => {
    const git = openGit(repo, env);
    const dir = join(await gitCommonDir(git, repo), 'etl-ledger', branch.replace(/\//g, '--'));
    if (existsSync(join(dir, '.git'))) return dir;
    if (!create) return dir;
    const has = async (ref: string) => (await resolveCommit(git, ref)) !== '';
    if (!(await has(`refs/heads/${branch}`))) {
      await git
        .raw(['fetch', '--quiet', 'origin', `refs/heads/${branch}:refs/remotes/origin/${branch}`])
        .catch(() => undefined);
      const start = (await has(`refs/remotes/origin/${branch}`))
        ? `refs/remotes/origin/${branch}`
        : // A first commit with an empty tree: the ledger branch shares nothing with main.
          (
            await git.raw([
              ...(await identityArgs(git, env)),
              'commit-tree',
              '4b825dc642cb6eb9a060e54bf8d69288fbee4904',
              '-m',
              `etl-ledger: the run ledger (${branch})`,
            ])
          ).trim();
      await git.raw(['branch', '--quiet', branch, start]);
    }
    await git.raw(['worktree', 'add', '--quiet', dir, branch]).catch((error: unknown) => {
      throw new EtlError(
        'ledger-branch',
        `cannot check out the ledger branch ${branch} in ${dir}: ${gitMessage(error)}`,
        undefined,
        { cause: error },
      );
    });
    await git.raw(['config', CONFIG_KEY, branch]);
    return dir;
  });
}
