// A sequence's `retention:` applied after each of its committed runs: its own runs only, and a
// prune that fails is said, never the run's failure.
import type { Retention } from '../../definitions/schema.js';
import type { Env } from '../../git/git.js';
import { describePolicy, pruneLedger } from './prune.js';

export interface RetentionOutcome {
  /** "keep_runs 500". */
  policy: string;
  removed: number;
  /** Older runs kept, still pointed at. */
  kept: number;
  commit?: string;
  /** Why the prune did not happen (the run's own outcome stands). */
  error?: string;
}

/** Prunes `sequence`'s runs in the ledger root `ledger` as its retention says; never throws. */
export async function applyRetention(
  ledger: string,
  repo: string,
  sequence: string,
  policy: Retention,
  env: Env,
): Promise<RetentionOutcome> {
  const outcome: RetentionOutcome = { policy: describePolicy(policy), removed: 0, kept: 0 };
  try {
    const result = await pruneLedger({ view: ledger, repo, policies: [{ sequence, policy }], env });
    outcome.removed = result.removed.length;
    outcome.kept = result.kept.length;
    outcome.commit = result.commits[0]?.commit;
  } catch (error) {
    outcome.error = error instanceof Error ? error.message : String(error);
  }
  return outcome;
}
