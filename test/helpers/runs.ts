import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { RunRecord, StepRecord } from '../../src/runner/records.js';
import { fixture } from './repo.js';

export const validators = createRequire(import.meta.url)(
  join(fixture('..', '..'), 'dist/src/definitions/validators.cjs'),
) as Record<string, ((data: unknown) => boolean) & { errors?: unknown }>;

/** The single run folder of a repository's ledger, with its records read. */
export function onlyRun(repo: string): { folder: string; run: RunRecord; steps: StepRecord[] } {
  const folders = findRunFolders(repo);
  assert.equal(folders.length, 1, `expected one run, found ${folders.join(', ')}`);
  return readRunFolder(folders[0]!);
}

export function findRunFolders(repo: string): string[] {
  return readdirSync(join(repo, 'runs'), { recursive: true, encoding: 'utf8' })
    .filter((p) => p.endsWith('run.json'))
    .map((p) => join(repo, 'runs', p, '..'))
    .sort();
}

export function readRunFolder(folder: string) {
  const run = JSON.parse(readFileSync(join(folder, 'run.json'), 'utf8')) as RunRecord;
  const steps = run.steps
    .filter((s) => existsSync(join(folder, s.record)))
    .map((s) => JSON.parse(readFileSync(join(folder, s.record), 'utf8')) as StepRecord);
  return { folder, run, steps };
}

export function assertValidRecords(run: RunRecord, steps: StepRecord[]) {
  assert.ok(validators.runRecord!(run), JSON.stringify(validators.runRecord!.errors));
  for (const step of steps) assert.ok(validators.stepRecord!(step), JSON.stringify(validators.stepRecord!.errors));
}

export const log = (folder: string, step: StepRecord) =>
  step.log.path === null ? '' : readFileSync(join(folder, step.log.path), 'utf8');
