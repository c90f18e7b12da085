// How the daemon asks the remote whether a tick is its own (with --push): claims one after
// another, each answer worded for its log.
import { CLAIMS_KEPT, type ClaimOptions, claimTick } from './claims.js';
import type { ClaimAnswer } from './scheduler.js';

/** Claims ticks on the remote one after another (claims of one daemon would only race each other). */
export function claimer(options: ClaimOptions): (sequence: string, tick: Date) => Promise<ClaimAnswer> {
  let previous: Promise<unknown> = Promise.resolve();
  return (sequence, tick) => {
    const answer = previous.then(async (): Promise<ClaimAnswer> => {
      const result = await claimTick(options, sequence, tick);
      const now = options.now?.() ?? Date.now();
      // Said, so that the machine whose clock runs ahead is found and set right.
      const notes = result.ignored.map(
        (claim) =>
          `ignored the claim of ${claim.host} (pid ${claim.pid}) for the tick ${claim.tick}, made at ${claim.claimed_at} by its clock: ${aheadBy(Math.max(Date.parse(claim.tick), Date.parse(claim.claimed_at)) - now)} ahead of this machine's clock; is that machine's clock right?`,
      );
      if (result.won) return { won: true, notes };
      const { by } = result;
      return {
        won: false,
        notes,
        reason: result.older
          ? `older than the ${CLAIMS_KEPT} newest claims kept on the remote (the oldest is for ${by.tick}): it may have run, so it is not run`
          : `claimed by ${by.host} (pid ${by.pid}) at ${by.claimed_at}`,
      };
    });
    previous = answer.catch(() => undefined);
    return answer;
  };
}

/** "1 h 5 min", "3 min", "40 s": how far a clock runs ahead. */
function aheadBy(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 1) return `${Math.round(ms / 1000)} s`;
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h${minutes % 60 ? ` ${minutes % 60} min` : ''}`;
}
