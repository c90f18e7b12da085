import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readRun } from '../../src/ledger/history.js';
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
  await recorder.runStarted(started);
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

test('run.json is not rewritten after every step: readRun takes each step from its record, the first unfinished one as running', async (t) => {
  const root = tempRepo(t);
  const folder = join(root, 'runs', 'x');
  const count = 200;
  const steps = Array.from({ length: count }, (_, i) => ({
    index: i + 1,
    role: 'step' as const,
    name: 'a',
    module: 'a',
    status: 'pending' as StepRecord['status'],
    duration_ms: null,
    exit_code: null,
    attempts: 0,
    record: `steps/${String(i + 1).padStart(3, '0')}-a.json`,
  }));
  // Records of the shape the runner writes: readRun uses no other.
  const live: RunRecord = {
    schema_version: 1,
    id: '20261201T000000000Z-0000abcd',
    sequence: 'x',
    status: 'running',
    trigger: { kind: 'manual', actor: null, ci: null },
    definitions: { commit: null, dirty: null, files: {} },
    selection: null,
    host: 'h',
    pid: 1,
    runner_version: '0',
    started_at: '2026-12-01T00:00:00.000Z',
    finished_at: null,
    duration_ms: null,
    failed_step: null,
    error: null,
    steps,
  };
  const stepRecord = (index: number, status: StepRecord['status'], attempts: StepRecord['attempts']): StepRecord => ({
    schema_version: 1,
    run_id: live.id,
    index,
    role: 'step',
    name: 'a',
    module: 'a',
    argv: [],
    input: null,
    output: null,
    config: null,
    status,
    started_at: null,
    finished_at: null,
    duration_ms: null,
    attempts,
    log: { path: null, bytes: 0, kept_bytes: 0, truncated: false },
  });
  const attempt = {
    attempt: 1,
    started_at: '2026-12-01T00:00:00.000Z',
    finished_at: '2026-12-01T00:00:00.000Z',
    duration_ms: 0,
    exit_code: 0,
    signal: null,
    timed_out: false,
    error: null,
  };
  // A slow machine takes more than the default second over these steps: the interval is set
  // past the test's length, so what is asserted is that no step rewrites run.json.
  const recorder = openRecorder(folder, undefined, 60_000);
  await recorder.runStarted(live);
  for (let i = 0; i < count - 1; i++) {
    const step = stepRecord(i + 1, 'running', []);
    live.steps[i] = { ...live.steps[i]!, status: 'running' };
    await recorder.stepStarted(live, step);
    const ended = stepRecord(i + 1, 'succeeded', [attempt]);
    live.steps[i] = { ...live.steps[i]!, status: 'succeeded', exit_code: 0, attempts: 1 };
    await recorder.stepFinished(live, ended);
  }
  const onDisk = JSON.parse(readFileSync(join(folder, 'run.json'), 'utf8')) as RunRecord;
  assert.ok(
    onDisk.steps.filter((s) => s.status === 'pending').length > count / 2,
    'run.json was rewritten after the steps (its list grows with the run: the cost was quadratic)',
  );
  const seen = readRun(root, { folder: 'runs/x' })!;
  assert.deepEqual(
    seen.steps.map((s) => s.status),
    [...Array.from({ length: count - 1 }, () => 'succeeded'), 'running'],
  );
  assert.equal(seen.steps[0]!.exit_code, 0);
  // An empty record (the last one, lost in a power loss before its flush) is read as not written.
  writeFileSync(join(folder, 'steps/199-a.json'), '');
  assert.deepEqual(
    readRun(root, { folder: 'runs/x' })!
      .steps.slice(-3)
      .map((s) => s.status),
    ['succeeded', 'running', 'pending'],
  );
});
