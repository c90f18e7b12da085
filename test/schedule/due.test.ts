import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCron } from '../../src/definitions/cron.js';
import { previousTick } from '../../src/schedule/next-tick.js';
import { pipelineRepo, runCli } from '../helpers/repo.js';

const prev = (expression: string, at: string, zone?: string) => previousTick(parseCron(expression).cron!, new Date(at), zone)?.toISOString();

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
  const due = async (cron: string, now: string) => JSON.parse((await runCli(['due', '--cron', cron, '--now', now, '--json'], { cwd: repo })).stdout) as string[];
  // At 02:20 UTC the hourly tick of 02:17 fired; nightly's 01:30 UTC tick (02:30 Madrid) has no run: caught up.
  const now = new Date();
  const at = (h: number, m: number) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), h, m)).toISOString();
  assert.deepEqual(await due('17 * * * *', at(2, 20)), ['hourly', 'nightly']);
  assert.deepEqual(await due(' 17  *  * * *', at(2, 20)), ['hourly', 'nightly'], 'spacing aside, the same expression');
  // After runs of both, neither is due again for the same ticks.
  assert.equal((await runCli(['run', 'hourly'], { cwd: repo })).code, 0);
  assert.equal((await runCli(['run', 'nightly'], { cwd: repo })).code, 0);
  const later = new Date(Date.now() + 60_000).toISOString();
  assert.deepEqual(await due('17 * * * *', later).then((d) => d.filter((n) => n === 'nightly')), []);
  // One no sequence has is a stale workflow: a warning.
  const stale = await runCli(['due', '--cron', '5 4 * * *', '--now', at(2, 20)], { cwd: repo });
  assert.equal(stale.code, 0);
  assert.match(stale.stderr, /warning: no sequence has the schedule "5 4 \* \* \*" \(are the workflows stale\? run etl workflows generate\)/);
  const text = await runCli(['due', '--now', 'yesterday'], { cwd: repo });
  assert.equal(text.code, 2);
  assert.match(text.stderr, /--now takes an ISO 8601 time/);
});
