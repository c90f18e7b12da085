import type { Cron } from '../definitions/cron.js';
import { instantOf, wallTimeIn } from '../definitions/time-zone.js';

/** Far enough for "29 Feb on a Monday"; a cron that never fires (31 Feb) gives up here. */
const SEARCH_DAYS = 366 * 28;

function dayMatches(cron: Cron, year: number, month: number, day: number): boolean {
  if (!cron.months.has(month)) return false;
  const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
  const dom = cron.daysOfMonth.has(day);
  const dow = cron.daysOfWeek.has(weekday);
  return cron.dayOr ? dom || dow : dom && dow;
}

/** The first time after `after` (exclusive) that the schedule fires, in the given IANA zone. */
export function nextTick(cron: Cron, after: Date, timeZone = 'UTC'): Date | undefined {
  return findTick(cron, after.getTime(), timeZone, 1);
}

/** The last time at or before `at` that the schedule fired, in the given IANA zone. */
export function previousTick(cron: Cron, at: Date, timeZone = 'UTC'): Date | undefined {
  return findTick(cron, at.getTime(), timeZone, -1);
}

/**
 * The schedule's nearest firing after `from` (direction 1, exclusive) or at or before it (-1),
 * walking wall-clock days in the zone from the day before (or after) `from`'s own.
 */
function findTick(cron: Cron, from: number, timeZone: string, direction: 1 | -1): Date | undefined {
  const wall = wallTimeIn(timeZone, from);
  const order = (a: number, b: number) => (a - b) * direction;
  const hours = [...cron.hours].sort(order);
  const minutes = [...cron.minutes].sort(order);
  for (let d = -direction; d * direction < SEARCH_DAYS; d += direction) {
    const date = new Date(Date.UTC(wall.year, wall.month - 1, wall.day + d));
    const [year, month, day] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
    if (!dayMatches(cron, year, month, day)) continue;
    for (const hour of hours) {
      for (const minute of minutes) {
        const instant = instantOf(timeZone, { year, month, day, hour, minute });
        if (direction === 1 ? instant > from : instant <= from) return new Date(instant);
      }
    }
  }
  return undefined;
}
