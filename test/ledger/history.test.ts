import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { findRun, listHistory } from '../../src/ledger/history.js';
import { lockFile, newRunId, runFolder } from '../../src/ledger/layout.js';
import { reapAbandoned } from '../../src/ledger/reap.js';
import type { RunRecord, RunStatus } from '../../src/runner/records.js';
import { pipelineRepo, runCli, startCli, tempRepo } from '../helpers/repo.js';

/** Writes a run.json as the runner would, without running anything. */
function fakeRun(
  repo: string,
  sequence: string,
  at: Date,
  status: RunStatus,
  extra: Partial<RunRecord> = {},
): RunRecord {
  const id = newRunId(at);
  const run: RunRecord = {
    schema_version: 1,
    id,
    sequence,
    status,
    trigger: { kind: 'manual', actor: null, ci: null },
    definitions: { commit: null, dirty: null, files: {} },
    selection: null,
    host: 'elsewhere',
    pid: 1,
    runner_version: 'test',
    started_at: at.toISOString(),
    finished_at: status === 'running' ? null : at.toISOString(),
    duration_ms: status === 'running' ? null : 1000,
    failed_step: status === 'failed' ? 1 : null,
    error: null,
    steps: [
      {
        index: 1,
        role: 'step',
        name: 'extract',
        module: 'extract',
        status: status === 'failed' ? 'failed' : 'succeeded',
        duration_ms: 5,
        exit_code: status === 'failed' ? 2 : 0,
        attempts: 1,
        record: 'steps/01-extract.json',
      },
    ],
    ...extra,
  };
  const folder = join(repo, runFolder(sequence, id));
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'run.json'), JSON.stringify(run));
  return run;
}

const day = (n: number, hour = 12) => new Date(Date.UTC(2026, 10, n, hour));

test('history lists runs newest first across sequences, with --limit, --status and --since', (t) => {
  const repo = tempRepo(t);
  fakeRun(repo, 'daily', day(1), 'succeeded');
  fakeRun(repo, 'weekly', day(2), 'failed');
  fakeRun(repo, 'daily', day(3), 'failed');
  fakeRun(repo, 'daily', day(3, 18), 'succeeded');
  fakeRun(repo, 'weekly', day(20), 'succeeded');
  const ids = (runs: RunRecord[]) => runs.map((r) => `${r.sequence} ${r.started_at.slice(5, 13)} ${r.status}`);
  assert.deepEqual(ids(listHistory(repo)), [
    'weekly 11-20T12 succeeded',
    'daily 11-03T18 succeeded',
    'daily 11-03T12 failed',
    'weekly 11-02T12 failed',
    'daily 11-01T12 succeeded',
  ]);
  assert.deepEqual(ids(listHistory(repo, { limit: 2 })), ['weekly 11-20T12 succeeded', 'daily 11-03T18 succeeded']);
  assert.deepEqual(ids(listHistory(repo, { sequence: 'daily', status: 'failed' })), ['daily 11-03T12 failed']);
  assert.deepEqual(ids(listHistory(repo, { since: new Date(Date.UTC(2026, 10, 3, 13)) })), [
    'weekly 11-20T12 succeeded',
    'daily 11-03T18 succeeded',
  ]);
});

test('a run is found by a unique id prefix, SEQUENCE@latest and SEQUENCE@last-failed', (t) => {
  const repo = tempRepo(t);
  const first = fakeRun(repo, 'daily', day(1), 'failed');
  const second = fakeRun(repo, 'daily', day(2), 'succeeded');
  fakeRun(repo, 'weekly', day(3), 'failed');
  assert.equal(findRun(repo, 'daily@latest').id, second.id);
  assert.equal(findRun(repo, 'daily@last-failed').id, first.id);
  assert.equal(findRun(repo, first.id.slice(0, 8)).id, first.id);
  assert.equal(findRun(repo, second.id).id, second.id);
  assert.throws(() => findRun(repo, '202611'), /matches more than one run/);
  assert.throws(() => findRun(repo, '1999'), /no run id starts with "1999"/);
  assert.throws(() => findRun(repo, 'nightly@latest'), /no run of sequence "nightly"/);
  assert.throws(() => findRun(repo, '../../etc'), /is not a run id/);
});

test('history shows a running run of this host whose runner is gone as abandoned, without writing; a reap records it', (t) => {
  const repo = tempRepo(t);
  const dead = fakeRun(repo, 'daily', day(1), 'running', { host: hostname(), pid: 2 ** 22 + 12345 });
  const remote = fakeRun(repo, 'daily', day(2), 'running', { host: 'another-machine' });
  const runs = listHistory(repo);
  assert.deepEqual(
    runs.map((r) => r.status),
    ['running', 'abandoned'],
  );
  const saved = () =>
    JSON.parse(readFileSync(join(repo, runFolder('daily', dead.id), 'run.json'), 'utf8')) as RunRecord;
  assert.equal(saved().status, 'running', 'a read writes nothing');
  assert.equal(findRun(repo, remote.id).id, remote.id);
  assert.deepEqual(
    reapAbandoned(repo).map((r) => r.folder),
    [runFolder('daily', dead.id)],
  );
  assert.equal(saved().status, 'abandoned');
  assert.match(saved().error!, /^the runner \(pid \d+ on .+\) stopped without finishing the run/);
  assert.deepEqual(reapAbandoned(repo), [], 'reaped once');
});

test('etl history, show and logs read a real run', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' }, fail: { cmd: './modules/fail.sh 9' } },
    sequences: { s: [{ module_name: 'ok', input: 'a b' }, { module_name: 'fail' }] },
  });
  assert.equal((await runCli(['run', 's'], { cwd: repo })).code, 1);
  const history = await runCli(['history'], { cwd: repo });
  assert.equal(history.code, 0);
  assert.match(history.stdout, /^RUN\s+SEQUENCE\s+STATUS\s+STARTED\s+DURATION\s+FAILED STEP$/m);
  assert.match(
    history.stdout,
    /\d{8}T\d{9}Z-[0-9a-f]{8}\s+s\s+failed\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+\S+\s+2 fail \(exited with code 9\)/,
  );
  const show = await runCli(['show', 's@last-failed'], { cwd: repo });
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /1\. ok {2}succeeded/);
  assert.match(show.stdout, /2\. fail {2}failed {2}\S+ {2}exited with code 9/);
  const json = JSON.parse((await runCli(['show', 's@latest', '--json'], { cwd: repo })).stdout);
  assert.equal(json.steps.length, 2);
  assert.deepEqual(json.steps[0].argv, ['./modules/ok.sh', '--input', 'a b']);
  const logs = await runCli(['logs', 's@latest'], { cwd: repo });
  assert.equal(
    logs.stdout,
    '==> 1. ok (succeeded) <==\nok.sh --input a b\n==> 2. fail (failed) <==\nfail.sh is about to fail\nsomething went wrong\n',
  );
  const one = await runCli(['logs', 's@latest', 'fail'], { cwd: repo });
  assert.equal(one.stdout, 'fail.sh is about to fail\nsomething went wrong\n');
  const missing = await runCli(['logs', 's@latest', '7'], { cwd: repo });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /has no step "7"/);
});

test("etl logs picks a handler's step by its position (on_exit 1); a name two steps share lists both", async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: { s: { steps: [{ module_name: 'ok', input: 'main' }], on_exit: { module_name: 'ok', input: 'exit' } } },
  });
  assert.equal((await runCli(['run', 's'], { cwd: repo })).code, 0);
  for (const spec of ['on_exit 1', 'on_exit-1']) {
    const handler = await runCli(['logs', 's@latest', spec], { cwd: repo });
    assert.equal(handler.stdout, 'ok.sh --input exit\n', handler.stderr);
  }
  assert.equal((await runCli(['logs', 's@latest', '1'], { cwd: repo })).stdout, 'ok.sh --input main\n');
  const both = await runCli(['logs', 's@latest', 'ok'], { cwd: repo });
  assert.equal(both.code, 2);
  assert.match(both.stderr, /has 2 steps "ok": 1\. ok, on_exit 1\. ok; name one by its position \(on_exit 1\)/);
  const none = await runCli(['logs', 's@latest', 'on_cancel 1'], { cwd: repo });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /has no step "on_cancel 1"; its steps are 1\. ok, on_exit 1\. ok/);
});

test('etl logs --follow prints a running step as it writes, and ends with the run', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { forever: { cmd: './modules/forever.mjs' } },
    sequences: { s: [{ module_name: 'forever', output: 'pids.json' }] },
  });
  const run = startCli(['run', 's', '--verbose', '--kill-grace', '200ms'], { cwd: repo });
  await run.line(/forever\.mjs started/);
  const follow = startCli(['logs', 's@latest', '--follow'], { cwd: repo });
  await follow.line(/forever\.mjs started/);
  run.child.kill('SIGINT');
  assert.equal((await run.done).code, 130);
  const followed = await follow.done;
  assert.equal(followed.code, 0);
  assert.match(followed.stdout, /==> 1\. forever \(running\) <==\nforever\.mjs started\n/);
});

test('a stale lock is taken over once even when runners race for it, and runs never overlap', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { exclusive: { cmd: './modules/exclusive.sh' } },
    sequences: { s: [{ module_name: 'exclusive' }] },
  });
  const stale = fakeRun(repo, 's', day(1), 'running', { host: hostname(), pid: 2 ** 22 + 4242 });
  writeFileSync(
    join(repo, lockFile('s')),
    JSON.stringify({
      pid: 2 ** 22 + 4242,
      host: hostname(),
      started_at: stale.started_at,
      run_id: stale.id,
      folder: runFolder('s', stale.id),
    }),
  );
  const results = await Promise.all(Array.from({ length: 4 }, () => runCli(['run', 's'], { cwd: repo })));
  const codes = results.map((r) => r.code).sort();
  // A later run may start after an earlier one ended; two may never run at once.
  assert.equal(existsSync(join(repo, 'overlaps.txt')), false, 'two runs of the sequence overlapped');
  assert.ok(
    codes.every((c) => c === 0 || c === 3),
    codes.join(),
  );
  assert.ok(codes.includes(0));
  const runs = listHistory(repo, { limit: 10 });
  assert.equal(runs.filter((r) => r.status === 'abandoned').length, 1, 'the stale run is marked abandoned once');
  assert.equal(runs.filter((r) => r.status === 'succeeded').length, codes.filter((c) => c === 0).length);
});
