import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
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
  const written = readLock<typeof mine & { pid_start?: string }>(path);
  assert.deepEqual(written, { ...mine, pid_start: written?.pid_start });
  const other = { pid: process.pid, host: hostname(), run_id: 'b' };
  assert.deepEqual(tryLock(path, other), { held: false, holder: written });
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

test('a holder whose pid now belongs to a later process is gone; the lock records its start for that', (t) => {
  const path = join(tempRepo(t), 'x.lock');
  assert.equal(tryLock(path, { pid: process.pid, host: hostname() }).held, true);
  const written = readLock<{ pid: number; host: string; pid_start?: string }>(path)!;
  assert.match(written.pid_start ?? '', /^\d+$/, 'the holder process start is written with the lock');
  assert.equal(isAlive(written), true);
  // The same pid, started at another time: a process that got the dead holder's pid.
  assert.equal(isAlive({ ...written, pid_start: String(Number(written.pid_start) + 1) }), false);
  assert.equal(isAlive({ pid: process.pid, host: hostname() }), true, 'a lock from before: the pid alone');
});

test('what a process killed in the middle of taking a lock left beside it is removed by the next one', (t) => {
  const dir = tempRepo(t);
  const path = join(dir, 'x.lock');
  writeFileSync(`${path}.${DEAD_PID}.k1x9.tmp`, '{}');
  writeFileSync(`${path}.takeover.${DEAD_PID}.q2.tmp`, '{}');
  writeFileSync(`${path}.${process.pid}.live.tmp`, '{}'); // a live process's, in its instant
  assert.equal(tryLock(path, { pid: process.pid, host: hostname() }).held, true);
  assert.deepEqual(readdirSync(dir).sort(), ['x.lock', `x.lock.${process.pid}.live.tmp`]);
});

test('a takeover left half-done by a process killed in it does not keep the stale lock from being taken', (t) => {
  const path = join(tempRepo(t), 'x.lock');
  writeFileSync(path, JSON.stringify({ pid: DEAD_PID, host: hostname(), run_id: 'old' }));
  writeFileSync(`${path}.takeover`, JSON.stringify({ pid: DEAD_PID + 1, host: hostname(), run_id: 'killed' }));
  const taken = tryLock(path, { pid: process.pid, host: hostname(), run_id: 'new' });
  assert.equal(taken.held, true);
  assert.equal(existsSync(`${path}.takeover`), false);
  // A takeover in progress by a live process is waited for, as before.
  writeFileSync(`${path}.takeover`, JSON.stringify({ pid: process.pid, host: hostname(), run_id: 'busy' }));
  writeFileSync(path, JSON.stringify({ pid: DEAD_PID, host: hostname(), run_id: 'old' }));
  assert.equal(tryLock(path, { pid: process.pid, host: hostname(), run_id: 'other' }).held, false);
  assert.equal(existsSync(`${path}.takeover`), true);
});
