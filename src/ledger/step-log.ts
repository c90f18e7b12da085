import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StepRecord } from '../runner/records.js';

/** A step's record in a run folder, or undefined while it is not written (the step has not finished). */
export function readStep(runFolder: string, recordPath: string): StepRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(runFolder, recordPath), 'utf8')) as StepRecord;
  } catch {
    return undefined;
  }
}

/**
 * The end of a log, for a person to see first: its last `lines` lines (trailing blank space
 * dropped), cut to the last `chars` characters; undefined when it cannot be read.
 */
export function readLogTail(path: string, lines: number, chars = Infinity): string | undefined {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n').slice(-chars);
  } catch {
    return undefined;
  }
}
