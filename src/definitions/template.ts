// The one template syntax of definitions. In a step's input, output and conf, and in every
// env value (a module's, a sequence's, a step's):
//   ${params.NAME}    a run parameter (the sequence's `params`; not in modules.json, whose
//                     modules serve sequences with different params)
//   ${tick}           the tick the run is for (ISO 8601, UTC)
//   ${tick:FORMAT}    that tick in the sequence's time zone, formatted with %Y %m %d %H %M %S
//                     %j (day of the year) %u (weekday, Monday 1) and %% (a "%")
//   ${steps.NAME.outputs.KEY}
//                     what an earlier step wrote to ETL_OUTPUTS (only in a step's run, input,
//                     output, conf and env; NAME a step it needs, or in a list one before it)
//   $$                a literal "$"
// A param's default (and a value given with --param) may use the tick. Anything else after a
// "$" that reads as a variable ($HOME, ${HOME}, ${ETL_RUN_ID}) is an error: nothing is taken
// from the environment, and a template is never passed through as it is written. A "$"
// followed by anything else ("^a$", "$1") is a plain "$".
import { EtlError } from '../errors.js';
import { wallTimeIn } from './time-zone.js';
import { didYouMean } from './suggest.js';

/** A parameter's name: an identifier (it becomes ETL_PARAM_<NAME> for the modules). */
export const PARAM_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';
/** The name of a step's output (a line of ETL_OUTPUTS). */
export const OUTPUT_KEY_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';
const STEP_OUTPUT = /^steps\.([^.]+)\.outputs\.(.*)$/;

/**
 * How a plan holds ${steps.NAME.outputs.KEY} until the step runs (src/runner/outputs.ts): a
 * NUL byte is in no definition value, so the placeholder is never mistaken for one.
 */
export function outputPlaceholder(step: string, key: string): string {
  return `\0steps.${step}.outputs.${key}\0`;
}

const DIRECTIVES = new Set(['Y', 'm', 'd', 'H', 'M', 'S', 'j', 'u', '%']);
const USE = 'use ${params.NAME}, ${tick} or ${tick:%Y-%m-%d}, and $$ for a literal "$"';

/** Whether the value has anything a run replaces (a template, or a "$$"). */
export const hasTemplate = (text: string) => text.includes('$');

type Piece =
  | { kind: 'text'; text: string }
  | { kind: 'place'; whole: string; expression: string }
  | { kind: 'bad'; problem: string };

/** Splits a value into its plain text, its templates and its mistakes. */
function scan(text: string): Piece[] {
  const pieces: Piece[] = [];
  let plain = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c !== '$' || next === undefined) {
      plain += c;
    } else if (next === '$') {
      plain += '$';
      i++;
    } else if (next === '{') {
      const close = text.indexOf('}', i + 2);
      if (close === -1) {
        pieces.push({ kind: 'bad', problem: `"\${" without its closing "}" in "${text}"` });
        plain += text.slice(i);
        break;
      }
      if (plain) pieces.push({ kind: 'text', text: plain });
      plain = '';
      pieces.push({ kind: 'place', whole: text.slice(i, close + 1), expression: text.slice(i + 2, close).trim() });
      i = close;
    } else if (/[A-Za-z_]/.test(next)) {
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1))![0];
      pieces.push({ kind: 'bad', problem: variableProblem(`$${name}`, name) });
      plain += `$${name}`;
      i += name.length;
    } else {
      plain += c;
    }
  }
  if (plain) pieces.push({ kind: 'text', text: plain });
  return pieces;
}

function variableProblem(whole: string, name: string): string {
  return `${whole} is not expanded: nothing is read from the environment here (a module reads ${name.startsWith('ETL_') ? `${name}, which it is given,` : name} from its own environment); ${USE}`;
}

/** Where a value sits, for what its templates may use. */
export interface TemplateScope {
  /** The params a template may name. */
  params: readonly string[];
  /** Why ${params.NAME} cannot be used here, when it cannot (modules.json, a param's default). */
  noParams?: string;
  /** The steps whose outputs it may use ('any': planning validated definitions); none when absent. */
  steps?: readonly string[] | 'any';
}

/** A param's value: the tick, no other param. */
export const PARAM_VALUE_SCOPE: TemplateScope = {
  params: [],
  noParams: "a param's value may use the tick, not another param",
};

/** modules.json's env: its modules serve sequences with different params. */
export const MODULE_ENV_SCOPE: TemplateScope = {
  params: [],
  noParams:
    "a module's env in modules.json may use the tick, not a sequence's params: set it in the sequence's or the step's env",
};

/** What is wrong with the templates of a value, one message each (none: it is fine). */
export function templateProblems(text: string, scope: TemplateScope | readonly string[]): string[] {
  const { params, noParams }: TemplateScope = Array.isArray(scope)
    ? { params: scope as readonly string[] }
    : (scope as TemplateScope);
  const problems: string[] = [];
  for (const piece of scan(text)) {
    if (piece.kind === 'bad') {
      problems.push(piece.problem);
      continue;
    }
    if (piece.kind !== 'place') continue;
    const { whole, expression } = piece;
    const param = /^params\.(.*)$/.exec(expression);
    const output = STEP_OUTPUT.exec(expression);
    if (output) {
      problems.push(...outputProblems(output[1]!, output[2]!, whole, scope));
    } else if (param) {
      if (noParams) problems.push(`${whole} cannot be used here: ${noParams}`);
      else if (!params.includes(param[1]!))
        problems.push(
          `unknown param "${param[1]}" in ${whole}${didYouMean(param[1]!, params)}; ${params.length ? `the sequence declares ${params.join(', ')}` : 'the sequence declares no "params"'}`,
        );
    } else if (expression.startsWith('tick:')) {
      problems.push(...formatProblems(expression.slice(5), whole));
    } else if (expression !== 'tick') {
      problems.push(
        /^[A-Za-z_][A-Za-z0-9_]*$/.test(expression)
          ? variableProblem(whole, expression)
          : `unknown template ${whole}: ${USE}`,
      );
    }
  }
  return problems;
}

/** The ${steps.NAME.outputs.KEY} a value uses, as written, with the step each names. */
export function outputReferences(text: string): Array<{ step: string; whole: string }> {
  return scan(text).flatMap((piece) => {
    const output = piece.kind === 'place' ? STEP_OUTPUT.exec(piece.expression) : null;
    return piece.kind === 'place' && output ? [{ step: output[1]!, whole: piece.whole }] : [];
  });
}

function outputProblems(step: string, key: string, whole: string, scope: TemplateScope | readonly string[]): string[] {
  const steps = Array.isArray(scope) ? undefined : (scope as TemplateScope).steps;
  if (steps === undefined)
    return [`${whole} cannot be used here: a step's outputs are for a later step's run, input, output, conf and env`];
  if (!new RegExp(OUTPUT_KEY_PATTERN).test(key))
    return [`"${key}" in ${whole} is not an output name: letters, digits and _, a letter or _ first`];
  if (steps !== 'any' && !steps.includes(step))
    return [
      `${whole} names step "${step}", which does not run before this one${didYouMean(step, steps)}: ${steps.length ? `it may use the outputs of ${steps.join(', ')}` : 'no step runs before it'} (in a graph, the steps it needs)`,
    ];
  return [];
}

function formatProblems(format: string, whole: string): string[] {
  if (format === '') return [`${whole} has no format: use \${tick}, or a format such as \${tick:%Y-%m-%d}`];
  const problems: string[] = [];
  for (let i = 0; i < format.length; i++) {
    if (format[i] !== '%') continue;
    const directive = format[i + 1];
    if (directive === undefined) problems.push(`a lone "%" ends ${whole}: write %% for a "%"`);
    else if (!DIRECTIVES.has(directive))
      problems.push(`unknown format "%${directive}" in ${whole}: use %Y %m %d %H %M %S %j %u or %%`);
    i++;
  }
  return problems;
}

export interface TemplateValues {
  params: Record<string, string>;
  tick: Date;
  /** The sequence's zone: ${tick:FORMAT} is its wall-clock time there. */
  timezone: string;
}

/**
 * The value with its templates replaced. Definitions are validated before they are planned,
 * so a mistake here is a value given on the command line: it is refused, never passed on.
 */
export function resolveTemplate(text: string, values: TemplateValues, scope?: TemplateScope): string {
  if (!hasTemplate(text)) return text;
  const problems = templateProblems(text, scope ?? { params: Object.keys(values.params), steps: 'any' });
  if (problems.length) throw new EtlError('usage', problems.join('; '));
  return scan(text)
    .map((piece) => {
      if (piece.kind !== 'place') return piece.kind === 'text' ? piece.text : '';
      const { expression } = piece;
      if (expression === 'tick') return values.tick.toISOString();
      if (expression.startsWith('tick:')) return formatTick(values.tick, values.timezone, expression.slice(5));
      const output = STEP_OUTPUT.exec(expression);
      if (output) return outputPlaceholder(output[1]!, output[2]!);
      return values.params[expression.slice('params.'.length)]!;
    })
    .join('');
}

const two = (n: number) => String(n).padStart(2, '0');

function formatTick(tick: Date, timeZone: string, format: string): string {
  const { year, month, day, hour, minute, second } = wallTimeIn(timeZone, tick);
  const date = Date.UTC(year, month - 1, day);
  const dayOfYear = Math.round((date - Date.UTC(year, 0, 1)) / 86_400_000) + 1;
  const weekday = new Date(date).getUTCDay() || 7;
  const values: Record<string, string> = {
    Y: String(year).padStart(4, '0'),
    m: two(month),
    d: two(day),
    H: two(hour),
    M: two(minute),
    S: two(second),
    j: String(dayOfYear).padStart(3, '0'),
    u: String(weekday),
    '%': '%',
  };
  return format.replace(/%(.)/g, (whole, directive: string) => values[directive] ?? whole);
}
