import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isAlive, readLock, releaseIfMine, tryLock } from '../src/lock-file.js';
import { tempRepo } from './helpers/repo.js';

const DEAD_PID = 2 ** 22 + 4321; // above Linux's pid_max default: no such process

test('a lock is taken once; a live holder keeps it; the holder alone releases it', (t) => {
  const path = join(tempRepo(t), 'sub', 'x.lock');
  const mine = { pid: process.pid, host: hostname(), run_id: 'a' };
  assert.deepEqual(tryLock(path, mine), { held: true, replaced: undefined });
  assert.deepEqual(readLock(path), mine);
  const other = { pid: process.pid, host: hostname(), run_id: 'b' };
  assert.deepEqual(tryLock(path, other), { held: false, holder: mine });
  releaseIfMine(path, other);
  assert.ok(existsSync(path), 'not released by another owner');
  releaseIfMine(path, mine);
  assert.equal(existsSync(path), false);
});

test('a lock whose holder is gone is taken over, once, after beforeTakeover has cleaned up', (t) => {
  const path = join(tempRepo(t), 'x.lock');
  const dead = { pid: DEAD_PID, host: hostname(), run_id: 'old' };
  writeFileSync(path, JSON.stringify(dead));
  assert.equal(isAlive(dead), false);
  const cleaned: unknown[] = [];
  const attempt = tryLock<{ pid: number; host: string; run_id: string }>(
    path,
    { pid: process.pid, host: hostname(), run_id: 'new' },
    (stale) => {
      cleaned.push(stale);
      return { run_id: 'old (cleaned)' };
    },
  );
  assert.deepEqual(cleaned, [dead]);
  assert.deepEqual(attempt, { held: true, replaced: { ...dead, run_id: 'old (cleaned)' } });
  assert.equal(readLock<{ pid: number; host: string; run_id: string }>(path)?.run_id, 'new');
});

test('a holder on another host is assumed alive (we cannot tell from here)', () => {
  assert.equal(isAlive({ pid: DEAD_PID, host: 'elsewhere.example' }), true);
});

test("two takeovers of one stale lock cannot both win: the second waits out the first one's takeover", (t) => {
  const path = join(tempRepo(t), 'x.lock');
  writeFileSync(path, JSON.stringify({ pid: DEAD_PID, host: hostname(), run_id: 'old' }));
  const a = { pid: process.pid, host: hostname(), run_id: 'a' };
  const b = { pid: process.pid, host: hostname(), run_id: 'b' };
  let second: ReturnType<typeof tryLock> | undefined;
  // In the middle of A's takeover (the stale holder checked, not yet removed), B tries too.
  const first = tryLock(path, a, () => {
    second = tryLock(path, b);
    return {};
  });
  assert.equal(first.held, true);
  assert.equal(second?.held, false, 'B must not take the lock A is taking over');
  assert.equal(readLock<typeof a>(path)?.run_id, 'a');
});
