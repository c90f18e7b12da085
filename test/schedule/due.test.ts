import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { parseCron } from '../../src/definitions/cron.js';
import { previousTick } from '../../src/schedule/next-tick.js';
import { pipelineRepo, runCli } from '../helpers/repo.js';
import { git } from '../helpers/git.js';

/** Commits everything as of a date: the sequences "exist since" then. */
function commitAt(repo: string, date: Date): void {
  git(repo, 'init', '--quiet', '--initial-branch=main');
  git(repo, 'add', '-A');
  const stamp = `${Math.floor(date.getTime() / 1000)} +0000`;
  execFileSync(
    'git',
    ['-c', 'user.name=T', '-c', 'user.email=t@example.com', 'commit', '--quiet', '-m', 'definitions'],
    { cwd: repo, env: { ...process.env, GIT_AUTHOR_DATE: stamp, GIT_COMMITTER_DATE: stamp } },
  );
}

const prev = (expression: string, at: string, zone?: string) =>
  previousTick(parseCron(expression).cron!, new Date(at), zone)?.toISOString();

test('the previous tick is at or before the given time, in the zone', () => {
  assert.equal(prev('17 3 * * *', '2026-11-25T03:17:00Z'), '2026-11-25T03:17:00.000Z');
  assert.equal(prev('17 3 * * *', '2026-11-25T03:16:59Z'), '2026-11-24T03:17:00.000Z');
  assert.equal(prev('17 6 * * *', '2026-11-25T06:00:00Z', 'Europe/Madrid'), '2026-11-25T05:17:00.000Z');
  assert.equal(prev('0 0 29 2 *', '2026-11-25T00:00:00Z'), '2024-02-29T00:00:00.000Z');
});

test('etl due: the fired schedule is due until a run exists since its tick; a dropped tick is caught up', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: {
      hourly: { schedule: '17 * * * *', steps: [{ module_name: 'ok' }] },
      nightly: { schedule: '30 2 * * *', timezone: 'Europe/Madrid', steps: [{ module_name: 'ok' }] },
      manual: [{ module_name: 'ok' }],
    },
  });
  const due = async (cron: string, now: string) =>
    JSON.parse((await runCli(['due', '--cron', cron, '--now', now, '--json'], { cwd: repo })).stdout) as string[];
  // At 02:20 UTC the hourly tick of 02:17 fired; nightly's 01:30 UTC tick (02:30 Madrid) has no run: caught up.
  const now = new Date();
  const at = (h: number, m: number) =>
    new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), h, m)).toISOString();
  commitAt(repo, new Date(Date.parse(at(2, 20)) - 2 * 86_400_000)); // the sequences exist since two days before
  assert.deepEqual(await due('17 * * * *', at(2, 20)), ['hourly', 'nightly']);
  assert.deepEqual(await due(' 17  *  * * *', at(2, 20)), ['hourly', 'nightly'], 'spacing aside, the same expression');
  // After runs of both, neither is due again for the same ticks.
  assert.equal((await runCli(['run', 'hourly'], { cwd: repo })).code, 0);
  assert.equal((await runCli(['run', 'nightly'], { cwd: repo })).code, 0);
  const later = new Date().toISOString(); // just after the runs: no tick can fall between
  assert.deepEqual(await due('17 * * * *', later).then((d) => d.filter((n) => n === 'nightly')), []);
  // One no sequence has is a stale workflow: a warning.
  const stale = await runCli(['due', '--cron', '5 4 * * *', '--now', at(2, 20)], { cwd: repo });
  assert.equal(stale.code, 0);
  assert.match(
    stale.stderr,
    /warning: no sequence has the schedule "5 4 \* \* \*" \(are the workflows stale\? run etl workflows generate\)/,
  );
  const text = await runCli(['due', '--now', 'yesterday'], { cwd: repo });
  assert.equal(text.code, 2);
  assert.match(text.stderr, /--now takes an ISO 8601 time/);
});

test('etl due: only a whole run for the tick (or after it) counts; a partial run (--only), or one for an older tick, does not', async (t) => {
  // A daily schedule whose tick was an hour ago: the runs below are made now, well after it,
  // whatever the time of day the test runs at.
  const hourAgo = new Date(Date.now() - 3_600_000);
  const schedule = `${hourAgo.getUTCMinutes()} ${hourAgo.getUTCHours()} * * *`;
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: { daily: { schedule, steps: [{ module_name: 'ok' }, { module_name: 'ok', name: 'two' }] } },
  });
  commitAt(repo, new Date(Date.now() - 3 * 86_400_000));
  const due = async () =>
    JSON.parse(
      (await runCli(['due', '--cron', schedule, '--now', new Date().toISOString(), '--json'], { cwd: repo })).stdout,
    ) as string[];
  assert.deepEqual(await due(), ['daily'], 'nothing ran since the tick');
  assert.equal((await runCli(['run', 'daily', '--only', '2'], { cwd: repo })).code, 0);
  assert.deepEqual(await due(), ['daily'], 'a run of step 2 alone is not the scheduled run');
  const dayBefore = new Date(Date.now() - 3_600_000 - 86_400_000).toISOString();
  assert.equal((await runCli(['run', 'daily', '--tick', dayBefore], { cwd: repo })).code, 0);
  assert.deepEqual(await due(), ['daily'], "a whole run made now for the day before's tick is not this tick's run");
  assert.equal((await runCli(['run', 'daily'], { cwd: repo })).code, 0);
  assert.deepEqual(await due(), [], 'a whole run is');
  assert.equal((await runCli(['run', 'daily', '--tick', dayBefore], { cwd: repo })).code, 0);
  assert.deepEqual(await due(), [], 'and stays so after a run for an older tick');
});

test("etl due: a new daily sequence is not 'missed' for ticks before it existed when another schedule fires", async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: {
      daily: { schedule: '0 3 * * *', steps: [{ module_name: 'ok' }] },
      often: { schedule: '*/15 * * * *', steps: [{ module_name: 'ok' }] },
    },
  });
  commitAt(repo, new Date('2026-11-25T09:00:00Z'));
  const due = async (now: string) =>
    JSON.parse(
      (await runCli(['due', '--cron', '*/15 * * * *', '--now', now, '--json'], { cwd: repo })).stdout,
    ) as string[];
  assert.deepEqual(
    await due('2026-11-25T10:15:00Z'),
    ['often'],
    'the 03:00 tick of its first day came before it existed',
  );
  assert.deepEqual(
    await due('2026-11-26T10:15:00Z'),
    ['daily', 'often'],
    'the next day its 03:00 tick was missed: caught up',
  );
  // Asked without --cron (by hand), the same rule: nothing was due before it existed.
  const byHand = JSON.parse(
    (await runCli(['due', '--now', '2026-11-25T10:15:00Z', '--json'], { cwd: repo })).stdout,
  ) as string[];
  assert.deepEqual(byHand, ['often']);
});
