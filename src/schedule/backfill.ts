// `etl backfill`: the ticks of a sequence's schedule in a range, and which of them the ledger
// already holds a successful run for (so that a backfill run twice does the work once).
import { isSuccess } from '../runner/statuses.js';
import { parseCron } from '../definitions/cron.js';
import type { SequenceDef } from '../definitions/model.js';
import { startOfDayIn } from '../definitions/time-zone.js';
import { EtlError } from '../errors.js';
import type { LedgerStore } from '../ledger/store.js';
import { nextTick } from './next-tick.js';

/** More ticks than this in one backfill is a mistake of range or schedule, not a plan. */
export const MAX_BACKFILL_TICKS = 5000;

/** The schedule's ticks from `from` to `to`, both included, oldest first. */
export function ticksBetween(sequence: SequenceDef, from: Date, to: Date): Date[] {
  const cron = sequence.schedule === undefined ? undefined : parseCron(sequence.schedule).cron;
  if (!cron)
    throw new EtlError(
      'usage',
      `sequence "${sequence.name}" has no schedule: a backfill runs the ticks of its schedule`,
    );
  const zone = sequence.timezone ?? 'UTC';
  const ticks: Date[] = [];
  for (let at = nextTick(cron, new Date(from.getTime() - 1), zone); at && at <= to; at = nextTick(cron, at, zone)) {
    ticks.push(at);
    if (ticks.length > MAX_BACKFILL_TICKS)
      throw new EtlError(
        'usage',
        `${from.toISOString()} to ${to.toISOString()} holds more than ${MAX_BACKFILL_TICKS} ticks of "${sequence.schedule}": give a shorter range`,
      );
  }
  return ticks;
}

/** Tick (ISO) -> the id of a successful whole run for it in the ledger. */
export function succeededTicks(ledger: LedgerStore, sequence: string): Map<string, string> {
  const done = new Map<string, string>();
  for (const ref of ledger.runsNewestFirst({ sequence })) {
    const run = ledger.readRun(ref);
    const tick = run?.tick ?? run?.trigger?.tick;
    if (run && tick && isSuccess(run.status) && run.selection === null && !done.has(tick)) done.set(tick, run.id);
  }
  return done;
}

/**
 * A day (2026-11-01, the start of that day in the sequence's zone; with `end`, the last
 * instant of it) or a time (2026-11-01T06:00:00Z).
 */
export function parseDay(value: string, timeZone: string, end: boolean): Date | undefined {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!day) {
    const at = new Date(value);
    return /^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(at.getTime()) ? at : undefined;
  }
  const [year, month, date] = [Number(day[1]), Number(day[2]), Number(day[3])];
  if (new Date(Date.UTC(year, month - 1, date)).getUTCDate() !== date) return undefined;
  // The end of a day is the start of the next, less a millisecond.
  const first = new Date(Date.UTC(year, month - 1, date + (end ? 1 : 0)));
  const start = startOfDayIn(timeZone, first.getUTCFullYear(), first.getUTCMonth() + 1, first.getUTCDate());
  return new Date(start - (end ? 1 : 0));
}
