// etl ledger prune and a sequence's `retention:`: the runs a policy lets go, less those still
// pointed at, removed in a commit of their own (git history keeps them).
import type { Retention } from '../../definitions/schema.js';
import type { Env } from '../../git/git.js';
import { commitFolderRemoval, type FolderStates, folderStates } from '../../git/remove-folders.js';
import { type LedgerView, type RunRef, runsNewestFirst } from '../history.js';
import { RUNS_DIR, runIdTime } from '../layout.js';
import { runsStillPointedAt } from './pointed-at.js';

export interface PruneOptions {
  /** The ledger's roots: a ledger branch's worktree, then the repository (see ledgerView). */
  view: LedgerView;
  /** The repository the steps ran in: lineage's recorded paths are relative to it. */
  repo: string;
  /** The sequences pruned, each with its policy. */
  policies: Array<{ sequence: string; policy: Retention }>;
  /** Say what would go and what is kept, change nothing. */
  dryRun?: boolean;
  now?: Date;
  env?: Env;
}

export interface KeptRun extends RunRef {
  /** Why a run the policy lets go stays. */
  reasons: string[];
}

export interface PruneResult {
  /** Removed (with dryRun: would be), oldest first. */
  removed: RunRef[];
  /** Runs the policy lets go that stay, and why. */
  kept: KeptRun[];
  /** Runs the policy keeps. */
  keptByPolicy: number;
  /** Pointers to runs the ledger no longer has. */
  missing: string[];
  /** One commit per ledger root that lost runs. */
  commits: Array<{ root: string; commit: string }>;
  /** Folders committed as removed that could not be deleted from disk. */
  leftOnDisk: string[];
  /** Where a background process is deleting the removed folders, gone from the working tree already. */
  emptying: string[];
}

/** "keep_runs 500", "keep_days 90". */
export function describePolicy(policy: Retention): string {
  return policy.keep_runs !== undefined ? `keep_runs ${policy.keep_runs}` : `keep_days ${policy.keep_days}`;
}

/**
 * Prunes the ledger: for each sequence, the runs its policy lets go (older than keep_days
 * days, or past its keep_runs newest), except those still pointed at (runsStillPointedAt) and
 * those not committed as they are (removing them would lose them). One commit per root.
 */
export async function pruneLedger(options: PruneOptions): Promise<PruneResult> {
  const env = options.env ?? process.env;
  const now = options.now ?? new Date();
  const staying: RunRef[] = [];
  const candidates: RunRef[] = [];
  for (const { sequence, policy } of options.policies) {
    const since = policy.keep_days === undefined ? undefined : now.getTime() - policy.keep_days * 86_400_000;
    let index = 0;
    for (const ref of runsNewestFirst(options.view, { sequence })) {
      const stays = since === undefined ? index++ < policy.keep_runs! : Date.parse(runIdTime(ref.id)) >= since;
      (stays ? staying : candidates).push(ref);
    }
  }
  const result: PruneResult = {
    removed: [],
    kept: [],
    keptByPolicy: staying.length,
    missing: [],
    commits: [],
    leftOnDisk: [],
    emptying: [],
  };
  if (candidates.length === 0) return result;
  const states = await statesByRoot(candidates, env);
  const pointed = runsStillPointedAt({
    view: options.view,
    repo: options.repo,
    sequences: options.policies.map((p) => p.sequence),
    staying,
  });
  result.missing = pointed.missing;
  // Sequence by sequence, oldest first.
  candidates.sort((a, b) => (a.folder < b.folder ? -1 : a.folder > b.folder ? 1 : 0));
  for (const ref of candidates) {
    const state = states.get(ref.root)!;
    const reasons = [...(pointed.reasons.get(ref.id) ?? [])];
    if (!state.committed.has(ref.folder)) reasons.push('not committed yet ("etl ledger sync" commits it)');
    else if (state.changed.has(ref.folder)) reasons.push('has changes git does not have');
    if (reasons.length > 0) result.kept.push({ ...ref, reasons });
    else result.removed.push(ref);
  }
  if (!options.dryRun) await removeRuns(result, options, env);
  return result;
}

/** Which run folders each root's HEAD has, and which have changes of their own. */
async function statesByRoot(candidates: RunRef[], env: Env): Promise<Map<string, FolderStates>> {
  const states = new Map<string, FolderStates>();
  for (const root of new Set(candidates.map((ref) => ref.root))) {
    const sequences = new Set(candidates.filter((ref) => ref.root === root).map((ref) => ref.sequence));
    const parents = [...sequences].map((sequence) => `${RUNS_DIR}/${sequence}`);
    states.set(root, await folderStates(root, parents, 6, env));
  }
  return states;
}

/** The commit of each root that loses runs. */
async function removeRuns(result: PruneResult, options: PruneOptions, env: Env): Promise<void> {
  for (const root of new Set(result.removed.map((ref) => ref.root))) {
    const runs = result.removed.filter((ref) => ref.root === root);
    const kept = result.kept.filter((ref) => ref.root === root).length;
    const removed = await commitFolderRemoval(
      root,
      runs.map((ref) => ref.folder),
      {
        env,
        base: RUNS_DIR,
        message: pruneMessage(runs, kept, options.policies),
        reflog: `etl-ledger: prune ${runs.length} runs`,
      },
    );
    if (removed.commit) result.commits.push({ root, commit: removed.commit });
    result.leftOnDisk.push(...removed.leftOnDisk);
    if (removed.emptying) result.emptying.push(removed.emptying);
  }
}

/**
 * The prune's commit message: what went, sequence by sequence, with the range of run ids.
 *   etl ledger prune: removed 9000 runs of daily (keep_runs 1000)
 */
export function pruneMessage(removed: RunRef[], kept: number, policies: PruneOptions['policies']): string {
  const bySequence = new Map<string, RunRef[]>();
  for (const ref of removed) bySequence.set(ref.sequence, [...(bySequence.get(ref.sequence) ?? []), ref]);
  const policyOf = new Map(policies.map((p) => [p.sequence, describePolicy(p.policy)]));
  const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
  const [only] = bySequence.keys();
  const subject =
    bySequence.size === 1
      ? `etl ledger prune: removed ${plural(removed.length, 'run')} of ${only} (${policyOf.get(only!)})`
      : `etl ledger prune: removed ${plural(removed.length, 'run')} of ${bySequence.size} sequences`;
  const lines = [...bySequence]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([sequence, refs]) => {
      const ids = refs.map((ref) => ref.id).sort();
      return `${sequence}: ${plural(refs.length, 'run')} (${policyOf.get(sequence)}), ${ids[0]} .. ${ids.at(-1)}`;
    });
  const keptLine =
    kept > 0 ? `\n\nkept though older, as still pointed at or not committed: ${plural(kept, 'run')}` : '';
  return `${subject}\n\n${lines.join('\n')}${keptLine}\n\nEtl-Pruned-Runs: ${removed.length}\n`;
}
