// How a run ends when something goes wrong around it: escaped descendants, long timeouts,
// closed outputs, signals, a killed runner. Never an orphan, never a lost record.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { BIN, isRunning, pipelineRepo, runCli, startCli, waitUntilGone } from '../helpers/repo.js';
import { assertValidRecords, log, onlyRun } from '../helpers/runs.js';

/** The escaped process outlives the run by design: the test ends it. */
function killEscaped(t: TestContext, repo: string): void {
  const pid = Number(readFileSync(join(repo, 'escaped.pid'), 'utf8'));
  t.after(() => {
    if (isRunning(pid)) process.kill(pid, 'SIGKILL');
  });
}

const readPids = (repo: string, file = 'pids.json') =>
  JSON.parse(readFileSync(join(repo, file), 'utf8')) as { child: number; grandchild?: number };

test('a module that leaves a setsid process holding its output: the step ends at its deadline and says why in the log', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { escape: { cmd: './modules/escape.sh', timeout: '2s' }, after: { cmd: './modules/ok.sh' } },
    sequences: {
      s: { timeout: '4s', steps: [{ module_name: 'escape', output: 'escaped.pid' }, { module_name: 'after' }] },
    },
  });
  const result = await runCli(['run', 's', '--kill-grace', '30s'], { cwd: repo });
  killEscaped(t, repo);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const { folder, run, steps } = onlyRun(repo);
  assert.deepEqual(
    run.steps.map((s) => s.status),
    ['succeeded', 'succeeded'],
  );
  // The escaped sleep lives 40 s; the step is bounded by its 2 s timeout, whatever it does.
  assert.ok(steps[0]!.duration_ms! < 10_000, `step took ${steps[0]!.duration_ms} ms`);
  assert.match(
    log(folder, steps[0]!),
    /left a process holding the output\n\[etl-ledger: the module exited, but a process it started kept its output open; stopped waiting at the step deadline\]/,
  );
});

test('without a timeout, output held by an escaped process is awaited for the kill grace after the module exits', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { escape: { cmd: './modules/escape.sh' } },
    sequences: { s: [{ module_name: 'escape', output: 'escaped.pid' }] },
  });
  const result = await runCli(['run', 's', '--kill-grace', '500ms'], { cwd: repo });
  killEscaped(t, repo);
  assert.equal(result.code, 0, result.stderr);
  const { folder, steps } = onlyRun(repo);
  assert.match(log(folder, steps[0]!), /stopped waiting 500 ms after the module's exit/);
});

test('a timeout longer than 2^31-1 ms ("30d") is honoured, not fired at once', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { slow: { cmd: './modules/sleep.sh 0.3', timeout: '30d' } },
    sequences: { s: { timeout: '400d', steps: [{ module_name: 'slow', timeout: '25d' }, { module_name: 'slow' }] } },
  });
  const result = await runCli(['run', 's'], { cwd: repo });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.doesNotMatch(result.stderr, /TimeoutOverflowWarning/);
  assert.deepEqual(
    onlyRun(repo).run.steps.map((s) => s.status),
    ['succeeded', 'succeeded'],
  );
});

/** Runs a shell pipeline in bash; resolves with its stderr (the pipeline's own diagnostics). */
function shell(command: string, cwd: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile('bash', ['-c', command], { cwd, env: { ...process.env, NO_COLOR: '1' } }, (_e, stdout, stderr) =>
      resolve({ stdout, stderr }),
    ),
  );
}

for (const [label, args, redirect] of [
  ['stdout', '', ''],
  ['stdout with --verbose', '--verbose', ''],
  ['stdout with --json', '--json', ''],
  ['stdout and stderr', '--verbose', '2>&1'],
] as const) {
  test(`a closed output (${label}: etl run | head -1) never stops the run: it goes on and is recorded`, async (t) => {
    const repo = pipelineRepo(t, {
      modules: { chatty: { cmd: './modules/chatty.sh' } },
      sequences: {
        s: [
          { module_name: 'chatty' },
          { module_name: 'chatty', name: 'again' },
          { module_name: 'chatty', name: 'third' },
        ],
      },
    });
    const { stdout, stderr } = await shell(
      `"${process.execPath}" "${BIN}" run s ${args} ${redirect} | head -c 1 >/dev/null; echo "exit=\${PIPESTATUS[0]}" >&2`,
      repo,
    );
    assert.equal(stdout, '');
    assert.match(stderr, /exit=0$/m, stderr);
    assert.doesNotMatch(stderr, /internal error|EPIPE|at .*\.js:\d+/);
    const { run, steps } = onlyRun(repo);
    assert.equal(run.status, 'succeeded');
    assert.equal(steps.length, 3);
    assertValidRecords(run, steps);
  });
}

test("SIGHUP (a closed terminal) cancels the run like SIGTERM: the module's group is stopped, the run recorded, exit 129", async (t) => {
  const repo = pipelineRepo(t, {
    modules: { forever: { cmd: './modules/forever.mjs' } },
    sequences: { s: [{ module_name: 'forever', output: 'pids.json' }] },
  });
  const cli = startCli(['run', 's', '--verbose', '--kill-grace', '500ms'], { cwd: repo });
  await cli.line(/forever\.mjs started/);
  const pids = readPids(repo);
  cli.child.kill('SIGHUP');
  const result = await cli.done;
  assert.equal(result.code, 129, result.stdout + result.stderr);
  assert.ok(await waitUntilGone([pids.child, pids.grandchild!]), 'no orphans');
  const { run, steps } = onlyRun(repo);
  assert.equal(run.status, 'cancelled');
  assert.equal(steps[0]!.status, 'cancelled');
});

test('a second Ctrl-C during the kill grace SIGKILLs the group at once, and the run is still recorded', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { stubborn: { cmd: './modules/ignore-sigterm.mjs' } },
    sequences: { s: [{ module_name: 'stubborn', output: 'pids.json' }] },
  });
  const cli = startCli(['run', 's', '--verbose', '--kill-grace', '10m'], { cwd: repo });
  await cli.line(/ignore-sigterm\.mjs started/);
  const pids = readPids(repo);
  cli.child.kill('SIGINT');
  await cli.line(/SIGTERM ignored/); // the first signal reached the module; the grace is running
  cli.child.kill('SIGINT');
  const result = await cli.done;
  assert.equal(result.code, 130, result.stdout + result.stderr);
  assert.ok(await waitUntilGone([pids.child], 2000), 'the module is killed, not left behind');
  const { run, steps } = onlyRun(repo);
  assert.equal(run.status, 'cancelled');
  assert.equal(steps[0]!.status, 'cancelled');
  assert.equal(steps[0]!.attempts[0]!.signal, 'SIGKILL');
  assertValidRecords(run, steps);
});

test('the on_failure steps have their own bound (on_failure_timeout), not the unbounded rest of the run', async (t) => {
  const repo = pipelineRepo(t, {
    modules: {
      fail: { cmd: './modules/fail.sh' },
      slow: { cmd: './modules/sleep.sh 30' },
      ok: { cmd: './modules/ok.sh' },
    },
    sequences: {
      s: {
        timeout: '2s',
        on_failure_timeout: '1s',
        steps: [{ module_name: 'fail' }],
        on_failure: [{ module_name: 'slow' }, { module_name: 'ok' }],
      },
      inherit: { timeout: '1s', steps: [{ module_name: 'fail' }], on_failure: [{ module_name: 'slow' }] },
    },
  });
  for (const name of ['s', 'inherit']) {
    const result = await runCli(['run', name, '--kill-grace', '200ms'], { cwd: repo });
    assert.equal(result.code, 1, result.stderr);
  }
  const history = await runCli(['history', '--json'], { cwd: repo });
  const runs = JSON.parse(history.stdout) as Array<{
    sequence: string;
    steps: Array<{ role: string; status: string }>;
    error: string;
  }>;
  for (const run of runs) {
    assert.equal(run.steps.find((s) => s.role === 'on_failure')!.status, 'timed_out', run.sequence);
    assert.match(
      run.error,
      /step 1 \(fail\) failed: exited with code 1/,
      'the run says what failed, not that the handler ran long',
    );
  }
  const s = runs.find((r) => r.sequence === 's')!;
  assert.deepEqual(
    s.steps.map((x) => `${x.role} ${x.status}`),
    ['step failed', 'on_failure timed_out', 'on_failure timed_out'],
  );
});

test('a step killed at its timeout that traps TERM and exits 143 is timed out, in the record and in history', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { trap: { cmd: './modules/trap-term.sh', timeout: '1s' } },
    sequences: { s: [{ module_name: 'trap' }] },
  });
  const result = await runCli(['run', 's'], { cwd: repo });
  assert.equal(result.code, 1);
  const { folder, run, steps } = onlyRun(repo);
  assert.equal(steps[0]!.status, 'timed_out');
  assert.equal(steps[0]!.attempts[0]!.exit_code, 143);
  assert.match(log(folder, steps[0]!), /cleaning up\n\[etl-ledger: timed out after 1s\]/);
  const history = await runCli(['history'], { cwd: repo });
  assert.match(history.stdout, /1 trap \(timed out\)/);
  assert.doesNotMatch(history.stdout, /exit 143/);
  assert.equal(run.status, 'failed');
});
