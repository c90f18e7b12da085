import type { Cron } from '../definitions/cron.js';

const MINUTE = 60_000;
/** Far enough for "29 Feb on a Monday"; a cron that never fires (31 Feb) gives up here. */
const SEARCH_DAYS = 366 * 28;

interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function wallTimeIn(timeZone: string, instant: number): WallTime {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  const parts: Record<string, number> = {};
  for (const { type, value } of format.formatToParts(instant)) parts[type] = Number(value);
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute! };
}

/** Offset of a zone from UTC at an instant, in ms (positive east of Greenwich). */
function offsetAt(timeZone: string, instant: number): number {
  const w = wallTimeIn(timeZone, instant);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute) - Math.floor(instant / MINUTE) * MINUTE;
}

/**
 * The instant a wall-clock time happens in a zone. A time that happens twice (DST ends)
 * runs the first time; a time skipped when DST starts runs shifted forward by the jump.
 */
function instantOf(timeZone: string, w: WallTime): number {
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute);
  const before = asUtc - offsetAt(timeZone, asUtc - 86_400_000);
  const after = asUtc - offsetAt(timeZone, asUtc + 86_400_000);
  const exact = [before, after].filter((c) => sameWall(wallTimeIn(timeZone, c), w));
  return exact.length > 0 ? Math.min(...exact) : before;
}

function sameWall(a: WallTime, b: WallTime): boolean {
  return a.year === b.year && a.month === b.month && a.day === b.day && a.hour === b.hour && a.minute === b.minute;
}

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
