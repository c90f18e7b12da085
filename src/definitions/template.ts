// The one template syntax of definitions: in a step's input, output and conf,
// `${params.NAME}` is a run parameter (the sequence's `params`), `${tick}` the tick the run is
// for (ISO 8601, UTC) and `${tick:FORMAT}` that tick in the sequence's time zone, formatted
// with %Y %m %d %H %M %S %j (day of the year) %u (weekday, Monday 1) and %% (a "%").
// A daily job reads `data/${tick:%Y-%m-%d}.csv` and a backfill of last week reads each day's.
import { didYouMean } from './suggest.js';

/** A parameter's name: an identifier (it becomes ETL_PARAM_<NAME> for the modules). */
export const PARAM_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';

const PLACE = /\$\{([^}]*)\}/g;
const FORMAT = /%(.)/g;
const DIRECTIVES = new Set(['Y', 'm', 'd', 'H', 'M', 'S', 'j', 'u', '%']);

export const hasTemplate = (text: string) => text.includes('${');

/** What is wrong with the templates of a value, one message each (none: it is fine). */
export function templateProblems(text: string, params: readonly string[]): string[] {
  const problems: string[] = [];
  const open = text.split('${').length - 1;
  const places = [...text.matchAll(PLACE)];
  if (places.length < open) problems.push(`"\${" without its closing "}" in "${text}"`);
  for (const [whole, inner] of places) {
    const expression = inner!.trim();
    const param = /^params\.(.*)$/.exec(expression);
    if (param) {
      if (!params.includes(param[1]!))
        problems.push(
          `unknown param "${param[1]}" in ${whole}${didYouMean(param[1]!, params)}; ${params.length ? `the sequence declares ${params.join(', ')}` : 'the sequence declares no "params"'}`,
        );
    } else if (expression.startsWith('tick:')) {
      for (const [, directive] of expression.slice(5).matchAll(FORMAT))
        if (!DIRECTIVES.has(directive!))
          problems.push(`unknown format "%${directive}" in ${whole}: use %Y %m %d %H %M %S %j %u or %%`);
    } else if (expression !== 'tick') {
      problems.push(`unknown template ${whole}: use \${params.NAME}, \${tick} or \${tick:%Y-%m-%d}`);
    }
  }
  return problems;
}

export interface TemplateValues {
  params: Record<string, string>;
  tick: Date;
  /** The sequence's zone: ${tick:FORMAT} is its wall-clock time there. */
  timezone: string;
}

/** The value with its templates replaced (they were checked when the definitions were validated). */
export function resolveTemplate(text: string, values: TemplateValues): string {
  if (!hasTemplate(text)) return text;
  return text.replace(PLACE, (whole, inner: string) => {
    const expression = inner.trim();
    if (expression === 'tick') return values.tick.toISOString();
    if (expression.startsWith('tick:')) return formatTick(values.tick, values.timezone, expression.slice(5));
    const param = /^params\.(.*)$/.exec(expression);
    return param ? (values.params[param[1]!] ?? whole) : whole;
  });
}

function formatTick(tick: Date, timeZone: string, format: string): string {
  const parts: Record<string, string> = {};
  const wall = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  for (const { type, value } of wall.formatToParts(tick)) parts[type] = value;
  const [year, month, day] = [Number(parts.year), Number(parts.month), Number(parts.day)];
  const date = Date.UTC(year, month - 1, day);
  const dayOfYear = Math.round((date - Date.UTC(year, 0, 1)) / 86_400_000) + 1;
  const weekday = new Date(date).getUTCDay() || 7;
  const values: Record<string, string> = {
    Y: String(year).padStart(4, '0'),
    m: parts.month!,
    d: parts.day!,
    H: parts.hour!,
    M: parts.minute!,
    S: parts.second!,
    j: String(dayOfYear).padStart(3, '0'),
    u: String(weekday),
    '%': '%',
  };
  return format.replace(FORMAT, (whole, directive: string) => values[directive] ?? whole);
}
