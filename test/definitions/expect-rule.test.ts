// The expect rules' text, read into rules: what lint reports and the runner checks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRule } from '../../src/definitions/expect-rule.js';

test('expect rules: a comparison, a share of another metric, and within a share of the last run', () => {
  assert.deepEqual(parseRule(' >= 1 '), { kind: 'compare', op: '>=', number: 1 });
  assert.deepEqual(parseRule('< 5% of rows_read'), { kind: 'share', op: '<', percent: 5, of: 'rows_read' });
  assert.deepEqual(parseRule('within 20% of last'), { kind: 'within', percent: 20 });
  for (const bad of ['at least 1', '>=', '5', '< 5 of rows', 'within 20 of last', '>= 1 or so'])
    assert.match((parseRule(bad) as { error: string }).error, /is not an expectation: expected a comparison/, bad);
});
