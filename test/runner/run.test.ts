import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RunRecord } from '../../src/runner/records.js';
import { fixture, isRunning, pipelineRepo, runCli, startCli, waitUntilGone } from '../helpers/repo.js';
import { assertValidRecords, findRunFolders, log, onlyRun, readRunFolder } from '../helpers/runs.js';

test("the seed's test sequence: true, false, true; step 2 fails, step 3 is skipped, the handler runs, exit 1", async (t) => {
  const repo = pipelineRepo(t, {
    modules: {
      ok: { cmd: './modules/ok.sh' },
      fail: { cmd: './modules/fail.sh' },
      handler: { cmd: './modules/env-dump.mjs' },
    },
    sequences: {
      test: {
        steps: [{ module_name: 'ok' }, { module_name: 'fail' }, { module_name: 'ok', name: 'never' }],
        on_failure: { module_name: 'handler', output: 'handler.json' },
      },
    },
  });
  const result = await runCli(['run', 'test'], { cwd: repo });
  assert.equal(result.code, 1, result.stdout + result.stderr);
  const { folder, run, steps } = onlyRun(repo);
  assert.equal(run.status, 'failed');
  assert.equal(run.failed_step, 2);
  assert.match(run.error!, /step 2 \(fail\) failed: exited with code 1/);
  assert.deepEqual(
    run.steps.map((s) => `${s.role} ${s.index} ${s.status}`),
    ['step 1 succeeded', 'step 2 failed', 'step 3 skipped', 'on_failure 1 succeeded'],
  );
  assertValidRecords(run, steps);
  assert.equal(steps[1]!.attempts[0]!.exit_code, 1);
  assert.match(log(folder, steps[1]!), /fail\.sh is about to fail\nsomething went wrong\n/);
  const handler = JSON.parse(readFileSync(join(repo, 'handler.json'), 'utf8'));
  assert.equal(handler.env.ETL_FAILED_STEP, '2');
  assert.equal(handler.env.ETL_FAILED_MODULE, 'fail');
  assert.equal(handler.env.ETL_FAILED_EXIT_CODE, '1');
  // The failed step's log tail is shown without asking.
  assert.match(result.stderr, /last 2 lines of fail's log/);
  assert.match(result.stderr, /something went wrong/);
});

test('a step that exits 77 fails the run with that exit code recorded', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { fail: { cmd: './modules/fail.sh 77' } },
    sequences: { s: [{ module_name: 'fail' }] },
  });
  const result = await runCli(['run', 's', '--json'], { cwd: repo });
  assert.equal(result.code, 1);
  const run = JSON.parse(result.stdout) as RunRecord;
  assert.equal(run.steps[0]!.exit_code, 77);
  assert.equal(run.status, 'failed');
});

test('every module gets the wrapper environment, an argv passed intact, the repo as cwd and no stdin', async (t) => {
  const repo = pipelineRepo(t, {
    modules: {
      dump: {
        cmd: "./modules/env-dump.mjs --label \"two words\" 'it'\"'\"'s'",
        flags: { config: '--conf' },
        env: { TEST_MODULE: 'm', TEST_LEVEL: 'module' },
      },
    },
    sequences: {
      envs: {
        env: { TEST_LEVEL: 'sequence' },
        steps: [
          {
            module_name: 'dump',
            name: 'first',
            input: 'in put/"quoted" file.csv',
            output: 'dump.json',
            conf: 'conf.json',
            env: { TEST_STEP: 's' },
          },
        ],
      },
    },
    files: { 'conf.json': '{}' },
  });
  const result = await runCli(['run', 'envs', '--json'], { cwd: repo });
  assert.equal(result.code, 0, result.stderr);
  const run = JSON.parse(result.stdout) as RunRecord;
  const dump = JSON.parse(readFileSync(join(repo, 'dump.json'), 'utf8'));
  assert.deepEqual(dump.argv, [
    '--label',
    'two words',
    "it's",
    '--input',
    'in put/"quoted" file.csv',
    '--output',
    'dump.json',
    '--conf',
    'conf.json',
  ]);
  assert.equal(dump.cwd, repo);
  assert.equal(dump.stdinBytes, 0);
  const { ETL_RUN_DIR, ETL_METRICS, ETL_OUTPUTS, ...env } = dump.env;
  assert.ok(existsSync(ETL_RUN_DIR) === false, 'the scratch folder is removed after a success');
  assert.equal(ETL_METRICS, join(ETL_RUN_DIR!, 'metrics', '1-1.txt'));
  assert.equal(ETL_OUTPUTS, join(ETL_RUN_DIR!, 'outputs', '1-1.txt'));
  assert.deepEqual(env, {
    ETL_RUN_ID: run.id,
    ETL_SEQUENCE: 'envs',
    ETL_STEP: '1',
    ETL_STEP_NAME: 'first',
    ETL_STEP_ROLE: 'step',
    ETL_MODULE: 'dump',
    ETL_INPUT: 'in put/"quoted" file.csv',
    ETL_OUTPUT: 'dump.json',
    ETL_CONFIG: 'conf.json',
    // The flags' names in its argv: its module renames --config.
    ETL_FLAG_INPUT: '--input',
    ETL_FLAG_OUTPUT: '--output',
    ETL_FLAG_CONFIG: '--conf',
    ETL_REPO: repo,
    ETL_ATTEMPT: '1',
    ETL_TICK: run.tick,
    TEST_MODULE: 'm',
    TEST_LEVEL: 'sequence',
    TEST_STEP: 's',
  });
});

test('retries re-run a failing step, and every attempt is recorded', async (t) => {
  const repo = pipelineRepo(t, {
    modules: {
      flaky: { cmd: './modules/flaky.sh 2', retries: 2, retry_delay: '10ms' },
      flakier: { cmd: './modules/flaky.sh 5', retries: 1 },
    },
    sequences: { recovers: [{ module_name: 'flaky' }], gives_up: [{ module_name: 'flakier' }] },
  });
  assert.equal((await runCli(['run', 'recovers'], { cwd: repo })).code, 0);
  const ok = readRunFolder(findRunFolders(repo)[0]!);
  assert.equal(ok.run.status, 'succeeded');
  assert.deepEqual(
    ok.steps[0]!.attempts.map((a) => a.exit_code),
    [3, 3, 0],
  );
  assert.match(
    log(ok.folder, ok.steps[0]!),
    /attempt 1[\s\S]*\[etl-ledger: attempt 2 of 3\][\s\S]*attempt 2[\s\S]*attempt 3 \(ETL_ATTEMPT=3\)/,
  );
  assertValidRecords(ok.run, ok.steps);

  assert.equal((await runCli(['run', 'gives_up'], { cwd: repo })).code, 1);
  const failed = readRunFolder(findRunFolders(repo).find((f) => f.includes('gives_up'))!);
  assert.equal(failed.steps[0]!.status, 'failed');
  assert.equal(failed.steps[0]!.attempts.length, 2);
});

test('a step timeout ends the module and its grandchild, and the step is timed_out', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { forever: { cmd: './modules/forever.sh', timeout: '1s' }, after: { cmd: './modules/ok.sh' } },
    sequences: { slow: [{ module_name: 'forever', output: 'pids.json' }, { module_name: 'after' }] },
  });
  const result = await runCli(['run', 'slow', '--kill-grace', '500ms'], { cwd: repo });
  assert.equal(result.code, 1, result.stderr);
  const { run, steps } = onlyRun(repo);
  assert.deepEqual(
    run.steps.map((s) => s.status),
    ['timed_out', 'skipped'],
  );
  assert.equal(steps[0]!.attempts[0]!.timed_out, true);
  assert.match(run.error!, /step 1 \(forever\) timed out/);
  const pids = JSON.parse(readFileSync(join(repo, 'pids.json'), 'utf8'));
  assert.ok(await waitUntilGone([pids.child, pids.grandchild]), 'module and grandchild must be gone');
});

test('a module that ignores SIGTERM is killed after the grace period', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { stubborn: { cmd: './modules/ignore-sigterm.sh', timeout: '1s' } },
    sequences: { s: [{ module_name: 'stubborn', output: 'pid.json' }] },
  });
  const result = await runCli(['run', 's', '--kill-grace', '300ms'], { cwd: repo });
  assert.equal(result.code, 1);
  const { folder, steps } = onlyRun(repo);
  assert.equal(steps[0]!.status, 'timed_out');
  assert.equal(steps[0]!.attempts[0]!.signal, 'SIGKILL');
  assert.match(log(folder, steps[0]!), /SIGTERM ignored/);
  assert.ok(await waitUntilGone([JSON.parse(readFileSync(join(repo, 'pid.json'), 'utf8')).child]));
});

test('the sequence timeout bounds the whole run', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { forever: { cmd: './modules/forever.sh' }, handler: { cmd: './modules/ok.sh' } },
    sequences: {
      bounded: {
        timeout: '1s',
        steps: [{ module_name: 'forever', output: 'pids.json' }],
        on_failure: { module_name: 'handler' },
      },
    },
  });
  const result = await runCli(['run', 'bounded', '--kill-grace', '200ms'], { cwd: repo });
  assert.equal(result.code, 1);
  const { run } = onlyRun(repo);
  assert.equal(run.steps[0]!.status, 'timed_out');
  assert.match(run.error!, /the sequence timeout \(1s\) ran out/);
  assert.equal(run.steps[1]!.status, 'succeeded', 'the error handler still runs');
});

for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  test(`${signal} to etl run stops the module's process group, records the run as cancelled, exits ${code}`, async (t) => {
    const repo = pipelineRepo(t, {
      modules: {
        forever: { cmd: './modules/forever.mjs' },
        after: { cmd: './modules/ok.sh' },
        handler: { cmd: './modules/ok.sh' },
      },
      sequences: {
        s: {
          steps: [{ module_name: 'forever', output: 'pids.json' }, { module_name: 'after' }],
          on_failure: { module_name: 'handler' },
        },
      },
    });
    const cli = startCli(['run', 's', '--verbose', '--kill-grace', '500ms'], { cwd: repo });
    await cli.line(/forever\.mjs started/);
    const pids = JSON.parse(readFileSync(join(repo, 'pids.json'), 'utf8'));
    cli.child.kill(signal);
    const result = await cli.done;
    assert.equal(result.code, code, result.stdout + result.stderr);
    const { run, steps } = onlyRun(repo);
    assert.equal(run.status, 'cancelled');
    assert.deepEqual(
      run.steps.map((s) => `${s.role} ${s.status}`),
      ['step cancelled', 'step skipped'],
      'no error handler after a cancel',
    );
    assertValidRecords(run, steps);
    assert.ok(await waitUntilGone([pids.child, pids.grandchild]));
    assert.equal(existsSync(join(repo, 'runs/s/.lock')), false, 'the lock is released');
  });
}

// Whoever starts the modules ends them when the runner dies, whatever killed it and however
// many steps the run has: Node's spawn through a watchdog shell, the Python helper itself
// (its stdin closes). Both name what they ended for the abandoned run's record.
const deaths: Array<[string, NodeJS.ProcessEnv, number]> = [
  ['1 step, modules started by Node', {}, 1],
  ['2 steps, ETL_SPAWNER=node', { ETL_SPAWNER: 'node' }, 2],
  ['2 steps, ETL_SPAWNER=python', { ETL_SPAWNER: 'python' }, 2],
  ['5 steps, no Python: Node', { ETL_PYTHON: '/nonexistent/python3' }, 5],
];
for (const [name, env, count] of deaths) {
  test(`kill -9 of the runner mid-step (${name}): the module is ended at once, the next run marks the run abandoned naming it, and no record is torn`, async (t) => {
    const steps = [
      ...Array.from({ length: count - 1 }, () => ({ module_name: 'ok' })),
      { module_name: 'forever', output: 'pids.json' },
    ];
    const repo = pipelineRepo(t, {
      modules: { forever: { cmd: './modules/forever.mjs' }, ok: { cmd: './modules/ok.sh' } },
      sequences: { s: steps },
    });
    const first = startCli(['run', 's', '--verbose', '--kill-grace', '300ms'], { cwd: repo, env });
    await first.line(/forever\.mjs started/);
    const pids = JSON.parse(readFileSync(join(repo, 'pids.json'), 'utf8'));
    t.after(() => {
      for (const pid of [pids.child, pids.grandchild]) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
    });
    first.child.kill('SIGKILL');
    await first.done;
    // Nothing else runs meanwhile: the runner's own guard ends the module.
    assert.ok(await waitUntilGone([pids.child, pids.grandchild]), 'the module was ended when its runner died');
    const crashed = readRunFolder(findRunFolders(repo)[0]!);
    assert.equal(crashed.run.status, 'running');
    assert.equal(existsSync(join(repo, 'runs/s/.lock')), true, 'the dead runner left its lock');
    const lock = JSON.parse(readFileSync(join(repo, 'runs/s/.lock'), 'utf8'));
    assert.equal(lock.run_id, crashed.run.id, 'the lock names the run whose processes a successor ends');
    // A reader shows it abandoned with the processes its spawner ended, as the next run records it.
    const shown = JSON.parse((await runCli(['show', crashed.run.id, '--json'], { cwd: repo, env })).stdout);
    assert.match(
      shown.run.error,
      /stopped without finishing the run; processes it had started were still running and were killed \(pid /,
    );

    // The next run is of a sequence that finishes.
    writeFileSync(join(repo, 'etl_sequences/s.json'), JSON.stringify([{ module_name: 'ok' }]));
    const second = await runCli(['run', 's'], { cwd: repo, env });
    assert.equal(second.code, 0, second.stderr);
    const [old, fresh] = findRunFolders(repo).map(readRunFolder);
    assert.equal(old!.run.status, 'abandoned');
    assert.match(
      old!.run.error!,
      /stopped without finishing the run; its lock was taken over by run \S+; processes it had started were still running and were killed \(pid (\d+, )*\d+\)$/,
    );
    assert.ok(old!.run.error!.includes(String(pids.child)), `the module's pid is named: ${old!.run.error}`);
    assert.deepEqual(
      old!.run.steps.map((s) => s.status),
      [...Array(count - 1).fill('succeeded'), 'cancelled'],
    );
    assert.equal(fresh!.run.status, 'succeeded');
    assertValidRecords(old!.run, old!.steps);
    for (const folder of findRunFolders(repo)) {
      for (const file of readdirSync(folder, { recursive: true, encoding: 'utf8' }).filter((f) =>
        f.endsWith('.json'),
      )) {
        assert.doesNotThrow(() => JSON.parse(readFileSync(join(folder, file), 'utf8')), file);
      }
      assert.deepEqual(
        readdirSync(folder, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.tmp')),
        [],
      );
    }
    assert.equal(existsSync(join(repo, 'runs/s/.lock')), false);
  });
}

test('kill -9 of the runner and its whole process group: the module is still ended', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { forever: { cmd: './modules/forever.mjs' } },
    sequences: { s: [{ module_name: 'forever', output: 'pids.json' }] },
  });
  // A process group of its own, so that the test can kill all of it (as a service manager may).
  const first = startCli(['run', 's', '--verbose', '--kill-grace', '300ms'], { cwd: repo, detached: true });
  await first.line(/forever\.mjs started/);
  const pids = JSON.parse(readFileSync(join(repo, 'pids.json'), 'utf8'));
  t.after(() => {
    for (const pid of [pids.child, pids.grandchild]) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
  });
  process.kill(-first.child.pid!, 'SIGKILL');
  await first.done;
  assert.ok(await waitUntilGone([pids.child, pids.grandchild]), 'the module was ended when its runner died');
});

// The guard may die with the runner (killed by hand, an OOM kill): what first records the run
// abandoned ends what is left (etl ledger reap or sync, a daemon's tick, the next run); a
// reader like `etl history` shows it abandoned and writes nothing.
for (const spawner of ['node', 'python'] as const) {
  test(`runner and its ${spawner} guard killed: etl ledger reap ends the module and the abandoned run's error names it`, async (t) => {
    const repo = pipelineRepo(t, {
      modules: { forever: { cmd: './modules/forever.mjs' } },
      sequences: { s: [{ module_name: 'forever', output: 'pids.json' }] },
    });
    const first = startCli(['run', 's', '--verbose'], { cwd: repo, env: { ETL_SPAWNER: spawner } });
    await first.line(/forever\.mjs started/);
    const pids = JSON.parse(readFileSync(join(repo, 'pids.json'), 'utf8'));
    t.after(() => {
      for (const pid of [pids.child, pids.grandchild]) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
    });
    // Stopped first, so that the runner does not see its guard die and end the run itself.
    first.child.kill('SIGSTOP');
    const guards = childrenOf(first.child.pid!).filter((pid) => pid !== pids.child);
    assert.equal(guards.length, 1, 'the runner has one guard beside its module');
    process.kill(guards[0]!, 'SIGKILL');
    await waitUntilGone(guards);
    first.child.kill('SIGKILL');
    await first.done;
    assert.ok(
      isRunning(pids.child) && isRunning(pids.grandchild),
      'with its guard gone, the module outlived the runner',
    );

    const history = await runCli(['history'], { cwd: repo });
    assert.equal(history.code, 0, history.stderr);
    assert.match(history.stdout, /abandoned/);
    assert.equal(onlyRun(repo).run.status, 'running', 'a read writes nothing');
    const shown = JSON.parse((await runCli(['show', 's@latest', '--json'], { cwd: repo })).stdout);
    assert.match(shown.run.error, new RegExp(`processes it had started are still running \\(pid [^)]*${pids.child}`));
    assert.ok(isRunning(pids.child), 'a read kills nothing');
    const reaped = await runCli(['ledger', 'reap'], { cwd: repo });
    assert.equal(reaped.code, 0, reaped.stderr);
    assert.ok(await waitUntilGone([pids.child, pids.grandchild], 3000), 'etl ledger reap ended the orphaned module');
    const { run } = onlyRun(repo);
    assert.equal(run.status, 'abandoned');
    assert.match(
      run.error!,
      /stopped without finishing the run; processes it had started were still running and were killed \(pid (\d+, )*\d+\)$/,
    );
    assert.ok(run.error!.includes(String(pids.child)), run.error!);
  });
}

/** The processes whose parent is `pid` (Linux: /proc/PID/stat, field 4). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) children.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

test('two concurrent runs of one sequence: exactly one runs, the other exits 3', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { forever: { cmd: './modules/forever.mjs' } },
    sequences: { s: [{ module_name: 'forever', output: 'pids.json' }] },
  });
  const first = startCli(['run', 's', '--verbose', '--kill-grace', '200ms'], { cwd: repo });
  await first.line(/forever\.mjs started/);
  const second = await runCli(['run', 's'], { cwd: repo });
  assert.equal(second.code, 3);
  assert.match(second.stderr, /sequence "s" is already running \(run \d{8}T\d{9}Z-[0-9a-f]{8}, pid \d+/);
  first.child.kill('SIGTERM');
  assert.equal((await first.done).code, 143);
  assert.equal(findRunFolders(repo).length, 1, 'the refused run left no record');
});

test('a module printing 200 MB keeps a log within its cap: the first and last parts and a marker', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { loud: { cmd: './modules/print-mb.mjs' } },
    sequences: { s: [{ module_name: 'loud', env: { TEST_MB: '200' } }] },
  });
  const result = await runCli(['run', 's'], { cwd: repo });
  assert.equal(result.code, 0, result.stderr);
  const { folder, steps } = onlyRun(repo);
  const text = log(folder, steps[0]!);
  assert.equal(steps[0]!.log.truncated, true);
  assert.ok(steps[0]!.log.bytes > 200 * 1_000_000);
  assert.ok(steps[0]!.log.kept_bytes <= 1024 * 1024);
  assert.ok(Buffer.byteLength(text) < 1024 * 1024 + 200);
  assert.match(text, /^print-mb\.mjs first line\n/);
  assert.match(text, /\[etl-ledger: \d+ bytes of output dropped here; the log keeps the first and last parts\]/);
  assert.match(text, /print-mb\.mjs done\n$/);
});

test('--log-limit sets the cap', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { loud: { cmd: './modules/print-mb.mjs' } },
    sequences: { s: [{ module_name: 'loud', env: { TEST_MB: '1' } }] },
  });
  assert.equal((await runCli(['run', 's', '--log-limit', '4096'], { cwd: repo })).code, 0);
  const { steps } = onlyRun(repo);
  assert.equal(steps[0]!.log.kept_bytes, 4096);
});

test('secret values are replaced by *** in logs, records and on the terminal', async (t) => {
  const secret = 'hunter2-correct-horse';
  const repo = pipelineRepo(t, {
    modules: { leak: { cmd: './modules/print-secret.sh' }, fail: { cmd: './modules/fail.sh' } },
    sequences: {
      s: {
        secrets: ['DB_PASSWORD'],
        steps: [{ module_name: 'leak', input: `db://user:${secret}@host` }, { module_name: 'fail' }],
      },
    },
  });
  const result = await runCli(['run', 's', '--verbose'], { cwd: repo, env: { DB_PASSWORD: secret } });
  assert.equal(result.code, 1);
  assert.doesNotMatch(result.stdout + result.stderr, new RegExp(secret));
  const { folder } = onlyRun(repo);
  for (const file of readdirSync(folder, { recursive: true, encoding: 'utf8' })) {
    if (file.endsWith('.json') || file.endsWith('.log'))
      assert.doesNotMatch(readFileSync(join(folder, file), 'utf8'), new RegExp(secret), file);
  }
  const leak = readFileSync(join(folder, 'logs/01-leak.log'), 'utf8');
  // stdout and stderr are separate pipes: their lines may interleave either way.
  for (const line of ['the password is ***', 'again on stderr: ***']) assert.ok(leak.split('\n').includes(line), leak);
  assert.match(leak, /split: (.*\n)?\*\*\*\n/);
  assert.equal(leak.split('***').length - 1, 3);
  for (let i = 0; i + 4 <= secret.length; i++)
    assert.ok(
      !leak.includes(secret.slice(i, i + 4)) || '***'.includes(secret.slice(i, i + 4)),
      `a piece of the secret leaked: ${leak}`,
    );
  assert.match(readFileSync(join(folder, 'steps/01-leak.json'), 'utf8'), /"db:\/\/user:\*\*\*@host"/);
});

test('the CI token is hidden from modules unless listed in secrets, and redacted even then', async (t) => {
  const token = 'ghs_runner_token_1234567890';
  const printer = { content: '#!/bin/sh\necho "token=${GITHUB_TOKEN:-absent}"\n', mode: 0o755 };
  for (const secrets of [[], ['GITHUB_TOKEN']]) {
    const repo = pipelineRepo(t, {
      modules: { show: { cmd: './print-token.sh' } },
      sequences: { s: { secrets, steps: [{ module_name: 'show' }] } },
      files: { 'print-token.sh': printer },
    });
    const result = await runCli(['run', 's', '--verbose'], { cwd: repo, env: { GITHUB_TOKEN: token } });
    assert.equal(result.code, 0, result.stderr);
    const { folder } = onlyRun(repo);
    assert.equal(
      readFileSync(join(folder, 'logs/01-show.log'), 'utf8'),
      secrets.length ? 'token=***\n' : 'token=absent\n',
    );
    assert.doesNotMatch(result.stdout + result.stderr, new RegExp(token));
  }
});

test('--from and --only select steps by number or name; the others are skipped', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: {
      s: [
        { module_name: 'ok', name: 'a' },
        { module_name: 'ok', name: 'b' },
        { module_name: 'ok', name: 'c' },
      ],
    },
  });
  const from = JSON.parse((await runCli(['run', 's', '--from', 'b', '--json'], { cwd: repo })).stdout) as RunRecord;
  assert.deepEqual(
    from.steps.map((s) => s.status),
    ['skipped', 'succeeded', 'succeeded'],
  );
  assert.deepEqual(from.selection, { from: 2, only: null });
  const only = JSON.parse((await runCli(['run', 's', '--only', '3', '--json'], { cwd: repo })).stdout) as RunRecord;
  assert.deepEqual(
    only.steps.map((s) => s.status),
    ['skipped', 'skipped', 'succeeded'],
  );
  const bad = await runCli(['run', 's', '--only', 'd'], { cwd: repo });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /no step named "d"; its steps are 1 a, 2 b, 3 c/);
});

test('--dry-run shows the plan and records nothing; invalid definitions exit 2 before anything starts', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: { s: [{ module_name: 'ok', output: 'x.csv' }], broken: [{ module_name: 'okk' }] },
  });
  const dry = await runCli(['run', 's', '--dry-run'], { cwd: repo });
  assert.equal(dry.code, 0);
  assert.match(dry.stdout, /\$ \.\/modules\/ok\.sh --output x\.csv/);
  assert.equal(existsSync(join(repo, 'runs')), false);
  const broken = await runCli(['run', 'broken'], { cwd: repo });
  assert.equal(broken.code, 2);
  assert.match(broken.stderr, /unknown module "okk" \(did you mean "ok"\?\)/);
  assert.equal(existsSync(join(repo, 'runs')), false);
});

test('--json prints the final run record on stdout and nothing else there', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: { s: [{ module_name: 'ok' }] },
  });
  const result = await runCli(['run', 's', '--json'], { cwd: repo });
  const run = JSON.parse(result.stdout) as RunRecord;
  assert.equal(run.status, 'succeeded');
  assertValidRecords(run, []);
  assert.match(result.stderr, /✓ 1\/1 ok/);
});

test('on a terminal the run shows a live view: a spinner line redrawn in place, then one line per step', {
  skip: !existsSync('/usr/bin/script') && 'needs script(1) for a pseudo-terminal',
}, async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' }, forever: { cmd: './modules/forever.sh', timeout: '1s' } },
    sequences: { s: [{ module_name: 'ok' }, { module_name: 'forever', output: 'p.json' }] },
  });
  // script(1) gives the runner a pseudo-terminal; its output is what a person would see.
  const command = `${process.execPath} ${join(fixture('..', '..'), 'dist/src/cli/main.js')} run s --kill-grace 100ms`;
  const result = await new Promise<string>((resolve) => {
    execFile(
      'script',
      ['-qec', command, '/dev/null'],
      { cwd: repo, env: { ...process.env, CI: '', NO_COLOR: '1', TERM: 'xterm' } },
      (_error, stdout) => resolve(stdout),
    );
  });
  assert.ok(result.includes('\r\u001b[2K⠋ 2/2 forever'), 'the spinner line is redrawn in place');
  assert.match(result, /✓ 1\/2 ok/);
  assert.match(result, /⏱ 2\/2 forever {2}timed out/);
});

test('a module that cannot be started fails its step with the reason recorded', async (t) => {
  // Step 1 deletes step 2's program after validation and planning, so its spawn fails.
  const repo = pipelineRepo(t, {
    modules: { remove: { cmd: 'rm -f modules/ok.sh' }, gone: { cmd: './modules/ok.sh' } },
    sequences: { s: [{ module_name: 'remove' }, { module_name: 'gone' }] },
  });
  const result = await runCli(['run', 's', '--json'], { cwd: repo });
  assert.equal(result.code, 1, result.stderr);
  const run = JSON.parse(result.stdout) as RunRecord;
  const { steps } = onlyRun(repo);
  assert.equal(steps[1]!.attempts[0]!.error, 'cannot start ./modules/ok.sh: ENOENT');
  assert.match(run.error!, /step 2 \(gone\) failed: cannot start \.\/modules\/ok\.sh: ENOENT/);
});

test('a ledger that cannot be written is a clear error, not a stack trace', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: { s: [{ module_name: 'ok' }] },
    files: { runs: 'a file where the ledger folder should be' },
  });
  const result = await runCli(['run', 's'], { cwd: repo });
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /^etl run: error: cannot write the run's records: (ENOTDIR|EEXIST) \(mkdir runs.*\) \[ledger-write\]$/m,
  );
  assert.doesNotMatch(result.stderr, /\n\s+at /);
});
