import { readFileSync } from 'node:fs';
import type { StepRecord } from '../runner/records.js';
import { join } from 'node:path';
import { insideRuns, ledgerRootOf } from './inside-runs.js';
import { readRecord } from './record-file.js';

/**
 * A step's record in a run folder, or undefined while it is not written (the step has not
 * finished) or when it cannot be used (record-file.ts says why).
 */
export function readStep(runFolder: string, recordPath: string): StepRecord | undefined {
  const path = join(runFolder, recordPath);
  const root = ledgerRootOf(path);
  return root === undefined ? undefined : readRecord('step', root, path);
}

/**
 * The end of a log, for a person to see first: its last `lines` lines (trailing blank space
 * dropped), cut to the last `chars` characters; undefined when it cannot be read (or lies
 * outside runs/).
 */
export function readLogTail(path: string, lines: number, chars = Infinity): string | undefined {
  const root = ledgerRootOf(path);
  if (root === undefined || !insideRuns(root, path)) return undefined;
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n').slice(-chars);
  } catch {
    return undefined;
  }
}
