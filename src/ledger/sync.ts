import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { commitRunFolder, TRAILERS } from './commit.js';
import { checkedOutBranch, gitOperation, openGit, resolveCommit, type Env, type GitClient } from '../git/git.js';
import { readRun, reapIfAbandoned, reapUnstarted, removeTemporaryFiles } from './history.js';
import { isRunFolder, RUNS_DIR } from './layout.js';
import { pushLedger, type PushOptions, type PushResult } from '../git/push.js';
import { forgetUnrecorded, ledgerScanned, listUnrecorded, markLedgerScanned, noteUnrecorded } from './unrecorded.js';

export interface SyncResult {
  committed: Array<{ folder: string; commit: string }>;
  /** Runs still in progress: their own runner commits them. */
  running: string[];
  pushed?: PushResult;
  /** Without a push: ledger commits that the remote branch lacks, and which branch that is. */
  unpushed?: { count: number; upstream: string };
}

/**
 * Commits every run folder that has records on disk not yet in git (a push that failed, a
 * machine that lost its network, a runner that crashed), one commit per run, then pushes
 * when asked. Runs still in progress are left to their runner.
 */
export async function syncLedger(
  repo: string,
  options: { push?: PushOptions; env?: Env; lockWaitMs?: number; scan?: boolean } = {},
): Promise<SyncResult> {
  return gitOperation('syncing the ledger', async () => {
    const env = options.env ?? process.env;
    const git = openGit(repo, env);
    // Every run notes its folder until a commit records it (unrecorded.ts). The whole ledger
    // is looked at when asked, and once in a working tree, for folders made before the notes.
    const folders = new Set(
      listUnrecorded(repo)
        .map((entry) => entry.folder)
        .filter(isRunFolder),
    );
    const scan = options.scan || !ledgerScanned(repo);
    if (scan) for (const folder of await foldersNotInGit(git)) folders.add(folder);
    const result: SyncResult = { committed: [], running: [] };
    for (const folder of [...folders].sort((a, b) => (a.split('/')[5]! < b.split('/')[5]! ? -1 : 1))) {
      const runId = folder.split('/')[5]!;
      if (!existsSync(join(repo, folder))) {
        forgetUnrecorded(repo, runId); // a run that stopped before making its folder
        continue;
      }
      const run = readRun(repo, { folder });
      // A folder without run.json: its runner is starting, or was killed while it started.
      const current = run ? reapIfAbandoned(repo, run) : reapUnstarted(repo, folder);
      if (current === undefined || current.status === 'running') {
        result.running.push(folder);
        noteUnrecorded(repo, runId, folder); // for the next sync, which may not look at everything
        continue;
      }
      // Its runner writes no more: a record it left half-made is litter, not history.
      removeTemporaryFiles(join(repo, folder));
      const commit = await commitRunFolder(repo, folder, current, { env, lockWaitMs: options.lockWaitMs });
      if (commit) result.committed.push({ folder, commit });
    }
    if (scan) markLedgerScanned(repo);
    if (options.push) result.pushed = await pushLedger(repo, { env, ...options.push });
    else result.unpushed = await unpushedCommits(git);
    return result;
  });
}

/** Run folders with files git does not have (untracked, or changed): reads every file under runs/. */
async function foldersNotInGit(git: GitClient): Promise<Set<string>> {
  const status = await git.raw([
    'status',
    '--porcelain=v1',
    '-z',
    '--untracked-files=all',
    '--ignored=matching',
    '--',
    RUNS_DIR,
  ]);
  const folders = new Set<string>();
  for (const entry of status.split('\0')) {
    // A file in a run's folder; a lock or a stray file is not a record.
    const parts = entry.slice(3).split('/');
    if (parts.length >= 7 && isRunFolder(parts.slice(0, 6).join('/'))) folders.add(parts.slice(0, 6).join('/'));
  }
  return folders;
}

/** Ledger commits on HEAD that its upstream (else origin's branch of the same name) lacks. */
async function unpushedCommits(git: GitClient): Promise<SyncResult['unpushed']> {
  const branch = await checkedOutBranch(git);
  const upstream =
    (await git.raw(['rev-parse', '--abbrev-ref', '--symbolic-full-name', '@{upstream}']).catch(() => '')).trim() ||
    (branch ? `origin/${branch}` : '');
  if (!upstream || !(await resolveCommit(git, upstream))) return undefined;
  const count = Number(
    (await git.raw(['rev-list', '--count', `--grep=^${TRAILERS.runId}:`, `${upstream}..HEAD`])).trim(),
  );
  return { count, upstream };
}
