// etl schedule end to end: a real daemon, real runs, real signals, for a few seconds. Its
// clock runs 60 times fast (ETL_TEST_CLOCK), so "* * * * *" fires every second.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RunRecord } from '../../src/runner/records.js';
import type { SequenceStatus } from '../../src/schedule/scheduler.js';
import { pipelineRepo, runCli, startCli } from '../helpers/repo.js';
import { receiver } from '../helpers/webhook-receiver.js';

const FAST = { ETL_TEST_CLOCK: '2026-12-01T10:00:30Z,60' };

/** slow's module sleeps `slow` seconds; "until released": until the test creates the file `release`. */
function repoWith(slow: string) {
  const script =
    slow === 'until released'
      ? '#!/bin/sh\nwhile [ ! -f release ]; do sleep 0.05; done\n'
      : `#!/bin/sh\nsleep ${slow}\n`;
  return (t: Parameters<typeof pipelineRepo>[0]) =>
    pipelineRepo(t, {
      modules: { ok: { cmd: './modules/ok.sh' }, slow: { cmd: './modules/slow.sh' } },
      sequences: {
        tick: { schedule: '* * * * *', steps: [{ module_name: 'ok' }] },
        slow: { schedule: '* * * * *', timezone: 'Europe/Madrid', steps: [{ module_name: 'slow' }] },
      },
      files: { 'modules/slow.sh': { content: script, mode: 0o755 } },
    });
}

async function status(
  repo: string,
): Promise<{ code: number | null; json: { alive: boolean; sequences: Record<string, SequenceStatus> } }> {
  const result = await runCli(['status', '--json'], { cwd: repo });
  return { code: result.code, json: JSON.parse(result.stdout) };
}

/** Whether the newest run of slow is recorded as running (a cancel before that leaves no record). */
const running = (repo: string) => async () =>
  (JSON.parse((await runCli(['history', 'slow', '--json', '--limit', '1'], { cwd: repo })).stdout) as RunRecord[])[0]
    ?.status === 'running';

const tickRuns = async (repo: string) =>
  JSON.parse((await runCli(['history', 'tick', '--json', '--limit', '100'], { cwd: repo })).stdout) as RunRecord[];

async function until(condition: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  for (const deadline = Date.now() + ms; !(await condition()); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('a real daemon runs each tick, skips a tick its sequence is still running for, keeps an invalid edit out, and stops within its grace', {
  timeout: 90_000,
}, async (t) => {
  // slow runs until the test releases it: its ticks meanwhile are skipped, and it is surely running at the stop.
  const repo = repoWith('until released')(t);
  const hook = await receiver(t);
  const daemon = startCli(['schedule', '--grace', '5m', '--log-format', 'json', '--webhook', hook.url], {
    cwd: repo,
    env: { ...process.env, ...FAST },
  });
  t.after(() => daemon.child.kill('SIGKILL'));
  await daemon.line(/"event":"reload"/);
  await until(
    async () => Boolean((await status(repo)).json.sequences?.slow?.ticks?.some((x) => x.outcome.startsWith('skipped'))),
    'a skipped tick of slow',
  );
  // Two runs of tick recorded before the edit below (under load the first ticks come slowly).
  await until(async () => (await tickRuns(repo)).length >= 2, 'two runs of tick');
  const seen = await status(repo);
  assert.equal(seen.code, 0);
  assert.equal(seen.json.alive, true);
  assert.equal(seen.json.sequences.tick!.last?.status, 'succeeded');

  // One daemon per repository.
  const second = await runCli(['schedule'], { cwd: repo });
  assert.equal(second.code, 3);
  assert.match(second.stderr, /etl schedule is already running for this repository \(pid \d+/);

  // An edit that does not validate keeps the old schedule, and says where the mistake is.
  writeFileSync(
    join(repo, 'etl_sequences/tick.json'),
    JSON.stringify({ schedule: '* * * * *', timezone: 'Mars/Olympus', steps: [{ module_name: 'ok' }] }),
  );
  await until(async () => Boolean((await status(repo)).json.sequences?.tick?.error), 'the error of tick');
  const broken = (await status(repo)).json.sequences.tick!;
  assert.match(broken.error!, /^etl_sequences\/tick\.json:1:\d+: .*Mars\/Olympus/);
  const human = await runCli(['status'], { cwd: repo });
  assert.match(human.stdout, /error +etl_sequences\/tick\.json:1:\d+: .* \(the schedule before this edit is kept\)/);
  const lastTick = broken.last?.tick;
  await until(
    async () => (await status(repo)).json.sequences.tick!.last?.tick !== lastTick,
    'tick to fire again on its old schedule',
  );
  // Its ticks still come; each run refuses to start, with the located error.
  const refused = (await status(repo)).json.sequences.tick!.last!;
  assert.equal(refused.status, 'failed');
  assert.match(refused.error!, /etl_sequences\/tick\.json:1:\d+: .*Mars\/Olympus/);
  const recorded = (await tickRuns(repo)).length;
  // Told once by webhook, not at every refused tick (no run record exists for etl run to tell of).
  await until(
    async () =>
      ((await status(repo)).json.sequences.tick?.ticks ?? []).filter((x) => x.outcome === 'failed').length >= 2,
    'two refused ticks',
  );
  await until(async () => hook.received.length > 0, 'the webhook');
  assert.equal(hook.received.length, 1);
  const told = hook.received[0]!.body;
  assert.equal(told.event, 'not_started');
  assert.equal(told.sequence, 'tick');
  assert.equal(told.run_id, null);
  assert.match(
    told.text,
    /^etl: tick did not start for its tick \S+: etl_sequences\/tick\.json:1:\d+: .*Mars\/Olympus/,
  );

  // etl status names the run going on.
  await until(
    async () =>
      /running +for the tick of \S+ \(run \d{8}T\d{9}Z-[0-9a-f]{8}\)\n/.test(
        (await runCli(['status'], { cwd: repo })).stdout,
      ),
    'etl status to name the run going on',
  );

  // SIGTERM: no new runs; slow's run, released after the stop, ends within the grace and is not cancelled.
  await until(async () => Boolean((await status(repo)).json.sequences.slow!.running), 'slow to be running');
  daemon.child.kill('SIGTERM');
  await daemon.line(/"event":"stop"/);
  writeFileSync(join(repo, 'release'), '');
  const ended = await daemon.done;
  assert.equal(ended.code, 0, ended.stderr);
  const lines = ended.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  const stop = lines.findIndex((l) => l.event === 'stop');
  assert.ok(stop > 0);
  assert.deepEqual(
    lines
      .slice(stop + 1)
      .filter((l) => l.event !== 'skip')
      .map((l) => [l.event, l.sequence, l.status])
      .filter(([, s]) => s === 'slow'),
    [['end', 'slow', 'succeeded']],
  );
  // The ticks that came meanwhile are recorded as not run, and why.
  for (const skip of lines.slice(stop + 1).filter((l) => l.event === 'skip'))
    assert.equal(skip.reason, 'came while the scheduler was stopping (within its grace): not run');
  assert.equal(lines.slice(stop + 1).filter((l) => l.event === 'start').length, 0);
  const after = await status(repo);
  assert.equal(after.code, 1);
  assert.equal(after.json.alive, false);

  // Each run is recorded as etl run records it, with the tick it was for.
  const history = await tickRuns(repo);
  assert.equal(history.length, recorded, 'no run of the invalid definition');
  assert.ok(history.length >= 2);
  for (const run of history) {
    assert.equal(run.trigger.kind, 'schedule');
    assert.match(run.trigger.tick!, /^2026-12-01T10:\d{2}:00\.000Z$/);
  }
  assert.equal(new Set(history.map((r) => r.trigger.tick)).size, history.length, 'one run a tick');

  // etl history --ticks: every tick the daemon saw, its run or why it was skipped, newest first.
  const ticks = JSON.parse(
    (await runCli(['history', 'slow', '--ticks', '--json', '--limit', '100'], { cwd: repo })).stdout,
  ) as Array<{ tick: string; sequence: string; outcome: string; run_id?: string; reason?: string }>;
  assert.ok(ticks.every((t) => t.sequence === 'slow'));
  assert.ok(ticks.some((t) => t.outcome === 'skipped' && t.reason === 'still running from an earlier tick'));
  const slowRuns = JSON.parse(
    (await runCli(['history', 'slow', '--json', '--limit', '100'], { cwd: repo })).stdout,
  ) as RunRecord[];
  assert.deepEqual(
    ticks.filter((t) => t.run_id).map((t) => t.run_id),
    slowRuns.map((r) => r.id),
  );
  assert.deepEqual(
    ticks.map((t) => t.tick),
    ticks
      .map((t) => t.tick)
      .sort()
      .reverse(),
  );
  const table = await runCli(['history', '--ticks', '--limit', '3'], { cwd: repo });
  assert.match(table.stdout, /^TICK +SEQUENCE +OUTCOME +RUN OR REASON\n/);
  assert.equal(table.stdout.trim().split('\n').length, 4);
  // A sequence that is neither defined nor ever ran is a typo: a usage error, as without --ticks.
  const none = await runCli(['history', 'other', '--ticks'], { cwd: repo });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no sequence "other" in etl_sequences\//);
  const mixed = await runCli(['history', '--ticks', '--status', 'failed'], { cwd: repo });
  assert.equal(mixed.code, 2);
});

test('past the grace, running runs are cancelled (recorded so); a second SIGINT cancels at once; a stale daemon lock is taken over', {
  timeout: 60_000,
}, async (t) => {
  const repo = repoWith('60')(t);
  // A daemon killed long ago left its lock: a pid that is no process now.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  mkdirSync(join(repo, '.etl/schedule'), { recursive: true });
  writeFileSync(
    join(repo, '.etl/schedule/daemon.lock'),
    JSON.stringify({ pid: Number(dead.stdout), host: hostname(), started_at: '2026-01-01T00:00:00Z', repo }),
  );
  // 30 s of grace on a clock 60 times fast: half a second.
  const daemon = startCli(['schedule', '--grace', '30s'], { cwd: repo, env: { ...process.env, ...FAST } });
  t.after(() => daemon.child.kill('SIGKILL'));
  await daemon.line(/start +slow/);
  await until(running(repo), 'the run of slow to be recorded as running');
  daemon.child.kill('SIGTERM');
  const ended = await daemon.done;
  assert.equal(ended.code, 0, ended.stderr);
  assert.match(ended.stdout, /end +slow for \S+: cancelled/);
  assert.doesNotMatch(ended.stdout, /cancelled: cancelled/);
  assert.match(ended.stdout, /end +slow for \S+: cancelled \(run \S+\)\n/);
  assert.match(ended.stdout, / stop +(1 run|2 runs) still going, 30000 ms to end\n/);
  // Each end comes after its tick's line.
  const lines = ended.stdout.split('\n');
  for (const [i, line] of lines.entries()) {
    const end = / end +(\S+) for (\S+):/.exec(line);
    if (end)
      assert.ok(
        lines.slice(0, i).some((l) => l.includes(` tick   ${end[1]} ${end[2]}`)),
        `the tick line of "${line}" comes before it:\n${ended.stdout}`,
      );
  }
  const [run] = JSON.parse((await runCli(['history', 'slow', '--json'], { cwd: repo })).stdout) as RunRecord[];
  assert.equal(run!.status, 'cancelled');

  // A sequence that does not validate at start has no old schedule to keep: said so.
  writeFileSync(join(repo, 'etl_sequences/broken.json'), '{"schedule": "* * * * *", "steps": [{"module_name": 7}]}');
  // With a long grace, a second Ctrl-C does not wait for it.
  const patient = startCli(['schedule', '--grace', '10h'], { cwd: repo, env: { ...process.env, ...FAST } });
  t.after(() => patient.child.kill('SIGKILL'));
  const first = await patient.line(/ reload /);
  assert.match(
    first,
    /reload 2 scheduled sequences; 1 sequence not scheduled, as it does not validate: etl_sequences\/broken\.json:1:\d+: /,
  );
  assert.doesNotMatch(first, /kept the old schedule/);
  await patient.line(/start +slow/);
  await until(running(repo), 'the run of slow to be recorded as running');
  patient.child.kill('SIGINT');
  await patient.line(/stop +\d+ runs? still going/);
  patient.child.kill('SIGINT');
  const quick = await patient.done;
  assert.equal(quick.code, 0);
  assert.match(quick.stdout, /end +slow for \S+: cancelled/);
});

test('etl run --start-at gets ready, then starts at that time; stopped while it waits, nothing is recorded', {
  timeout: 60_000,
}, async (t) => {
  const repo = repoWith('0')(t);
  const at = new Date(Date.now() + 1500);
  const started = await runCli(['run', 'tick', '--start-at', at.toISOString(), '--json'], { cwd: repo });
  assert.equal(started.code, 0, started.stderr);
  const run = JSON.parse(started.stdout) as RunRecord;
  assert.ok(Date.parse(run.started_at) >= at.getTime(), `${run.started_at} is not before ${at.toISOString()}`);
  assert.ok(Date.parse(run.started_at) < at.getTime() + 1000);

  const far = await runCli(['run', 'tick', '--start-at', new Date(Date.now() + 120_000).toISOString()], { cwd: repo });
  assert.equal(far.code, 2);
  assert.match(far.stderr, /--start-at is at most a minute ahead/);

  const waiting = startCli(['run', 'slow', '--start-at', new Date(Date.now() + 50_000).toISOString()], { cwd: repo });
  t.after(() => waiting.child.kill('SIGKILL'));
  await waiting.line(/^ready; starting at /);
  waiting.child.kill('SIGTERM');
  const ended = await waiting.done;
  assert.equal(ended.code, 143);
  assert.match(ended.stderr, /stopped before its start time; nothing ran/);
  assert.deepEqual(JSON.parse((await runCli(['history', 'slow', '--json'], { cwd: repo })).stdout), []);
});

test('etl run --start-at: a definition edited while the run waits for its start time is not run in the form read before', {
  timeout: 60_000,
}, async (t) => {
  const repo = repoWith('0')(t);
  // Time enough to get ready on a busy machine: the edit must come while it waits.
  const waiting = startCli(['run', 'tick', '--start-at', new Date(Date.now() + 8000).toISOString()], { cwd: repo });
  t.after(() => waiting.child.kill('SIGKILL'));
  await waiting.line(/^ready; starting at /);
  // A valid edit: the step now runs the slow module.
  writeFileSync(
    join(repo, 'etl_sequences/tick.json'),
    JSON.stringify({ schedule: '* * * * *', steps: [{ module_name: 'slow' }] }),
  );
  const ended = await waiting.done;
  assert.equal(ended.code, 1, ended.stdout + ended.stderr);
  assert.match(
    ended.stderr,
    /etl_sequences\/tick\.json changed while the run waited for its start time \(\S+\); nothing ran: the definitions are checked as they are, so run it again/,
  );
  assert.deepEqual(JSON.parse((await runCli(['history', 'tick', '--json'], { cwd: repo })).stdout), []);
});

test('a webhook that never answers holds no sequence, no slot, and not the stop past its grace', {
  timeout: 480_000,
}, async (t) => {
  const hook = await receiver(t, ['hang']);
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' }, fail: { cmd: './modules/fail.sh 4' } },
    sequences: {
      failing: { schedule: '* * * * *', steps: [{ module_name: 'fail' }] },
      tick: { schedule: '* * * * *', steps: [{ module_name: 'ok' }] },
    },
  });
  // A minute every 3 s; each failed run's POST waits 2 minutes for an answer that never comes
  // (4 times over): a sequence held by its delivery would not run again for 8 minutes.
  const daemon = startCli(
    [
      'schedule',
      '--max-parallel',
      '1',
      '--grace',
      '5s',
      '--log-format',
      'json',
      '--webhook',
      hook.url,
      '--webhook-timeout',
      '120s',
    ],
    { cwd: repo, env: { ...process.env, ETL_TEST_CLOCK: '2026-12-01T10:00:50Z,20' } },
  );
  t.after(() => daemon.child.kill('SIGKILL'));
  const outcomes = async (sequence: string) =>
    ((await status(repo)).json.sequences?.[sequence]?.ticks ?? []).map((x) => x.outcome);
  // Three failed runs of one sequence, each posted to the webhook that hangs (three posts in
  // flight at once), and the other sequence's runs in the one slot meanwhile: neither waited
  // for a delivery (each of which takes minutes).
  await until(
    async () => (await outcomes('failing')).filter((o) => o === 'failed').length >= 3,
    'three failed runs of failing',
    120_000,
  );
  await until(
    async () => (await outcomes('tick')).filter((o) => o === 'succeeded').length >= 2,
    'two runs of tick',
    120_000,
  );
  await until(async () => hook.received.filter((r) => r.body.event === 'failed').length >= 3, 'three posts', 60_000);

  // The daemon's own post (a tick whose run could not start) hangs too.
  writeFileSync(
    join(repo, 'etl_sequences/tick.json'),
    JSON.stringify({ schedule: '* * * * *', timezone: 'Mars/Olympus', steps: [{ module_name: 'ok' }] }),
  );
  await until(async () => hook.received.some((r) => r.body.event === 'not_started'), 'the not_started post', 60_000);

  // 5 s of grace on a clock 20 times fast: a quarter of a second, then every delivery is dropped.
  const stopped = Date.now();
  daemon.child.kill('SIGTERM');
  const ended = await daemon.done;
  const took = Date.now() - stopped;
  assert.equal(ended.code, 0, ended.stderr);
  // Under load a stop takes seconds; held by a delivery it would take minutes.
  assert.ok(took < 30_000, `the stop took ${took} ms`);
  assert.match(ended.stderr, /webhook 127\.0\.0\.1:\d+ not told after 1 attempts: stopped before an answer/);
  assert.doesNotMatch(ended.stderr, /T0KEN/);
});

test('a not_started post that fails is warned about by the webhook host only, never its path or query (its token)', {
  timeout: 120_000,
}, async (t) => {
  const hook = await receiver(t, [400]);
  const url = `${hook.url}?token=s3cr3t-query`;
  const repo = repoWith('0')(t);
  const daemon = startCli(['schedule', '--log-format', 'json', '--webhook', url], {
    cwd: repo,
    env: { ...process.env, ...FAST },
  });
  t.after(() => daemon.child.kill('SIGKILL'));
  let stderr = '';
  daemon.child.stderr?.on('data', (text: Buffer | string) => (stderr += String(text)));
  await daemon.line(/"event":"reload"/);
  // An edit that does not validate: its ticks' runs do not start, and the daemon posts that.
  writeFileSync(
    join(repo, 'etl_sequences/tick.json'),
    JSON.stringify({ schedule: '* * * * *', timezone: 'Mars/Olympus', steps: [{ module_name: 'ok' }] }),
  );
  await until(async () => /not told/.test(stderr), 'the warning about the refused post', 60_000);
  assert.equal(hook.received[0]!.body.event, 'not_started');
  assert.match(stderr, /etl schedule: webhook 127\.0\.0\.1:\d+ not told after 1 attempts: HTTP 400\n/);
  assert.doesNotMatch(stderr, /T0KEN|s3cr3t-query|\/hooks/);
  daemon.child.kill('SIGTERM');
  const ended = await daemon.done;
  assert.equal(ended.code, 0, ended.stderr);
  assert.doesNotMatch(ended.stdout + ended.stderr, /T0KEN|s3cr3t-query/);
});
