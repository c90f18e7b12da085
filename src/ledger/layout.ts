import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { NAME_PATTERN } from '../definitions/patterns.js';
import { EtlError } from '../errors.js';
import type { StepFiles } from '../runner/step-records.js';

export const RUNS_DIR = 'runs';

/**
 * A run id sorts by start time and is unique across machines: the UTC start time to the
 * millisecond, then 8 random hex digits. 20261125T031828123Z-9f3a0c1d
 */
export function newRunId(at: Date): string {
  const stamp = at.toISOString().replace(/[-:.]/g, '');
  return `${stamp}-${randomBytes(4).toString('hex')}`;
}

export const RUN_ID_PATTERN = /^(\d{4})(\d{2})(\d{2})T\d{9}Z-[0-9a-f]{8}$/;

/** When a run started, as its id says (ISO 8601, UTC). */
export function runIdTime(id: string): string {
  const t = id.slice(0, 18);
  return `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(9, 11)}:${t.slice(11, 13)}:${t.slice(13, 15)}.${t.slice(15, 18)}Z`;
}

/** runs/<sequence>/<YYYY>/<MM>/<DD>/<run-id>, relative to the repository. */
export function runFolder(sequence: string, runId: string): string {
  const match = RUN_ID_PATTERN.exec(runId);
  if (!match) throw new Error(`not a run id: ${runId}`);
  return join(RUNS_DIR, sequence, match[1]!, match[2]!, match[3]!, runId);
}

/** The lock of a sequence: never committed (see .gitignore). */
export function lockFile(sequence: string): string {
  return join(RUNS_DIR, sequence, '.lock');
}

/**
 * Every command takes sequence names through this check before a name becomes part of a
 * path: "../../other/runs/x" must never read (or write) another folder's ledger.
 */
export function checkSequenceName(name: string): string {
  if (!new RegExp(NAME_PATTERN).test(name)) {
    throw new EtlError(
      'invalid-sequence-name',
      `"${name}" is not a sequence name: letters, digits, ".", "_" and "-", starting with a letter or digit`,
    );
  }
  return name;
}

/**
 * Where a step's record and log go in its run folder: steps/01-extract.json and
 * logs/01-extract.log ("on_failure-01-notify" for a step of a handler), numbered wide enough
 * to sort (`count` is how many steps share the role).
 */
export const stepFiles: StepFiles = (step, count) => {
  const number = String(step.index).padStart(Math.max(2, String(count).length), '0');
  const stem = `${step.role === 'step' ? '' : `${step.role}-`}${number}-${step.module}`;
  return { record: `steps/${stem}.json`, log: `logs/${stem}.log` };
};

/** Whether a repository-relative path is a run's folder: runs/<sequence>/<YYYY>/<MM>/<DD>/<run-id>. */
export function isRunFolder(path: string): boolean {
  const parts = path.split('/');
  return parts.length === 6 && parts[0] === RUNS_DIR && !parts.includes('..') && RUN_ID_PATTERN.test(parts[5]!);
}
