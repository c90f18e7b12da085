import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { SpareFiles, writeFileAtomic, writeJsonAtomic } from '../../src/ledger/atomic.js';
import { tempRepo } from '../helpers/repo.js';

test('an atomic write replaces the file whole and leaves no temporary file behind', (t) => {
  const dir = tempRepo(t);
  const path = join(dir, 'run.json');
  writeJsonAtomic(path, { a: 1 });
  writeFileAtomic(path, 'second\n', { durable: false });
  assert.equal(readFileSync(path, 'utf8'), 'second\n');
  assert.deepEqual(readdirSync(dir), ['run.json']);
});

test('spare files made ahead are used by the writes, and the unused ones removed on close', async (t) => {
  const dir = tempRepo(t);
  const spares = new SpareFiles(2);
  spares.fill(dir);
  // Wait until they exist: they are made in the background.
  // (a file exists a moment before it is ready: its open() callback has yet to run).
  for (let i = 0; i < 200 && readdirSync(dir).length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(readdirSync(dir).filter((f) => f.startsWith('.spare.')).length, 2);
  writeFileAtomic(join(dir, 'a.json'), 'a', { spares });
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.startsWith('.spare.')).length,
    1,
    'one spare was renamed into a.json',
  );
  await spares.close();
  assert.deepEqual(readdirSync(dir), ['a.json']);
  spares.fill(dir);
  assert.deepEqual(readdirSync(dir), ['a.json'], 'a closed SpareFiles makes no more');
});
