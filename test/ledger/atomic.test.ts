import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeFileAtomic, writeJsonAtomic } from '../../src/ledger/atomic.js';
import { tempRepo } from '../helpers/repo.js';

test('an atomic write replaces the file whole and leaves no temporary file behind', (t) => {
  const dir = tempRepo(t);
  const path = join(dir, 'run.json');
  writeJsonAtomic(path, { a: 1 });
  writeFileAtomic(path, 'second\n', { durable: false });
  assert.equal(readFileSync(path, 'utf8'), 'second\n');
  assert.deepEqual(readdirSync(dir), ['run.json']);
});
