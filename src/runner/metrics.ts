// Step metrics: a module writes `key=value` lines to the file named by ETL_METRICS (the format
// of GITHUB_OUTPUT, `key<<DELIMITER` blocks included), e.g. `rows=25`; the runner reads it when
// the attempt ends and keeps the values in the step record, numbers as numbers.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { METRIC_NAME_PATTERN } from '../definitions/patterns.js';
import type { Redactor } from './logs.js';
import type { Role } from './records.js';

export type MetricValue = number | string;

/**
 * More than this in ETL_METRICS or ETL_OUTPUTS is a module gone wrong: the file is not read and
 * the step fails, as a part of it would pass on values cut short as if they were written so.
 * spawner.py holds the same number (it must not start the next step after such a step).
 */
export const MAX_BYTES = 64 * 1024;
const MAX_KEYS = 200;
const KEY = new RegExp(METRIC_NAME_PATTERN);
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Where an attempt of a step writes its metrics (in the run's scratch folder). */
export function metricsFile(scratch: string, role: Role, index: number, attempt: number): string {
  return attemptFile(scratch, 'metrics', role, index, attempt);
}

/** A file an attempt of a step writes for the runner, in a folder of the run's scratch folder. */
export function attemptFile(scratch: string, folder: string, role: Role, index: number, attempt: number): string {
  return join(scratch, folder, `${role === 'step' ? '' : `${role}-`}${index}-${attempt}.txt`);
}

export interface ReadMetrics {
  metrics: Record<string, MetricValue>;
  /** Lines that were not metrics, and limits reached: for the step's log. */
  problems: string[];
  /** Why none of the file was read (it is over MAX_BYTES): the step fails. */
  tooLarge?: string;
}

/** The metrics an attempt wrote, or undefined when it wrote no file. */
export function readMetrics(path: string): ReadMetrics | undefined {
  const text = readKeyValueFile(path, 'ETL_METRICS');
  if (text === undefined) return undefined;
  return 'tooLarge' in text ? { metrics: {}, problems: [], tooLarge: text.tooLarge } : parseMetrics(text.text);
}

export function parseMetrics(text: string): ReadMetrics {
  const { values, problems } = parseKeyValues(text, {
    variable: 'ETL_METRICS',
    key: KEY,
    what: 'a metric name (letters, digits, _ . -; a letter or _ first)',
  });
  const metrics: Record<string, MetricValue> = {};
  for (const [key, value] of Object.entries(values)) {
    const trimmed = value.trim();
    // A whole number past 2^53 would lose digits as a number: kept as written, as text.
    const exact = !/^[+-]?\d+$/.test(trimmed) || Number.isSafeInteger(Number(trimmed));
    metrics[key] = NUMBER.test(trimmed) && Number.isFinite(Number(trimmed)) && exact ? Number(trimmed) : value;
  }
  return { metrics, problems };
}

/** What a file of ETL_METRICS' format holds: its names, what a name must be, for messages. */
export interface KeyValueFormat {
  variable: string;
  key: RegExp;
  what: string;
}

/**
 * The text of a file a module writes for the runner, undefined when there is none, or why it
 * is not read: over MAX_BYTES, counted in bytes as written (not in characters).
 */
export function readKeyValueFile(path: string, variable: string): { text: string } | { tooLarge: string } | undefined {
  // Its size first: a file of gigabytes is refused without being read.
  const tooLarge = keyValueFileTooLarge(path, variable);
  if (tooLarge !== undefined) return { tooLarge };
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return undefined;
  }
  // It may have grown since (a process the module left behind may still write to it).
  if (bytes.length > MAX_BYTES) return { tooLarge: tooLargeMessage(variable, bytes.length) };
  return { text: bytes.toString('utf8') };
}

/** Why such a file is not read, by its size alone (none when it is missing or within the limit). */
export function keyValueFileTooLarge(path: string, variable: string): string | undefined {
  try {
    const size = statSync(path).size;
    return size > MAX_BYTES ? tooLargeMessage(variable, size) : undefined;
  } catch {
    return undefined;
  }
}

const tooLargeMessage = (variable: string, size: number) =>
  `${variable} holds ${size} bytes, over its limit of ${MAX_BYTES} (64 KiB): none of it is used`;

/**
 * `key=value` lines and `key<<DELIMITER` blocks, as GITHUB_OUTPUT takes them; a later value of
 * a key wins. What is not such a line, and the limits reached, are problems for the step's log.
 */
export function parseKeyValues(
  text: string,
  format: KeyValueFormat,
): { values: Record<string, string>; problems: string[] } {
  const { variable } = format;
  const problems: string[] = [];
  const values: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    let key: string;
    let value: string;
    const block = /^([^=<]+)<<(.+)$/.exec(line);
    const pair = /^([^=]+)=(.*)$/.exec(line);
    if (block) {
      key = block[1]!.trim();
      const end = lines.indexOf(block[2]!, i + 1);
      if (end === -1) {
        problems.push(`${variable} line ${i + 1}: "${key}<<${block[2]}" has no closing "${block[2]}" line`);
        break;
      }
      value = lines.slice(i + 1, end).join('\n');
      i = end;
    } else if (pair) {
      key = pair[1]!.trim();
      value = pair[2]!;
    } else {
      problems.push(`${variable} line ${i + 1}: expected NAME=VALUE, got "${line.slice(0, 80)}"`);
      continue;
    }
    if (!format.key.test(key)) {
      problems.push(`${variable} line ${i + 1}: "${key.slice(0, 80)}" is not ${format.what}`);
      continue;
    }
    if (!(key in values) && Object.keys(values).length >= MAX_KEYS) {
      problems.push(`${variable} has more than ${MAX_KEYS} names: "${key}" and later ones are left out`);
      break;
    }
    values[key] = value;
  }
  return { values, problems };
}

/** The values with the run's secrets masked: a number that is one (a PIN, an account key) becomes the mask. */
export function redactMetrics(metrics: Record<string, MetricValue>, redactor: Redactor): Record<string, MetricValue> {
  return Object.fromEntries(
    Object.entries(metrics).map(([key, value]) => {
      const text = String(value);
      const masked = redactor.redact(text);
      return [key, typeof value === 'string' || masked !== text ? masked : value];
    }),
  );
}

/** `rows=25 note="a text"`, as etl show and etl metrics print them. */
export function formatMetrics(metrics: Record<string, MetricValue>): string {
  return Object.entries(metrics)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? JSON.stringify(value) : value}`)
    .join(' ');
}
