// continue_on: the run goes on after a step fails, the step stays failed, the run ends
// succeeded_with_failures.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pipelineRepo, runCli } from '../helpers/repo.js';
import { assertValidRecords, findRunFolders, onlyRun, readRunFolder } from '../helpers/runs.js';

test('continue_on: failure goes on after the step fails; the run ends succeeded_with_failures, exit 0', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' }, fail: { cmd: './modules/fail.sh' } },
    sequences: {
      s: {
        steps: [
          { name: 'optional', module_name: 'fail', continue_on: 'failure' },
          { name: 'after', module_name: 'ok' },
        ],
        on_success: { module_name: 'ok', name: 'told' },
      },
    },
  });
  const result = await runCli(['run', 's'], { cwd: repo });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const { run, steps } = onlyRun(repo);
  assertValidRecords(run, steps);
  assert.equal(run.status, 'succeeded_with_failures');
  assert.equal(run.failed_step, null);
  assert.match(run.error!, /^went on \(continue_on\) after step 1 \(optional\) failed: exited with code 1$/);
  assert.deepEqual(
    run.steps.map((s) => `${s.name} ${s.status}`),
    ['optional failed', 'after succeeded', 'told succeeded'],
  );
  const history = await runCli(['history', 's', '--status', 'succeeded_with_failures'], { cwd: repo });
  assert.match(history.stdout, /succeeded_with_failures/);
});

test('continue_on with exit codes goes on only after those; in a graph what needs the step still runs', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' }, fail: { cmd: './modules/fail.sh' } },
    sequences: {
      other_code: { steps: [{ module_name: 'fail', continue_on: [3] }, { module_name: 'ok' }] },
      graph: {
        steps: [
          { name: 'flaky', module_name: 'fail', needs: [], continue_on: [1] },
          { name: 'then', module_name: 'ok', needs: ['flaky'] },
        ],
      },
    },
  });
  const stopped = await runCli(['run', 'other_code'], { cwd: repo });
  assert.equal(stopped.code, 1, 'fail.sh exits 1, not 3: the run stops');
  assert.deepEqual(
    onlyRun(repo).run.steps.map((s) => s.status),
    ['failed', 'skipped'],
  );
  const went = await runCli(['run', 'graph'], { cwd: repo });
  assert.equal(went.code, 0, went.stdout + went.stderr);
  const graphRun = findRunFolders(repo).find((f) => f.includes('/graph/'))!;
  const { run } = readRunFolder(graphRun);
  assert.equal(run.status, 'succeeded_with_failures');
  assert.deepEqual(
    run.steps.map((s) => s.status),
    ['failed', 'succeeded'],
  );
});

test('continue_on with the spawner helper: the step after the failed one starts (it was to start ahead, on an exit 0)', {
  timeout: 120_000, // a hang is the failure this guards against
}, async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' }, fail: { cmd: './modules/fail.sh' } },
    sequences: {
      list: [
        { name: 'optional', module_name: 'fail', continue_on: 'failure' },
        { name: 'b', module_name: 'ok' },
        { name: 'c', module_name: 'ok' },
      ],
      chain: {
        steps: [
          { name: 'optional', module_name: 'fail', needs: [], continue_on: 'failure' },
          { name: 'b', module_name: 'ok', needs: ['optional'] },
        ],
      },
    },
  });
  for (const name of ['list', 'chain']) {
    // The helper starts the next step the moment one exits 0: here the one before fails.
    const result = await runCli(['run', name], { cwd: repo, env: { ETL_SPAWNER: 'python' } });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const { run } = readRunFolder(findRunFolders(repo).find((f) => f.includes(`/${name}/`))!);
    assert.equal(run.status, 'succeeded_with_failures', name);
    assert.deepEqual(
      run.steps.filter((s) => s.name !== 'optional').map((s) => s.status),
      name === 'list' ? ['succeeded', 'succeeded'] : ['succeeded'],
    );
  }
});
