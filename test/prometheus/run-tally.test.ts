// Each run counted once by etl_runs_total: those that end after the process started, whether
// they were running at the first scrape, or turn up late (pulled from another clone).
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { LedgerStore } from '../../src/ledger/store.js';
import { RunTally } from '../../src/prometheus/run-tally.js';
import type { RunRecord } from '../../src/runner/records.js';
import { tempRepo } from '../helpers/repo.js';
import { writeRunRecords } from '../helpers/runs.js';

const at = (time: string) => new Date(`2025-01-01T${time}Z`);

function rewrite(repo: string, id: string, change: (run: RunRecord) => RunRecord): void {
  const file = join(repo, 'runs/seq', id.slice(0, 4), id.slice(4, 6), id.slice(6, 8), id, 'run.json');
  writeFileSync(file, JSON.stringify(change(JSON.parse(readFileSync(file, 'utf8')) as RunRecord)));
}

test('a run is counted once when it ends after the start, however it turns up', (t) => {
  const repo = tempRepo(t);
  // Hourly from 00:00; the one of 02:00 is still running (on another host: not judged abandoned here).
  const ids = writeRunRecords(repo, 'seq', 3, (run, i) =>
    i === 2 ? { ...run, status: 'running', finished_at: null, duration_ms: null } : run,
  );
  const store = new LedgerStore(repo);
  const tally = new RunTally(at('01:30:00'));
  const ended = (now: string) => tally.ended(store, ['seq'], at(now)).map((run) => run.id);

  assert.deepEqual(ended('03:00:00'), [], 'ended before the start: not counted');
  assert.equal(tally.running('seq'), 1);
  rewrite(repo, ids[2]!, (run) => ({ ...run, status: 'failed', finished_at: '2025-01-01T03:10:00.000Z' }));
  assert.deepEqual(ended('03:15:00'), [ids[2]]);
  assert.equal(tally.running('seq'), 0);
  assert.deepEqual(ended('03:20:00'), [], 'once');

  // A run that started before the newest one, pulled in after it ended: counted once too.
  const late = '20250101T014500000Z-0000abcd';
  const folder = join(repo, 'runs/seq/2025/01/01', late);
  mkdirSync(folder);
  const record = JSON.parse(readFileSync(join(folder, '..', ids[1]!, 'run.json'), 'utf8')) as RunRecord;
  writeFileSync(
    join(folder, 'run.json'),
    JSON.stringify({ ...record, id: late, finished_at: '2025-01-01T03:25:00.000Z' }),
  );
  assert.deepEqual(ended('03:30:00'), [late]);
  assert.deepEqual(ended('03:35:00'), []);
});
