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
  const start = after.getTime();
  const from = wallTimeIn(timeZone, start);
  const hours = [...cron.hours].sort((a, b) => a - b);
  const minutes = [...cron.minutes].sort((a, b) => a - b);
  for (let d = -1; d < SEARCH_DAYS; d++) {
    const date = new Date(Date.UTC(from.year, from.month - 1, from.day + d));
    const [year, month, day] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
    if (!dayMatches(cron, year, month, day)) continue;
    for (const hour of hours) {
      for (const minute of minutes) {
        const instant = instantOf(timeZone, { year, month, day, hour, minute });
        if (instant > start) return new Date(instant);
      }
    }
  }
  return undefined;
}

/** The last time at or before `at` that the schedule fired, in the given IANA zone. */
export function previousTick(cron: Cron, at: Date, timeZone = 'UTC'): Date | undefined {
  const end = at.getTime();
  const from = wallTimeIn(timeZone, end);
  const hours = [...cron.hours].sort((a, b) => b - a);
  const minutes = [...cron.minutes].sort((a, b) => b - a);
  for (let d = 1; d > -SEARCH_DAYS; d--) {
    const date = new Date(Date.UTC(from.year, from.month - 1, from.day + d));
    const [year, month, day] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
    if (!dayMatches(cron, year, month, day)) continue;
    for (const hour of hours) {
      for (const minute of minutes) {
        const instant = instantOf(timeZone, { year, month, day, hour, minute });
        if (instant <= end) return new Date(instant);
      }
    }
  }
  return undefined;
}
