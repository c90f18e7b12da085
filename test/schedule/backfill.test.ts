// etl backfill over a month with a DST change: each day's tick, in order, once.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RunRecord } from '../../src/runner/records.js';
import { parseDay } from '../../src/schedule/backfill.js';
import { pipelineRepo, runCli } from '../helpers/repo.js';

test('etl backfill runs each tick of a month that changes clocks, in order, and a second backfill skips what succeeded', {
  timeout: 120_000,
}, async (t) => {
  const repo = pipelineRepo(t, {
    modules: { dump: { cmd: 'node modules/env-dump.mjs' }, ok: { cmd: './modules/ok.sh' } },
    sequences: {
      daily: {
        schedule: '0 6 * * *',
        timezone: 'Europe/Madrid',
        params: { region: { default: 'north' } },
        steps: [
          {
            module_name: 'dump',
            input: 'data/${params.region}/${tick:%Y-%m-%d}.csv',
            output: 'out/${tick:%Y-%m-%d}.json',
          },
        ],
      },
      manual: [{ module_name: 'ok' }],
    },
    files: { 'out/.keep': '' },
  });
  const first = await runCli(
    ['backfill', 'daily', '--from', '2026-10-20', '--to', '2026-10-28', '--param', 'region=south'],
    { cwd: repo },
  );
  assert.equal(first.code, 0, first.stderr);
  const lines = first.stdout.trim().split('\n');
  assert.match(
    lines[0]!,
    /^daily: 9 ticks of "0 6 \* \* \*" \(Europe\/Madrid\) from 2026-10-19T22:00:00\.000Z to 2026-10-28T22:59:59\.999Z$/,
  );
  // 06:00 in Madrid is 04:00 UTC in summer time and 05:00 UTC from 25 October.
  assert.deepEqual(
    lines.slice(1).map((l) => l.slice(0, 24)),
    ['20', '21', '22', '23', '24']
      .map((d) => `2026-10-${d}T04:00:00.000Z`)
      .concat(['25', '26', '27', '28'].map((d) => `2026-10-${d}T05:00:00.000Z`)),
  );
  assert.ok(lines.slice(1).every((l) => / {2}succeeded \(run \S+\)$/.test(l)));
  const days = readdirSync(join(repo, 'out'))
    .filter((f) => f.endsWith('.json'))
    .sort();
  assert.equal(days.length, 9);
  const dump = JSON.parse(readFileSync(join(repo, 'out/2026-10-25.json'), 'utf8'));
  assert.deepEqual(dump.argv.slice(-4), ['--input', 'data/south/2026-10-25.csv', '--output', 'out/2026-10-25.json']);
  assert.equal(dump.env.ETL_TICK, '2026-10-25T05:00:00.000Z');

  const again = await runCli(['backfill', 'daily', '--from', '2026-10-27', '--to', '2026-10-29'], { cwd: repo });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /2026-10-27T05:00:00\.000Z {2}skipped: already succeeded \(run \S+\)/);
  assert.match(again.stdout, /2026-10-28T05:00:00\.000Z {2}skipped: already succeeded/);
  assert.match(again.stdout, /2026-10-29T05:00:00\.000Z {2}succeeded/);
  assert.ok(existsSync(join(repo, 'out/2026-10-29.json')));
  const rerun = await runCli(
    ['backfill', 'daily', '--from', '2026-10-29', '--to', '2026-10-29', '--rerun', '--dry-run'],
    { cwd: repo },
  );
  assert.match(rerun.stdout, /2026-10-29T05:00:00\.000Z {2}would run/);

  for (const [args, message] of [
    [
      ['manual', '--from', '2026-10-01', '--to', '2026-10-02'],
      /sequence "manual" has no schedule: a backfill runs the ticks of its schedule/,
    ],
    [
      ['daily', '--from', '2026-10-32', '--to', '2026-11-01'],
      /--from takes a day \(2026-11-01\) or an ISO 8601 time, got "2026-10-32"/,
    ],
    [['daily', '--from', '2026-11-02', '--to', '2026-11-01'], /--from \(2026-11-02\) is after --to \(2026-11-01\)/],
    [['daily', '--to', '2026-11-01'], /backfill needs --from DATE and --to DATE/],
  ] as const) {
    const wrong = await runCli(['backfill', ...args], { cwd: repo });
    assert.equal(wrong.code, 2, args.join(' '));
    assert.match(wrong.stderr, message);
  }
});

test('each run says what started it: backfill, or a person (with --tick kept as its tick); etl show and etl history give the tick and params', {
  timeout: 60_000,
}, async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: {
      daily: { schedule: '0 6 * * *', params: { region: { default: 'north' } }, steps: [{ module_name: 'ok' }] },
    },
  });
  // Outside GitHub Actions, whatever runs these tests.
  const env = { GITHUB_ACTIONS: '' };
  const filled = await runCli(['backfill', 'daily', '--from', '2026-10-20', '--to', '2026-10-21'], { cwd: repo, env });
  assert.equal(filled.code, 0, filled.stderr);
  const byHand = await runCli(['run', 'daily', '--tick', '2026-10-22T06:00:00Z', '--param', 'region=south', '--json'], {
    cwd: repo,
    env,
  });
  assert.equal(byHand.code, 0, byHand.stderr);
  const plain = await runCli(['run', 'daily', '--json'], { cwd: repo, env });
  assert.equal(plain.code, 0, plain.stderr);
  const runs = JSON.parse((await runCli(['history', 'daily', '--json'], { cwd: repo, env })).stdout) as RunRecord[];
  assert.deepEqual(
    runs.map((r) => [r.trigger.kind, r.trigger.tick ?? null]),
    [
      ['manual', null],
      ['manual', '2026-10-22T06:00:00.000Z'],
      ['backfill', '2026-10-21T06:00:00.000Z'],
      ['backfill', '2026-10-20T06:00:00.000Z'],
    ],
  );

  const shown = await runCli(['show', JSON.parse(byHand.stdout).id], { cwd: repo, env });
  assert.match(shown.stdout, /^trigger {2}manual( by \S+)?$/m);
  assert.match(shown.stdout, /^tick {5}2026-10-22T06:00:00\.000Z$/m);
  assert.match(shown.stdout, /^params {3}region=south$/m);
  const untimed = await runCli(['show', JSON.parse(plain.stdout).id], { cwd: repo, env });
  assert.match(untimed.stdout, /^tick {5}\S+ \(no tick given: when etl run started, to the second\)$/m);
  assert.match(untimed.stdout, /^params {3}region=north$/m);

  // The table has a TICK column when a listed run was for a tick; "-" for one that was not.
  const table = (await runCli(['history', 'daily'], { cwd: repo, env })).stdout.trim().split('\n');
  assert.match(table[0]!, /^RUN +SEQUENCE +STATUS +STARTED +TICK +DURATION/);
  assert.match(table[1]!, / - /);
  assert.match(table[2]!, / 2026-10-22 06:00:00Z /);
  assert.match(table[4]!, / 2026-10-20 06:00:00Z /);

  const wrong = await runCli(['run', 'daily', '--trigger', 'cron'], { cwd: repo, env });
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /--trigger must be one of manual, schedule, backfill, ui, got "cron"/);
});

test('a backfill day is that day in the sequence zone, even when its clocks change between its midnight and UTC midnight', () => {
  // Lord Howe Island moves from +10:30 to +11 at 02:00 on 4 October 2026: that day began at +10:30.
  assert.equal(parseDay('2026-10-04', 'Australia/Lord_Howe', false)?.toISOString(), '2026-10-03T13:30:00.000Z');
  assert.equal(parseDay('2026-10-03', 'Australia/Lord_Howe', true)?.toISOString(), '2026-10-03T13:29:59.999Z');
  assert.equal(parseDay('2026-10-20', 'Europe/Madrid', false)?.toISOString(), '2026-10-19T22:00:00.000Z');
  assert.equal(parseDay('2026-02-30', 'Europe/Madrid', false), undefined);
});
