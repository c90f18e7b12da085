// The ledger store reads one ledger across its roots (a ledger branch's worktree and the
// repository's runs/ recorded before the switch) and writes only when asked to reap.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runFolder } from '../../src/ledger/layout.js';
import { LedgerStore } from '../../src/ledger/store.js';
import { pipelineWithRemote } from '../helpers/git.js';
import { runCli } from '../helpers/repo.js';

const DEFS = {
  modules: { ok: { cmd: './modules/ok.sh' } },
  sequences: { s: { schedule: '0 3 * * *', steps: [{ module_name: 'ok' }] } },
};

const idOf = (stdout: string) => /record: \S*runs\/s\/\d{4}\/\d{2}\/\d{2}\/(\S+)\/run\.json/.exec(stdout)![1]!;

test('a store lists, finds, reads steps and logs across both roots, and reaps in the ledger branch', async (t) => {
  const { repo } = pipelineWithRemote(t, DEFS);
  const before = await runCli(['run', 's', '--commit'], { cwd: repo });
  assert.equal(before.code, 0, before.stderr);
  const after = await runCli(['run', 's', '--commit', '--ledger-branch', 'etl-runs'], { cwd: repo });
  assert.equal(after.code, 0, after.stderr);
  const [beforeId, afterId] = [idOf(before.stdout), idOf(after.stdout)];

  const store = await LedgerStore.open(repo, { env: {} });
  assert.equal(store.roots.length, 2);
  assert.equal(store.roots[1], repo);
  assert.deepEqual(store.sequences(), ['s']);
  assert.deepEqual(
    store.list().map((run) => run.id),
    [afterId, beforeId],
  );
  // A store that read only the ledger branch would miss the run recorded before the switch.
  assert.deepEqual(
    new LedgerStore(store.writeRoot).list().map((run) => run.id),
    [afterId],
  );

  const ref = store.find(beforeId.slice(0, 17));
  assert.equal(ref.id, beforeId);
  assert.equal(ref.root, repo);
  const run = store.requireRun(ref);
  assert.equal(run.status, 'succeeded');
  const step = store.readStep(join(ref.root, ref.folder), run.steps[0]!.record);
  assert.equal(step?.status, 'succeeded');
  if (step?.log.path) assert.notEqual(store.readLogTail(join(ref.root, ref.folder, step.log.path), 5), undefined);
  // Logs are read only inside runs/.
  assert.equal(store.readLogTail(join(repo, 'sequences.json'), 5), undefined);

  // A run of this host left running by a runner that is gone: reading leaves it be, reap records it.
  const orphanId = `${afterId.slice(0, 8)}T235959999Z-0000abcd`;
  const orphan = runFolder('s', orphanId);
  const afterRecord = JSON.parse(readFileSync(join(store.writeRoot, runFolder('s', afterId), 'run.json'), 'utf8'));
  mkdirSync(join(store.writeRoot, orphan), { recursive: true });
  const running = { ...afterRecord, id: orphanId, status: 'running', host: hostname(), finished_at: null };
  writeFileSync(join(store.writeRoot, orphan, 'run.json'), JSON.stringify({ ...running, duration_ms: null }));
  assert.equal(store.list({ limit: 1 })[0]?.status, 'abandoned');
  assert.equal(JSON.parse(readFileSync(join(store.writeRoot, orphan, 'run.json'), 'utf8')).status, 'running');
  const reaped = store.reap(['s']);
  assert.deepEqual(
    reaped.map((r) => [r.folder, r.run.status]),
    [[orphan, 'abandoned']],
  );
  assert.equal(JSON.parse(readFileSync(join(store.writeRoot, orphan, 'run.json'), 'utf8')).status, 'abandoned');
  assert.equal(store.find(orphanId).root, store.writeRoot);
});
