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

test("a step that cannot start says why in its record, show and the terminal; went on after, the run's error names every such step", async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' }, fail: { cmd: './modules/fail.sh' } },
    sequences: {
      went_on: {
        steps: [
          { name: 'first', module_name: 'fail', continue_on: 'failure' },
          { name: 'undecided', module_name: 'ok', if: 'sh -c "exit 4"', continue_on: 'failure' },
          { name: 'last', module_name: 'ok' },
        ],
      },
      handler: {
        steps: [
          { name: 'work', module_name: 'fail' },
          { name: 'later', run: './modules/ok.sh' },
        ],
        on_failure: { name: 'tell', run: './modules/ok.sh ${steps.later.outputs.day}' },
      },
    },
  });
  const wentOn = await runCli(['run', 'went_on'], { cwd: repo });
  assert.equal(wentOn.code, 0, wentOn.stdout + wentOn.stderr);
  let { run, steps } = onlyRun(repo);
  assertValidRecords(run, steps);
  assert.equal(run.status, 'succeeded_with_failures');
  assert.equal(
    run.error,
    "went on (continue_on) after step 1 (first) failed: exited with code 1; step 2 (undecided) cannot start: its condition could not be decided: if: sh -c 'exit 4' exited with code 4 (exit 0 runs the step, 1 skips it)",
  );
  assert.match(run.steps[1]!.not_started_because!, /^its condition could not be decided/);

  const handler = await runCli(['run', 'handler'], { cwd: repo });
  assert.equal(handler.code, 1, handler.stdout + handler.stderr);
  const why = '${steps.later.outputs.day}: step "later" did not run, or wrote no outputs';
  assert.match(handler.stdout, new RegExp(`on_failure 1 tell .*cannot start: ${why.replace(/[$.{}()]/g, '\\$&')}`));
  ({ run, steps } = readRunFolder(findRunFolders(repo).find((f) => f.includes('/handler/'))!));
  assertValidRecords(run, steps);
  const tell = steps.find((s) => s.role === 'on_failure')!;
  assert.equal(tell.not_started_because, why);
  assert.equal(run.steps.find((s) => s.role === 'on_failure')!.not_started_because, why);
  const shown = await runCli(['show', run.id], { cwd: repo });
  assert.ok(shown.stdout.includes(`cannot start: ${why}`), shown.stdout);
});
