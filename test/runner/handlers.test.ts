// Every lifecycle handler: on_success, on_failure, on_cancel (a signal, the run's deadline) and
// on_exit, each told why it runs, each recorded, in order.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pipelineRepo, runCli, startCli } from '../helpers/repo.js';
import { assertValidRecords, findRunFolders, onlyRun, readRunFolder } from '../helpers/runs.js';

// Notes in told.txt which step ran, and what it was told of the run.
const TELL = {
  content: `#!/bin/sh
echo "$ETL_STEP_NAME $ETL_RUN_STATUS \${ETL_FAILED_STEP_NAME:--}" >> "$ETL_REPO/told.txt"
`,
  mode: 0o755,
};
const told = (repo: string) =>
  existsSync(join(repo, 'told.txt')) ? readFileSync(join(repo, 'told.txt'), 'utf8').trim().split('\n') : [];

const MODULES = {
  tell: { cmd: './modules/tell.sh' },
  ok: { cmd: './modules/ok.sh' },
  fail: { cmd: './modules/fail.sh' },
  hold: { cmd: './modules/hold.sh' },
};

const HANDLERS = {
  on_success: { module_name: 'tell', name: 'success' },
  on_failure: { module_name: 'tell', name: 'failure' },
  on_cancel: { module_name: 'tell', name: 'cancel' },
  on_exit: [
    { module_name: 'tell', name: 'exit1' },
    { module_name: 'tell', name: 'exit2' },
  ],
};

function repoWith(t: Parameters<typeof pipelineRepo>[0], sequence: Record<string, unknown>): string {
  return pipelineRepo(t, {
    modules: MODULES,
    sequences: { s: { ...HANDLERS, ...sequence } },
    files: { 'modules/tell.sh': TELL },
  });
}

test('a success runs on_success, then on_exit; each step told the run succeeded, recorded in its role', async (t) => {
  const repo = repoWith(t, { steps: [{ module_name: 'ok' }] });
  const result = await runCli(['run', 's'], { cwd: repo });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.deepEqual(told(repo), ['success succeeded -', 'exit1 succeeded -', 'exit2 succeeded -']);
  const { run, steps } = onlyRun(repo);
  assertValidRecords(run, steps);
  assert.equal(run.status, 'succeeded');
  assert.deepEqual(
    run.steps.map((s) => `${s.role} ${s.index} ${s.status} ${s.record}`),
    [
      'step 1 succeeded steps/01-ok.json',
      'on_success 1 succeeded steps/on_success-01-tell.json',
      'on_exit 1 succeeded steps/on_exit-01-tell.json',
      'on_exit 2 succeeded steps/on_exit-02-tell.json',
    ],
  );
});

test('a failure runs on_failure, then on_exit, told what failed; on_success and on_cancel do not run', async (t) => {
  const repo = repoWith(t, { steps: [{ module_name: 'fail', name: 'broken' }] });
  const result = await runCli(['run', 's'], { cwd: repo });
  assert.equal(result.code, 1, result.stdout + result.stderr);
  assert.deepEqual(told(repo), ['failure failed broken', 'exit1 failed broken', 'exit2 failed broken']);
  assert.equal(onlyRun(repo).run.error, 'step 1 (broken) failed: exited with code 1');
});

test('an on_success step that fails fails the run, and on_exit still runs', async (t) => {
  const repo = repoWith(t, { steps: [{ module_name: 'ok' }], on_success: { module_name: 'fail', name: 'publish' } });
  const result = await runCli(['run', 's'], { cwd: repo });
  assert.equal(result.code, 1, result.stdout + result.stderr);
  assert.deepEqual(told(repo), ['exit1 succeeded -', 'exit2 succeeded -']);
  const { run, steps } = onlyRun(repo);
  assertValidRecords(run, steps);
  assert.equal(run.status, 'failed');
  assert.equal(run.failed_step, null);
  assert.equal(run.error, 'on_success step 1 (publish) failed: exited with code 1');
});

test("the sequence's timeout running out runs on_failure and on_cancel, then on_exit", async (t) => {
  const repo = repoWith(t, { timeout: '300ms', on_exit_timeout: '10s', steps: [{ module_name: 'hold' }] });
  const result = await runCli(['run', 's'], { cwd: repo });
  assert.equal(result.code, 1, result.stdout + result.stderr);
  assert.deepEqual(told(repo), ['failure failed hold', 'cancel failed hold', 'exit1 failed hold', 'exit2 failed hold']);
  assert.match(onlyRun(repo).run.error!, /the sequence timeout \(300ms\) ran out/);
});

test('a cancel runs on_cancel and on_exit, told the run was cancelled; a second signal stops them at once', async (t) => {
  const repo = repoWith(t, {
    steps: [{ module_name: 'hold', name: 'work' }],
    on_cancel: [
      { module_name: 'tell', name: 'cancel' },
      { module_name: 'hold', name: 'cleanup' },
    ],
  });
  const cli = startCli(['run', 's', '--verbose'], { cwd: repo });
  await cli.line(/holding work/);
  cli.child.kill('SIGINT');
  // The run's step is stopped; on_cancel starts, and its second step holds until told.
  await cli.line(/holding cleanup/);
  cli.child.kill('SIGINT');
  const result = await cli.done;
  assert.equal(result.code, 130, result.stdout + result.stderr);
  assert.deepEqual(told(repo), ['cancel cancelled -']);
  const { run, steps } = readRunFolder(findRunFolders(repo)[0]!);
  assertValidRecords(run, steps);
  assert.equal(run.status, 'cancelled');
  assert.deepEqual(
    run.steps.map((s) => `${s.role} ${s.name} ${s.status}`),
    [
      'step work cancelled',
      'on_cancel cancel succeeded',
      'on_cancel cleanup cancelled',
      'on_exit exit1 skipped',
      'on_exit exit2 skipped',
    ],
  );
});

test('a cancel with no second signal lets on_cancel and on_exit finish', async (t) => {
  const repo = repoWith(t, { steps: [{ module_name: 'hold', name: 'work' }] });
  const cli = startCli(['run', 's', '--verbose'], { cwd: repo });
  await cli.line(/holding work/);
  cli.child.kill('SIGTERM');
  const result = await cli.done;
  assert.equal(result.code, 143, result.stdout + result.stderr);
  assert.deepEqual(told(repo), ['cancel cancelled -', 'exit1 cancelled -', 'exit2 cancelled -']);
});

test('a signal while on_success or on_failure runs stops that handler, then on_cancel and on_exit run, told the run was cancelled', async (t) => {
  for (const outcome of ['success', 'failure'] as const) {
    const repo = repoWith(t, {
      steps: [{ module_name: outcome === 'success' ? 'ok' : 'fail', name: 'work' }],
      [`on_${outcome}`]: [
        { module_name: 'hold', name: 'slow' },
        { module_name: 'tell', name: 'after' },
      ],
    });
    const cli = startCli(['run', 's', '--verbose'], { cwd: repo });
    await cli.line(/holding slow/);
    cli.child.kill('SIGTERM');
    const result = await cli.done;
    assert.equal(result.code, 143, result.stdout + result.stderr);
    const fromFailure = outcome === 'failure' ? 'work' : '-';
    assert.deepEqual(told(repo), [
      `cancel cancelled ${fromFailure}`,
      `exit1 cancelled ${fromFailure}`,
      `exit2 cancelled ${fromFailure}`,
    ]);
    const { run, steps } = readRunFolder(findRunFolders(repo)[0]!);
    assertValidRecords(run, steps);
    assert.equal(run.status, 'cancelled');
    assert.deepEqual(
      run.steps.map((s) => `${s.role} ${s.name} ${s.status}`),
      [
        `step work ${outcome === 'success' ? 'succeeded' : 'failed'}`,
        `on_${outcome} slow cancelled`,
        `on_${outcome} after skipped`,
        'on_cancel cancel succeeded',
        'on_exit exit1 succeeded',
        'on_exit exit2 succeeded',
      ],
    );
    if (outcome === 'failure') assert.match(run.error ?? '', /^cancelled after step 1 \(work\) (failed|exited)/);
  }
});
