// What a module tells the runner besides its exit code: metrics (kept in its step's record)
// and outputs (values for later steps' ${steps.NAME.outputs.KEY}). Both are `key=value` lines
// appended to a file the runner names, GITHUB_OUTPUT's format; a value over several lines is
// written as a `key<<DELIMITER` block, which the runner reads as GitHub does.
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { METRIC_NAME_PATTERN } from '../definitions/patterns.js';
import { OUTPUT_KEY_PATTERN } from '../definitions/template.js';
import { ExitCode, fail } from './exit.js';
import { log } from './log.js';

export type ReportedValue = string | number | boolean;

const METRIC_NAME = new RegExp(METRIC_NAME_PATTERN);
const OUTPUT_KEY = new RegExp(OUTPUT_KEY_PATTERN);

/** A metric of the step (`rows_read`, 25): numbers stay numbers in the record, and `expect` rules may check them. */
export function metric(name: string, value: ReportedValue): void {
  if (!METRIC_NAME.test(name))
    fail(`metric name "${name}" is not letters, digits, _ . - (a letter or _ first, 100 at most)`, ExitCode.failed);
  report('ETL_METRICS', 'metric', name, value);
}

/** A value later steps use as ${steps.NAME.outputs.KEY}. */
export function output(key: string, value: ReportedValue): void {
  if (!OUTPUT_KEY.test(key)) fail(`output name "${key}" is not letters, digits and _ (a letter or _ first)`);
  report('ETL_OUTPUTS', 'output', key, value);
}

function report(variable: string, what: string, key: string, value: ReportedValue): void {
  if (typeof value === 'number' && !Number.isFinite(value)) fail(`${what} ${key} is ${value}: a number must be finite`);
  if (!['string', 'number', 'boolean'].includes(typeof value))
    fail(`${what} ${key}: expected a string, a number or a boolean, got ${value === null ? 'null' : typeof value}`);
  const text = String(value);
  const file = process.env[variable];
  if (!file) {
    log.debug(
      `${what} ${key}=${JSON.stringify(text)} (not recorded: ${variable} is not set, the module runs outside etl)`,
    );
    return;
  }
  appendFileSync(file, keyValue(key, text));
}

/** One `key=value` line, or a block for a value with a line break (its delimiter found nowhere in it). */
export function keyValue(key: string, value: string): string {
  if (!/[\r\n]/.test(value)) return `${key}=${value}\n`;
  let delimiter: string;
  do delimiter = `ETL_EOF_${randomBytes(8).toString('hex')}`;
  while (value.includes(delimiter));
  return `${key}<<${delimiter}\n${value}\n${delimiter}\n`;
}
