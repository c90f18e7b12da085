import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openRecorder, serializeRun } from '../../src/ledger/recorder.js';
import type { RunRecord, StepRecord } from '../../src/runner/records.js';
import { tempRepo } from '../helpers/repo.js';

const run = (status: RunRecord['status']): RunRecord =>
  ({
    id: 'r',
    status,
    steps: [
      {
        index: 1,
        role: 'step',
        name: 'a',
        module: 'a',
        status: 'pending',
        duration_ms: null,
        exit_code: null,
        attempts: 0,
        record: 'steps/01-a.json',
      },
    ],
  }) as unknown as RunRecord;

test('the recorder writes run.json at each change and a step record when the step ends', async (t) => {
  const folder = join(tempRepo(t), 'runs', 'x');
  const seen: string[] = [];
  const recorder = openRecorder(folder, { stepFinished: () => void seen.push('next observer told') });
  const started = run('running');
  await recorder.runStarted(started, []);
  assert.equal(JSON.parse(readFileSync(join(folder, 'run.json'), 'utf8')).status, 'running');
  const step = { role: 'step', index: 1, status: 'succeeded' } as StepRecord;
  started.steps[0]!.status = 'succeeded';
  await recorder.stepFinished(started, step);
  assert.equal(JSON.parse(readFileSync(join(folder, 'steps/01-a.json'), 'utf8')).status, 'succeeded');
  assert.deepEqual(seen, ['next observer told']);
  await recorder.runFinished({ ...started, status: 'succeeded' });
  assert.equal(JSON.parse(readFileSync(join(folder, 'run.json'), 'utf8')).status, 'succeeded');
  assert.deepEqual(
    readdirSync(folder).filter((f) => f.endsWith('.tmp')),
    [],
    'no spare file left',
  );
  assert.ok(existsSync(join(folder, 'steps')));
});

test('run.json is indented with one line per step, and each step line is serialised once', () => {
  const cache = new WeakMap<object, string>();
  const record = run('running');
  const text = serializeRun(record, cache);
  assert.deepEqual(JSON.parse(text), record);
  assert.match(text, /\n {2}"steps": \[\n {4}\{"index":1,/);
  record.status = 'succeeded';
  assert.equal(cache.get(record.steps[0]!), JSON.stringify(record.steps[0]), 'cached by the step object');
});
