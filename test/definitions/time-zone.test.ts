import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  formatWallTime,
  instantOf,
  isKnownTimeZone,
  startOfDayIn,
  wallTimeIn,
} from '../../src/definitions/time-zone.js';

const at = (zone: string, year: number, month: number, day: number, hour: number, minute: number) =>
  new Date(instantOf(zone, { year, month, day, hour, minute })).toISOString();
const clock = (zone: string, iso: string) => formatWallTime(zone, new Date(iso));

test('a wall-clock time and its instant convert both ways outside any change of clocks', () => {
  assert.equal(at('Europe/Madrid', 2026, 11, 25, 6, 17), '2026-11-25T05:17:00.000Z');
  assert.equal(at('Europe/Madrid', 2026, 7, 1, 6, 17), '2026-07-01T04:17:00.000Z');
  assert.equal(clock('Europe/Madrid', '2026-07-01T04:17:00Z'), '2026-07-01 06:17');
  assert.deepEqual(wallTimeIn('America/New_York', Date.parse('2026-12-31T23:59:58Z')), {
    year: 2026,
    month: 12,
    day: 31,
    hour: 18,
    minute: 59,
    second: 58,
  });
});

test('a time skipped when clocks go forward is shifted forward by the jump', () => {
  // Madrid, 29 March 2026: 02:00 becomes 03:00 (+1 to +2).
  assert.equal(at('Europe/Madrid', 2026, 3, 29, 2, 30), '2026-03-29T01:30:00.000Z');
  assert.equal(clock('Europe/Madrid', '2026-03-29T01:30:00Z'), '2026-03-29 03:30');
  // New York, 8 March 2026: 02:00 becomes 03:00 (-5 to -4).
  assert.equal(at('America/New_York', 2026, 3, 8, 2, 30), '2026-03-08T07:30:00.000Z');
  assert.equal(clock('America/New_York', '2026-03-08T07:30:00Z'), '2026-03-08 03:30');
});

test('a time shown twice when clocks go back is its first showing', () => {
  // Madrid, 25 October 2026: 03:00 becomes 02:00; 02:30 is shown at 00:30Z and at 01:30Z.
  assert.equal(at('Europe/Madrid', 2026, 10, 25, 2, 30), '2026-10-25T00:30:00.000Z');
  assert.equal(clock('Europe/Madrid', '2026-10-25T01:30:00Z'), '2026-10-25 02:30');
  // New York, 1 November 2026: 02:00 becomes 01:00; 01:30 is shown at 05:30Z and at 06:30Z.
  assert.equal(at('America/New_York', 2026, 11, 1, 1, 30), '2026-11-01T05:30:00.000Z');
  assert.equal(clock('America/New_York', '2026-11-01T06:30:00Z'), '2026-11-01 01:30');
});

test("Lord Howe Island's clocks move by 30 minutes, both ways", () => {
  // 4 October 2026: 02:00 becomes 02:30 (+10:30 to +11); 02:15 is shifted to 02:45.
  assert.equal(at('Australia/Lord_Howe', 2026, 10, 4, 2, 15), '2026-10-03T15:45:00.000Z');
  assert.equal(clock('Australia/Lord_Howe', '2026-10-03T15:45:00Z'), '2026-10-04 02:45');
  // 5 April 2026: 02:00 becomes 01:30 (+11 to +10:30); 01:45 is shown at 14:45Z and 15:15Z.
  assert.equal(at('Australia/Lord_Howe', 2026, 4, 5, 1, 45), '2026-04-04T14:45:00.000Z');
  assert.equal(clock('Australia/Lord_Howe', '2026-04-04T15:15:00Z'), '2026-04-05 01:45');
});

test('a day starts at its midnight, or at its first minute when clocks skip midnight', () => {
  // Lord Howe changes clocks after midnight there but before midnight UTC: the day's own offset counts.
  assert.equal(new Date(startOfDayIn('Australia/Lord_Howe', 2026, 10, 4)).toISOString(), '2026-10-03T13:30:00.000Z');
  // Santiago, 6 September 2026: 00:00 becomes 01:00 (-4 to -3).
  assert.equal(new Date(startOfDayIn('America/Santiago', 2026, 9, 6)).toISOString(), '2026-09-06T04:00:00.000Z');
});

test('a time zone is known by its IANA name or an alias, never by a made-up name', () => {
  assert.equal(isKnownTimeZone('Europe/Madrid'), true);
  assert.equal(isKnownTimeZone('US/Eastern'), true);
  assert.equal(isKnownTimeZone('Mars/Olympus_Mons'), false);
});
