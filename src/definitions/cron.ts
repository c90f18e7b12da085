// The 5-field cron dialect GitHub Actions accepts for `on.schedule`, mirrored from its own
// workflow parser (isValidCron in @actions/workflow-parser; a test compares the two): no
// @daily, no seconds field, no L/W/#/?, day of week 0-6 (7 is rejected), names only for
// months and days of week, and a step must itself be a number within the field's range.

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: Record<string, number>;
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 },
  },
  { name: 'day of week', min: 0, max: 6, names: { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 } },
];

export interface Cron {
  expression: string;
  minutes: Set<number>;
  hours: Set<number>;
  daysOfMonth: Set<number>;
  months: Set<number>;
  daysOfWeek: Set<number>;
  /** POSIX: when both day fields are restricted, a day matches if either does. */
  dayOr: boolean;
}

export type CronResult = { cron: Cron; error?: undefined } | { cron?: undefined; error: string };

export function parseCron(expression: string): CronResult {
  if (expression.startsWith('@')) {
    return {
      error: `"${expression}" is not supported by GitHub Actions; write the 5 fields (e.g. "17 3 * * *" for daily)`,
    };
  }
  const parts = expression.split(/ +/);
  if (parts.length !== 5 || parts.includes('')) {
    return {
      error: `expected 5 fields (minute hour day-of-month month day-of-week) separated by spaces, found ${parts.filter(Boolean).length}`,
    };
  }
  const sets: Set<number>[] = [];
  for (const [i, part] of parts.entries()) {
    const spec = FIELDS[i]!;
    const values = parseField(part, spec);
    if (typeof values === 'string') return { error: `invalid ${spec.name} field "${part}": ${values}` };
    sets.push(values);
  }
  const [minutes, hours, daysOfMonth, months, daysOfWeek] = sets as [
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
  ];
  return {
    cron: {
      expression,
      minutes,
      hours,
      daysOfMonth,
      months,
      daysOfWeek,
      dayOr: !parts[2]!.startsWith('*') && !parts[4]!.startsWith('*'),
    },
  };
}

/** The values a field allows, or why it is invalid. Precedence as GitHub's: "," then "/" then "-". */
function parseField(part: string, spec: FieldSpec): Set<number> | string {
  const values = new Set<number>();
  for (const item of part.split(',')) {
    if (item === '') return 'empty list item';
    const [rangePart, step, ...rest] = item.split('/');
    if (rest.length > 0) return 'more than one "/"';
    let stepBy = 1;
    if (step !== undefined) {
      const n = parseNumber(step, spec, false);
      if (typeof n === 'string' || n <= 0 || !rangePart)
        return `invalid step "${step}": expected a number from 1 to ${spec.max}`;
      stepBy = n;
    }
    let from: number;
    let to: number;
    if (rangePart === '*') {
      from = spec.min;
      to = spec.max;
    } else {
      const [start, end, ...more] = rangePart!.split('-');
      if (more.length > 0 || start === '' || end === '') return `invalid range "${rangePart}"`;
      const a = parseNumber(start!, spec, true);
      if (typeof a === 'string') return a;
      from = a;
      to = a;
      if (end !== undefined) {
        const b = parseNumber(end, spec, true);
        if (typeof b === 'string') return b;
        if (b < a) return `range "${rangePart}" ends before it starts`;
        to = b;
      } else if (step !== undefined) {
        to = spec.max; // "5/15" means 5, 20, 35, 50
      }
    }
    for (let v = from; v <= to; v += stepBy) values.add(v);
  }
  return values;
}

function parseNumber(text: string, spec: FieldSpec, allowNames: boolean): number | string {
  const named = allowNames ? spec.names?.[text.toLowerCase()] : undefined;
  if (named !== undefined) return named;
  if (!/^\d+$/.test(text)) {
    return spec.names && allowNames
      ? `"${text}" is neither a number nor a name (${Object.keys(spec.names).join(', ')})`
      : `"${text}" is not a number`;
  }
  const n = Number(text);
  if (n < spec.min || n > spec.max) {
    const hint = spec.name === 'day of week' && n === 7 ? ' (GitHub Actions does not accept 7 for Sunday: use 0)' : '';
    return `${n} is outside ${spec.min}-${spec.max}${hint}`;
  }
  return n;
}

/** GitHub runs schedules at most every 5 minutes; the same rule as its workflow parser's warning. */
export function runsMoreOftenThanEvery5Minutes(cron: Cron): boolean {
  const minutes = [...cron.minutes].sort((a, b) => a - b);
  if (minutes.length < 2) return false;
  let gap = minutes[0]! + 60 - minutes.at(-1)!;
  for (let i = 1; i < minutes.length; i++) gap = Math.min(gap, minutes[i]! - minutes[i - 1]!);
  return gap < 5;
}

/** The most days each month can have (February in a leap year). */
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Whether a schedule can ever fire: "0 3 31 2 *" (31 February) passes the syntax and never
 * does. With the day of week restricted too, days match if either field does: it fires.
 */
export function canFire(cron: Cron): boolean {
  if (cron.dayOr) return true;
  return [...cron.months].some((month) => [...cron.daysOfMonth].some((day) => day <= DAYS_IN_MONTH[month - 1]!));
}
