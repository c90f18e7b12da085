// The one place a run's records are read from the ledger: run.json and the step records,
// each checked against the schema the runner writes them by (schemas/run.schema.json and
// step.schema.json, generated from runner/records.ts). A committed file may be anything (null,
// {"steps": null}, a step {"index": 1}, a link out of runs/): every reader gets a record it can
// use or none, and whoever listens is told once per file why it was skipped.
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { relative } from 'node:path';
import type { RunRecord, StepRecord } from '../runner/records.js';
import { insideRuns } from './inside-runs.js';

interface Validator {
  (data: unknown): boolean;
  errors?: Array<{ instancePath: string; message?: string }> | null;
}
type Kinds = { run: RunRecord; step: StepRecord };
const VALIDATOR_NAMES = { run: 'runRecord', step: 'stepRecord' } as const;

// Generated at build time from schemas/*.json (src/build/build-validators.ts); loaded at the
// first record read, so that commands which read none do not pay for it.
let validators: Record<string, Validator> | undefined;

export interface UnusableRecord {
  /** The file, relative to its ledger root (runs/...). */
  path: string;
  /** Why it was skipped. */
  reason: string;
}

const listeners = new Set<(problem: UnusableRecord) => void>();
const told = new Set<string>();

/** Calls `listener` once for each record file found unusable from now on (a CLI prints a warning). */
export function onUnusableRecord(listener: (problem: UnusableRecord) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Instead of the listeners: a reader that reports the problem itself (etl show of that run). */
export type OnProblem = (reason: string) => void;

function skip(root: string, path: string, reason: string, onProblem?: OnProblem): undefined {
  if (onProblem) return void onProblem(reason);
  if (told.has(path)) return undefined;
  told.add(path);
  for (const listener of listeners) listener({ path: relative(root, path), reason });
  return undefined;
}

/**
 * A record from the ledger rooted at `root`: undefined when the file is not there (not written
 * yet), and when it cannot be used: a link out of runs/, not JSON, or not the record's shape.
 */
export function readRecord<K extends keyof Kinds>(
  kind: K,
  root: string,
  path: string,
  onProblem?: OnProblem,
): Kinds[K] | undefined {
  if (!insideRuns(root, path)) {
    // Not there (not written yet), or a link that leads out (never opened: it may be /dev/zero).
    if (!statSync(path, { throwIfNoEntry: false })) return undefined;
    return skip(root, path, 'is a link to a file outside runs/', onProblem);
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // gone since
    return skip(
      root,
      path,
      `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      onProblem,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return skip(root, path, text.trim() === '' ? 'is empty' : 'is not JSON', onProblem);
  }
  validators ??= createRequire(import.meta.url)('../definitions/validators.cjs') as Record<string, Validator>;
  const validate = validators[VALIDATOR_NAMES[kind]]!;
  if (validate(data)) return data as Kinds[K];
  const [first] = validate.errors ?? [];
  const where = first?.instancePath ? `${first.instancePath} ` : '';
  return skip(root, path, `is not a ${kind} record: ${where}${first?.message ?? 'has the wrong shape'}`, onProblem);
}
