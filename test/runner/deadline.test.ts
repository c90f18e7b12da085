import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attemptBound, handlerDeadline, sequenceDeadline } from '../../src/runner/deadline.js';

test('an attempt is bounded by its step timeout, or by what is left of a deadline that comes first', () => {
  const deadline = sequenceDeadline({ timeout_ms: 10_000 }, 1_000)!;
  assert.deepEqual(deadline, { at: 11_000, what: 'the sequence timeout (10s)' });
  assert.deepEqual(attemptBound(undefined, 5_000, 0), { expired: false, timeoutMs: 5_000, byDeadline: false });
  assert.deepEqual(attemptBound(undefined, undefined, 0), { expired: false, timeoutMs: undefined, byDeadline: false });
  assert.deepEqual(attemptBound(deadline, 5_000, 2_000), { expired: false, timeoutMs: 5_000, byDeadline: false });
  assert.deepEqual(attemptBound(deadline, 5_000, 8_000), { expired: false, timeoutMs: 3_000, byDeadline: true });
  assert.deepEqual(attemptBound(deadline, undefined, 8_000), { expired: false, timeoutMs: 3_000, byDeadline: true });
  assert.deepEqual(attemptBound(deadline, 5_000, 11_000), { expired: true });
  assert.equal(sequenceDeadline({}, 0), undefined);
  assert.deepEqual(handlerDeadline({ handler_timeout_ms: { on_failure: 60_000 } }, 'on_failure', 5), {
    at: 60_005,
    what: 'the on_failure timeout (1m)',
  });
});
