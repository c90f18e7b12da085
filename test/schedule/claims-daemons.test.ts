// Two real daemons, in two clones of one bare remote, with --push: each tick runs once while
// both are up, and all of them run when one is killed. Their clocks run 10 times fast, so
// "* * * * *" fires every 6 seconds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunRecord } from '../../src/runner/records.js';
import { claimTick } from '../../src/schedule/claims.js';
import { cloneOf, git, pipelineWithRemote, runFolders } from '../helpers/git.js';
import { runCli, startCli } from '../helpers/repo.js';
import { stressTest } from '../helpers/stress.js';

const CLOCK = { ETL_TEST_CLOCK: '2026-12-01T10:00:40Z,10' };

/** The claims on the remote, oldest first: the tick and the pid of the daemon that took it. */
function claims(remote: string): Array<{ tick: string; pid: number }> {
  if (!git(remote, 'for-each-ref', 'refs/etl/claims')) return [];
  const log = git(remote, 'log', '--reverse', '--format=%s', 'refs/etl/claims', '--');
  return log
    ? log.split('\n').map((subject) => {
        const [, tick, pid] = /^claim tick (\S+) \(.*, pid (\d+)\)$/.exec(subject)!;
        return { tick: tick!, pid: Number(pid) };
      })
    : [];
}

/** The ticks of the runs recorded on the remote's main branch. */
function recordedTicks(remote: string): string[] {
  return runFolders(remote, 'main').map(
    (folder) => (JSON.parse(git(remote, 'show', `main:${folder}/run.json`)) as RunRecord).trigger.tick!,
  );
}

async function until(condition: () => boolean, what: string, ms = 60_000): Promise<void> {
  for (const deadline = Date.now() + ms; !condition(); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const events = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { event: string; tick?: string; reason?: string; status?: string });

stressTest(
  'two daemons on one remote run each tick once; with one killed, the other runs every tick',
  {
    timeout: 180_000,
  },
  async (t) => {
    const { repo: first, remote } = pipelineWithRemote(t, {
      modules: { ok: { cmd: './modules/ok.sh' } },
      sequences: { tick: { schedule: '* * * * *', steps: [{ module_name: 'ok' }] } },
    });
    const second = cloneOf(t, remote);
    const args = ['schedule', '--push', '--grace', '5m', '--log-format', 'json'];
    const a = startCli(args, { cwd: first, env: { ...process.env, ...CLOCK } });
    const b = startCli(args, { cwd: second, env: { ...process.env, ...CLOCK } });
    t.after(() => {
      a.child.kill('SIGKILL');
      b.child.kill('SIGKILL');
    });

    // Both up: three ticks claimed. Whichever daemon's clock is ahead takes them (the other is
    // told each time that it was taken): that one is killed, the other must then run them all.
    await until(() => claims(remote).length >= 3, 'three claimed ticks');
    const byA = claims(remote).filter((c) => c.pid === a.child.pid).length;
    const [gone, survivor, survivorDir] = byA * 2 >= claims(remote).length ? [a, b, second] : [b, a, first];
    const [pidA, pidB] = [gone.child.pid!, survivor.child.pid!];
    gone.child.kill('SIGKILL');
    const killed = claims(remote).length;
    await until(
      () => claims(remote).filter((c) => c.pid === pidB).length >= 3 && claims(remote).length >= killed + 3,
      'three ticks claimed by the survivor',
    );
    const told = await runCli(['status'], { cwd: survivorDir });
    assert.match(told.stdout, /each tick claimed on origin first/);
    assert.match(told.stdout, new RegExp(`elsewhere \\S+: claimed by \\S+ \\(pid ${pidA}\\)`));
    assert.match(
      (await runCli(['history', 'tick', '--ticks'], { cwd: survivorDir })).stdout,
      new RegExp(`skipped +claimed by \\S+ \\(pid ${pidA}\\)`),
    );
    survivor.child.kill('SIGTERM');
    const ended = await survivor.done;
    assert.equal(ended.code, 0, ended.stderr);

    const taken = claims(remote);
    // Each tick claimed once, and no minute missing from the first to the last.
    assert.equal(new Set(taken.map((c) => c.tick)).size, taken.length, 'one claim a tick');
    for (let i = 1; i < taken.length; i++)
      assert.equal(
        Date.parse(taken[i]!.tick) - Date.parse(taken[i - 1]!.tick),
        60_000,
        `no tick missed after ${taken[i - 1]!.tick}`,
      );
    // Once the first daemon is gone, every claim is the survivor's.
    const lastOfA = taken.map((c) => c.pid).lastIndexOf(pidA);
    assert.ok(taken.slice(lastOfA + 1).every((c) => c.pid === pidB));
    assert.ok(taken.slice(lastOfA + 1).length >= 3);

    // The runs: each tick at most once; every claimed tick but the killed daemon's last has one
    // (its run goes on in a process of its own, so wait for its push).
    const expected = taken.filter((_, i) => i !== lastOfA).map((c) => c.tick);
    await until(
      () => expected.every((tick) => recordedTicks(remote).includes(tick)),
      'the runs of every claimed tick',
      30_000,
    );
    const ticks = recordedTicks(remote);
    assert.equal(new Set(ticks).size, ticks.length, 'one run a tick');
    assert.ok(
      ticks.every((tick) => taken.some((c) => c.tick === tick)),
      'no run without a claim',
    );

    // The survivor's log: the ticks taken by the other daemon are skips naming it; its own are runs.
    const log = events(ended.stdout);
    const skipped = log.filter((e) => e.event === 'skip' && /claimed by/.test(e.reason ?? ''));
    assert.ok(skipped.length >= 1, 'the survivor saw ticks taken by the other daemon');
    for (const skip of skipped) {
      assert.match(skip.reason!, new RegExp(`pid ${pidA}\\b`));
      assert.equal(taken.find((c) => c.tick === skip.tick)?.pid, pidA);
    }
    const started = log.filter((e) => e.event === 'start').map((e) => e.tick);
    assert.deepEqual(
      started,
      taken.filter((c) => c.pid === pidB).map((c) => c.tick),
    );
  },
);

test('a claim made by a clock an hour ahead does not hold back a daemon: its ticks run, and the claim is said', {
  timeout: 120_000,
}, async (t) => {
  const { repo, remote } = pipelineWithRemote(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: { tick: { schedule: '* * * * *', steps: [{ module_name: 'ok' }] } },
  });
  // Another machine, its clock an hour ahead of the daemon's, claimed its tick of 11:01.
  const fast = {
    repo: cloneOf(t, remote),
    remote: 'origin',
    env: process.env,
    host: 'fast-clock',
    pid: 4242,
    now: () => Date.parse('2026-12-01T11:00:55Z'),
  };
  assert.equal((await claimTick(fast, 'tick', new Date('2026-12-01T11:01:00Z'))).won, true);
  const daemon = startCli(['schedule', '--push', '--grace', '5m', '--log-format', 'json'], {
    cwd: repo,
    env: { ...process.env, ...CLOCK },
  });
  t.after(() => daemon.child.kill('SIGKILL'));
  const ran = JSON.parse(await daemon.line(/"event":"end"/)) as { tick: string; status: string };
  assert.deepEqual([ran.tick, ran.status], ['2026-12-01T10:01:00.000Z', 'succeeded']);
  const warned = JSON.parse(await daemon.line(/"event":"warning"/)) as { message: string };
  // The daemon's test clock runs fast: by the time it reads the claim, some minutes of it may have gone.
  assert.match(
    warned.message,
    /^ignored the claim of fast-clock \(pid 4242\) for the tick 2026-12-01T11:01:00\.000Z, made at 2026-12-01T11:00:55\.000Z by its clock: (1 h|5\d min) ahead of this machine's clock/,
  );
  assert.match((await runCli(['status'], { cwd: repo })).stdout, /warning +ignored the claim of fast-clock/);
  daemon.child.kill('SIGTERM');
  const ended = await daemon.done;
  assert.equal(ended.code, 0, ended.stderr);
  assert.ok(
    events(ended.stdout).every((e) => e.event !== 'skip'),
    ended.stdout,
  );
  assert.ok(claims(remote).some((c) => c.tick === '2026-12-01T10:01:00.000Z' && c.pid === daemon.child.pid));
});
