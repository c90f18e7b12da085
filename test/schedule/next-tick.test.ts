import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCron } from '../../src/definitions/cron.js';
import { nextTick } from '../../src/schedule/next-tick.js';

const next = (expression: string, after: string, zone?: string) =>
  nextTick(parseCron(expression).cron!, new Date(after), zone)?.toISOString();

test('the next tick is strictly after the given time', () => {
  assert.equal(next('17 3 * * *', '2026-11-25T03:16:00Z'), '2026-11-25T03:17:00.000Z');
  assert.equal(next('17 3 * * *', '2026-11-25T03:17:00Z'), '2026-11-26T03:17:00.000Z');
  assert.equal(next('*/5 * * * *', '2026-11-25T23:58:30Z'), '2026-11-26T00:00:00.000Z');
});

test('a time zone shifts the schedule, including across daylight saving time', () => {
  // Madrid is UTC+1 in winter, UTC+2 in summer.
  assert.equal(next('17 6 * * *', '2026-11-25T00:00:00Z', 'Europe/Madrid'), '2026-11-25T05:17:00.000Z');
  assert.equal(next('17 6 * * *', '2026-07-01T00:00:00Z', 'Europe/Madrid'), '2026-07-01T04:17:00.000Z');
  // 29 March 2026: 02:00 jumps to 03:00. A 02:30 run happens shifted forward by the jump.
  assert.equal(next('30 2 * * *', '2026-03-29T00:00:00Z', 'Europe/Madrid'), '2026-03-29T01:30:00.000Z');
  // 25 October 2026: 02:00-03:00 happens twice; the run happens once, the first time.
  assert.equal(next('30 2 * * *', '2026-10-24T23:00:00Z', 'Europe/Madrid'), '2026-10-25T00:30:00.000Z');
  assert.equal(next('30 2 * * *', '2026-10-25T00:30:00Z', 'Europe/Madrid'), '2026-10-26T01:30:00.000Z');
});

test('day of month and day of week are OR-ed when both are restricted (POSIX)', () => {
  // 1 December 2026 is a Tuesday: the 1st matches; the next Monday is the 7th.
  assert.equal(next('0 0 1 * 1', '2026-11-30T12:00:00Z'), '2026-12-01T00:00:00.000Z');
  assert.equal(next('0 0 1 * 1', '2026-12-01T12:00:00Z'), '2026-12-07T00:00:00.000Z');
  // With one of them "*", the other decides alone.
  assert.equal(next('0 0 * * 1', '2026-11-30T12:00:00Z'), '2026-12-07T00:00:00.000Z');
});

test('29 February is found years ahead; 31 February never comes', () => {
  assert.equal(next('0 0 29 2 *', '2026-11-25T00:00:00Z'), '2028-02-29T00:00:00.000Z');
  assert.equal(next('0 0 31 2 *', '2026-11-25T00:00:00Z'), undefined);
});
