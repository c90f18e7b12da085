import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { RunRecord, StepRecord } from '../../src/runner/records.js';
import { SCHEMA_VERSION } from '../../src/runner/schema-version.js';
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

/**
 * Writes `count` one-step run records of `sequence` (hourly from 2025-01-01; every tenth
 * failed), as the runner would lay them out, without their step records or logs; returns their
 * ids, oldest first. Typed as the runner writes them: a field the schema comes to require fails
 * the build here, not as records every reader skips.
 */
export function writeRunRecords(
  repo: string,
  sequence: string,
  count: number,
  change: (run: RunRecord, i: number) => RunRecord = (run) => run,
): string[] {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const at = new Date(Date.UTC(2025, 0, 1) + i * 3_600_000);
    const id = `${at.toISOString().replace(/[-:.]/g, '')}-${i.toString(16).padStart(8, '0')}`;
    ids.push(id);
    const folder = join(repo, 'runs', sequence, id.slice(0, 4), id.slice(4, 6), id.slice(6, 8), id);
    mkdirSync(folder, { recursive: true });
    const status = i % 10 === 0 ? 'failed' : 'succeeded';
    const run: RunRecord = {
      schema_version: SCHEMA_VERSION,
      id,
      sequence,
      status,
      trigger: { kind: 'schedule', actor: null, ci: null },
      definitions: { commit: null, dirty: null, files: {} },
      selection: null,
      host: 'test',
      pid: 1,
      runner_version: '0.0.0',
      started_at: at.toISOString(),
      finished_at: at.toISOString(),
      duration_ms: 5,
      failed_step: status === 'failed' ? 1 : null,
      error: status === 'failed' ? 'step 1 (ok) failed: exited with code 1' : null,
      steps: [
        {
          index: 1,
          role: 'step',
          name: 'ok',
          module: 'ok',
          status,
          duration_ms: 5,
          exit_code: status === 'failed' ? 1 : 0,
          attempts: 1,
          record: 'steps/01-ok.json',
        },
      ],
    };
    writeFileSync(join(folder, 'run.json'), JSON.stringify(change(run, i)));
  }
  return ids;
}
