// Wall-clock time in an IANA zone, both ways: what a clock in Madrid shows at an instant, and the
// instant a Madrid clock shows 02:30. Schedules, ${tick:FORMAT}, backfill days and `etl list`
// all read time the way the sequence's zone does; Intl holds the zone rules, so no library.

/** What a clock in the zone shows; month is 1-12. */
export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The zone's clock at an instant (ms or Date). */
export function wallTimeIn(timeZone: string, instant: number | Date): WallTime {
  let format = formatters.get(timeZone);
  if (!format) {
    // Building a formatter loads the zone's data (~12 ms the first time): one per zone, kept.
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  const parts: Record<string, number> = {};
  for (const { type, value } of format.formatToParts(instant)) parts[type] = Number(value);
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    hour: parts.hour!,
    minute: parts.minute!,
    second: parts.second!,
  };
}

/** Offset of a zone from UTC at an instant, in ms (positive east of Greenwich). */
function offsetAt(timeZone: string, instant: number): number {
  const w = wallTimeIn(timeZone, instant);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(instant / 1000) * 1000;
}

/**
 * The instant a zone's clock shows a wall-clock time (seconds default to 0). A time shown twice
 * (DST ends) is the first of the two; a time skipped when DST starts is shifted forward by the
 * jump (02:30 on a day when 02:00 becomes 03:00 is 03:30), as cron does.
 */
export function instantOf(timeZone: string, wall: Omit<WallTime, 'second'> & { second?: number }): number {
  const w = { ...wall, second: wall.second ?? 0 };
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  // No zone changes its offset twice in two days: the offsets a day before and a day after
  // are the only candidates.
  const before = asUtc - offsetAt(timeZone, asUtc - 86_400_000);
  const after = asUtc - offsetAt(timeZone, asUtc + 86_400_000);
  const exact = [before, after].filter((c) => sameWall(wallTimeIn(timeZone, c), w));
  return exact.length > 0 ? Math.min(...exact) : before;
}

function sameWall(a: WallTime, b: WallTime): boolean {
  return (
    a.year === b.year &&
    a.month === b.month &&
    a.day === b.day &&
    a.hour === b.hour &&
    a.minute === b.minute &&
    a.second === b.second
  );
}

/** The instant the day (month 1-12) starts in the zone: its midnight, or its first minute when DST skips midnight. */
export function startOfDayIn(timeZone: string, year: number, month: number, day: number): number {
  return instantOf(timeZone, { year, month, day, hour: 0, minute: 0 });
}

const two = (n: number) => String(n).padStart(2, '0');

/** "2026-11-26 03:17": the zone's clock as a person reads a schedule. */
export function formatWallTime(timeZone: string, instant: number | Date): string {
  const w = wallTimeIn(timeZone, instant);
  return `${String(w.year).padStart(4, '0')}-${two(w.month)}-${two(w.day)} ${two(w.hour)}:${two(w.minute)}`;
}

let knownTimeZones: Map<string, boolean> | undefined;

/** True when the zone is one this Node knows (IANA names such as "Europe/Madrid"). */
export function isKnownTimeZone(timeZone: string): boolean {
  // The canonical list costs ~1 ms; the first DateTimeFormat ~12 ms (it loads the time zone
  // data), so it is asked only about names the list lacks, such as aliases like "US/Eastern".
  knownTimeZones ??= new Map(Intl.supportedValuesOf('timeZone').map((zone) => [zone, true]));
  let known = knownTimeZones.get(timeZone);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone });
      known = true;
    } catch {
      known = false;
    }
    knownTimeZones.set(timeZone, known);
  }
  return known;
}
