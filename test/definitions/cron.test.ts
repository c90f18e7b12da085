import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasCronIntervalLessThan5Minutes, isValidCron } from '@actions/workflow-parser/model/converter/cron';
import { parseCron, runsMoreOftenThanEvery5Minutes } from '../../src/definitions/cron.js';
import { CORPUS } from '../helpers/cron-corpus.js';

for (const expression of CORPUS) {
  const github = isValidCron(expression);
  test(`"${expression}" is ${github ? 'accepted' : 'rejected'}, as GitHub's parser does`, () => {
    const ours = parseCron(expression);
    assert.equal(ours.error === undefined, github, ours.error);
    // Whenever GitHub warns about the 5-minute minimum, so do we.
    if (hasCronIntervalLessThan5Minutes(expression)) assert.equal(runsMoreOftenThanEvery5Minutes(ours.cron!), true);
  });
}

test('the 5-minute check looks at the real gaps, wrap-around included', () => {
  const frequent = (e: string) => runsMoreOftenThanEvery5Minutes(parseCron(e).cron!);
  // GitHub's heuristic reads only the step of */59, but :59 and :00 are one minute apart.
  assert.equal(frequent('*/59 * * * *'), true);
  assert.equal(frequent('0,30 * * * *'), false);
  assert.equal(frequent('0-10/5 * * * *'), false);
  assert.equal(frequent('58,1 * * * *'), true);
  assert.equal(frequent('17 3 * * *'), false);
});

test('fields expand to the values they allow', () => {
  const { cron } = parseCron('0-10/5 9-17 1,15 * MON-FRI');
  assert.deepEqual([...cron!.minutes], [0, 5, 10]);
  assert.deepEqual([...cron!.hours], [9, 10, 11, 12, 13, 14, 15, 16, 17]);
  assert.deepEqual([...cron!.daysOfMonth], [1, 15]);
  assert.equal(cron!.months.size, 12);
  assert.deepEqual([...cron!.daysOfWeek], [1, 2, 3, 4, 5]);
  assert.equal(cron!.dayOr, true);
  assert.equal(parseCron('0 0 */2 * 1').cron!.dayOr, false);
});

test('"5/15" starts at 5 and steps to the end of the range', () => {
  assert.deepEqual([...parseCron('5/15 * * * *').cron!.minutes], [5, 20, 35, 50]);
});
