// A step's own retry policy: retry_delay, backoff, retry_on (on a step, as on a module).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pipelineRepo, runCli } from '../helpers/repo.js';
import { assertValidRecords, onlyRun } from '../helpers/runs.js';

test('a step waits retry_delay, times backoff for each retry after the first', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { flaky: { cmd: './modules/flaky.sh 2', retry_delay: '1h' } },
    sequences: { s: { steps: [{ module_name: 'flaky', retries: 2, retry_delay: '100ms', backoff: 4 }] } },
  });
  const result = await runCli(['run', 's'], { cwd: repo });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const { run, steps } = onlyRun(repo);
  assertValidRecords(run, steps);
  const attempts = steps[0]!.attempts;
  assert.equal(attempts.length, 3);
  const gap = (n: number) => Date.parse(attempts[n]!.started_at) - Date.parse(attempts[n - 1]!.finished_at!);
  // The step's delay wins over its module's hour; the second wait is four times the first.
  assert.ok(gap(1) >= 100 && gap(1) < 60_000, `first wait ${gap(1)} ms`);
  assert.ok(gap(2) >= 400 && gap(2) < 60_000, `second wait ${gap(2)} ms`);
});

test('retry_on: an exit code it does not list is not retried; one it lists is', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { flaky: { cmd: './modules/flaky.sh 1', retry_on: [4] } },
    sequences: {
      other_code: { steps: [{ module_name: 'flaky', retries: 3 }] },
      listed: { steps: [{ module_name: 'flaky', retries: 3, retry_on: [3] }] },
    },
  });
  const notRetried = await runCli(['run', 'other_code'], { cwd: repo });
  assert.equal(notRetried.code, 1, notRetried.stdout + notRetried.stderr);
  assert.equal(onlyRun(repo).steps[0]!.attempts.length, 1, 'flaky.sh exits 3, the module retries only on 4');
  const retried = await runCli(['run', 'listed'], { cwd: repo });
  assert.equal(retried.code, 0, retried.stdout + retried.stderr);
});
