// The engine on its own: a plan, an observer, an injected clock; no CLI, no ledger.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { stepFiles } from '../../src/ledger/layout.js';
import { type ExecuteOptions, executePlan, type RunObserver } from '../../src/runner/engine.js';
import { Redactor } from '../../src/runner/logs.js';
import type { Plan, PlannedStep } from '../../src/runner/plan.js';
import type { RunRecord, StepRecord } from '../../src/runner/records.js';
import { newStepRecord, wrapperEnv } from '../../src/runner/step-records.js';
import { fixture, waitUntilGone } from '../helpers/repo.js';

const MODULES = fixture('modules');

function step(index: number, script: string, extra: Partial<PlannedStep> = {}): PlannedStep {
  const command = join(MODULES, script);
  return {
    index,
    name: script.replace(/\..*$/, ''),
    module: script.replace(/\..*$/, ''),
    command,
    module_files: [],
    argv: [command],
    cwd: MODULES,
    retries: 0,
    retry_delay_ms: 0,
    env: {},
    expect: {},
    skip_unchanged: false,
    ...extra,
  };
}

function plan(steps: PlannedStep[], extra: Partial<Plan> = {}): Plan {
  return {
    sequence: 's',
    file: 'etl_sequences/s.json',
    repo: MODULES,
    secrets: [],
    params: {},
    tick: '2026-12-01T00:00:00.000Z',
    steps,
    on_success: [],
    on_failure: [],
    on_cancel: [],
    on_exit: [],
    handler_timeout_ms: {},
    ...extra,
  };
}

/** Records every event, in order. */
function recorder(onEvent: (event: string, step?: StepRecord) => void = () => {}): RunObserver & { events: string[] } {
  const events: string[] = [];
  const note = (event: string, step?: StepRecord) => {
    events.push(step ? `${event} ${step.role} ${step.index} ${step.status}` : event);
    onEvent(event, step);
  };
  return {
    events,
    runStarted: () => note('run started'),
    stepStarted: (_run, s) => note('step started', s),
    stepFinished: (_run, s) => note('step finished', s),
    runFinished: (run) => note(`run ${run.status}`),
  };
}

function options(t: TestContext, observer: RunObserver, extra: Partial<ExecuteOptions> = {}): ExecuteOptions {
  const folder = mkdtempSync(join(tmpdir(), 'etl-engine-'));
  t.after(() => rmSync(folder, { recursive: true, force: true }));
  return {
    runId: '20261201T000000000Z-0000abcd',
    folder,
    scratch: join(folder, 'scratch'),
    trigger: { kind: 'manual', actor: null, ci: null },
    definitions: { commit: null, dirty: null, files: {} },
    env: process.env,
    observer,
    host: 'h',
    pid: 1,
    runnerVersion: 't',
    files: stepFiles,
    ...extra,
  };
}

test('a sequence deadline already past on the clock: the step times out without starting, the handler still runs', async (t) => {
  let clock = 0;
  const now = () => new Date(clock);
  // The clock jumps 10 s as the first step starts: its 5 s sequence deadline has passed.
  const observer = recorder((event, s) => {
    if (event === 'step started' && s?.role === 'step') clock += 10_000;
  });
  const run: RunRecord = await executePlan(
    plan([step(1, 'ok.sh')], { timeout_ms: 5_000, on_failure: [step(1, 'ok.sh')] }),
    options(t, observer, { now }),
  );
  assert.equal(run.status, 'failed');
  assert.equal(run.steps[0]!.status, 'timed_out');
  assert.equal(run.steps[0]!.attempts, 0, 'no process was started');
  assert.equal(run.error, 'the sequence timeout (5s) ran out');
  assert.deepEqual(observer.events, [
    'run started',
    'step started step 1 running',
    'step finished step 1 timed_out',
    'step started on_failure 1 running',
    'step finished on_failure 1 succeeded',
    'run failed',
  ]);
  assert.equal(run.duration_ms, 10_000, 'durations come from the injected clock');
});

test('cancelling during retry_delay ends the wait at once: the step is cancelled, not retried', {
  timeout: 20_000,
}, async (t) => {
  const controller = new AbortController();
  const observer = recorder();
  observer.moduleStarted = (_step, pid) => {
    // Once the attempt's process is gone, the runner waits an hour before retrying: cancel then
    // (a cancel that comes before the runner saw the exit ends the same way).
    void waitUntilGone([pid]).then(() => controller.abort());
  };
  const failing = step(1, 'fail.sh', { retries: 3, retry_delay_ms: 3_600_000 });
  const run = await executePlan(plan([failing]), options(t, observer, { signal: controller.signal }));
  assert.equal(run.status, 'cancelled');
  assert.equal(run.steps[0]!.status, 'cancelled');
  assert.equal(run.steps[0]!.attempts, 1, 'no second attempt');
  assert.equal(run.steps[0]!.exit_code, 1, 'the attempt ended by itself, the cancel came during the wait');
});

test('record builders: secrets masked in argv and paths; the wrapper environment', () => {
  const planned = step(2, 'ok.sh', { argv: ['ok.sh', '--input', 'db://u:hunter22@h/x'], input: 'db://u:hunter22@h/x' });
  const record = newStepRecord(planned, 'step', 12, {
    runId: 'r',
    redactor: new Redactor(['hunter22']),
    files: stepFiles,
  });
  assert.deepEqual(record.argv, ['ok.sh', '--input', 'db://u:***@h/x']);
  assert.equal(record.input, 'db://u:***@h/x');
  assert.equal(record.log.path, 'logs/02-ok.log');
  const env = wrapperEnv(plan([planned]), planned, 'on_failure', 3, { runId: 'r', scratch: '/tmp/s' });
  assert.equal(env.ETL_STEP, '2');
  assert.equal(env.ETL_STEP_ROLE, 'on_failure');
  assert.equal(env.ETL_ATTEMPT, '3');
  assert.equal(env.ETL_RUN_DIR, '/tmp/s');
  assert.equal(env.ETL_CONFIG, '');
});
