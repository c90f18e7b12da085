// Whether a sequence's data is recent enough: `freshness: 26h` says its last success must
// have ended within 26 hours. etl status, etl ui and the Prometheus metrics judge it here.
import { parseDuration } from '../definitions/duration.js';
import type { SequenceDef } from '../definitions/model.js';
import { validate } from '../definitions/validate.js';
import { isSuccess } from '../runner/statuses.js';
import type { RunRecord } from '../runner/records.js';
import { LedgerStore } from './store.js';

/** The most runs looked at, newest first, for a sequence's last success: a sequence failing longer is stale. */
export const LAST_SUCCESS_SEARCH = 10_000;

export interface Freshness {
  /** As the definition writes it: "26h". */
  freshness: string;
  freshness_ms: number;
  /** When its newest successful run ended; null when none did (among the newest LAST_SUCCESS_SEARCH runs). */
  last_success_at: string | null;
  last_success_run: string | null;
  /** No successful run ended within `freshness` of now. */
  stale: boolean;
  /** When it became stale (its last success plus `freshness`); null when fresh, or when it never succeeded. */
  stale_since: string | null;
}

/** The newest finished run of a sequence that succeeded, or undefined. */
export function lastSuccess(store: LedgerStore, sequence: string): RunRecord | undefined {
  let looked = 0;
  for (const ref of store.runsNewestFirst({ sequence })) {
    if (++looked > LAST_SUCCESS_SEARCH) return undefined;
    const run = store.readRun(ref);
    if (run && isSuccess(run.status) && run.finished_at) return run;
  }
  return undefined;
}

/** A sequence's freshness at `now`; undefined when its definition sets none. */
export function freshnessOf(
  store: LedgerStore,
  sequence: Pick<SequenceDef, 'name' | 'freshness'>,
  now: Date,
): Freshness | undefined {
  if (sequence.freshness === undefined) return undefined;
  return judgeFreshness(sequence, lastSuccess(store, sequence.name), now);
}

/** The same, given its newest success (lastSuccess), for a caller that has it already. */
export function judgeFreshness(
  sequence: Pick<SequenceDef, 'freshness'>,
  last: RunRecord | undefined,
  now: Date,
): Freshness | undefined {
  const ms = sequence.freshness === undefined ? undefined : parseDuration(sequence.freshness);
  if (ms === undefined || sequence.freshness === undefined) return undefined;
  const endedAt = last?.finished_at ? Date.parse(last.finished_at) : undefined;
  const stale = endedAt === undefined || now.getTime() - endedAt > ms;
  return {
    freshness: sequence.freshness,
    freshness_ms: ms,
    last_success_at: last?.finished_at ?? null,
    last_success_run: last?.id ?? null,
    stale,
    stale_since: stale && endedAt !== undefined ? new Date(endedAt + ms).toISOString() : null,
  };
}

/** Each sequence that sets a freshness (of the definitions that validate), judged from the ledger at `now`, by name. */
export async function repositoryFreshness(options: {
  repo: string;
  env: NodeJS.ProcessEnv;
  now: Date;
}): Promise<Record<string, Freshness>> {
  const { definitions } = await validate({ repo: options.repo, env: options.env });
  const sequences = [...definitions.sequences.values()].filter((s) => s.freshness !== undefined);
  const judged: Record<string, Freshness> = {};
  if (sequences.length === 0) return judged;
  const store = await LedgerStore.open(options.repo, { env: options.env });
  for (const sequence of sequences.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const freshness = freshnessOf(store, sequence, options.now);
    if (freshness) judged[sequence.name] = freshness;
  }
  return judged;
}
