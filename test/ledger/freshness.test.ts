// freshness: 26h on a sequence: stale when no successful run ended within 26 hours. etl status
// (text and --json), the UI's API and the metrics (test/prometheus/) say so.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test, type TestContext } from 'node:test';
import { type Freshness, freshnessOf } from '../../src/ledger/freshness.js';
import { LedgerStore } from '../../src/ledger/store.js';
import type { RunRecord } from '../../src/runner/records.js';
import type { SequencesAnswer } from '../../src/ui/api-types.js';
import { pipelineRepo, runCli, tempRepo } from '../helpers/repo.js';
import { writeRunRecords } from '../helpers/runs.js';
import { uiServerOn } from '../helpers/ui-server.js';

/** fresh ran just now; stale last succeeded on 2025-01-01 at 02:00; never only failed; plain sets no freshness. */
async function repository(t: TestContext): Promise<string> {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' }, fail: { cmd: './modules/fail.sh' } },
    sequences: {
      fresh: { freshness: '26h', steps: [{ module_name: 'ok' }] },
      stale: { freshness: '26h', steps: [{ module_name: 'ok' }] },
      never: { freshness: '1h', steps: [{ module_name: 'fail' }] },
      plain: [{ module_name: 'ok' }],
    },
  });
  assert.equal((await runCli(['run', 'fresh'], { cwd: repo })).code, 0);
  assert.equal((await runCli(['run', 'never'], { cwd: repo })).code, 1);
  assert.equal((await runCli(['run', 'plain'], { cwd: repo })).code, 0);
  // Hourly from 2025-01-01T00:00 (the first failed): the last success is the third, at 02:00.
  writeRunRecords(repo, 'stale', 3);
  return repo;
}

const lastRun = async (repo: string, sequence: string) =>
  (
    JSON.parse((await runCli(['history', sequence, '--json', '--limit', '1'], { cwd: repo })).stdout) as RunRecord[]
  )[0]!;

test('a sequence is stale once its last success ended longer ago than its freshness', async (t) => {
  const repo = await repository(t);
  const store = new LedgerStore(repo);
  const fresh = await lastRun(repo, 'fresh');
  const ended = Date.parse(fresh.finished_at!);
  const at = (ms: number) => freshnessOf(store, { name: 'fresh', freshness: '26h' }, new Date(ended + ms))!;
  assert.deepEqual(at(26 * 3_600_000), {
    freshness: '26h',
    freshness_ms: 26 * 3_600_000,
    last_success_at: fresh.finished_at,
    last_success_run: fresh.id,
    stale: false,
    stale_since: null,
  });
  assert.equal(at(26 * 3_600_000 + 1).stale, true);
  assert.equal(at(26 * 3_600_000 + 1).stale_since, new Date(ended + 26 * 3_600_000).toISOString());
  assert.equal(freshnessOf(store, { name: 'fresh', freshness: undefined }, new Date()), undefined);
});

test('etl status says which sequences are stale, in text and in --json', async (t) => {
  const repo = await repository(t);
  const fresh = await lastRun(repo, 'fresh');
  const json = await runCli(['status', '--json'], { cwd: repo });
  assert.equal(json.code, 1, 'no daemon runs here: exit 1, as before');
  const { freshness } = JSON.parse(json.stdout) as { freshness: Record<string, Freshness> };
  assert.deepEqual(Object.keys(freshness), ['fresh', 'never', 'stale'], 'plain sets no freshness');
  assert.equal(freshness.fresh!.stale, false);
  assert.equal(freshness.fresh!.last_success_run, fresh.id);
  assert.deepEqual(freshness.stale, {
    freshness: '26h',
    freshness_ms: 26 * 3_600_000,
    last_success_at: '2025-01-01T02:00:00.000Z',
    last_success_run: '20250101T020000000Z-00000002',
    stale: true,
    stale_since: '2025-01-02T04:00:00.000Z',
  });
  assert.equal(freshness.never!.stale, true);
  assert.equal(freshness.never!.last_success_at, null);

  const text = (await runCli(['status'], { cwd: repo })).stdout;
  assert.match(text, /^freshness$/m);
  assert.match(
    text,
    new RegExp(
      `^  fresh  fresh: a success ended within 26h; the last ended at ${fresh.finished_at}, .* ago \\(run ${fresh.id}\\)$`,
      'm',
    ),
  );
  assert.match(
    text,
    /^ {2}stale {2}stale: no success ended within 26h \(stale since 2025-01-02T04:00:00\.000Z\); the last ended at 2025-01-01T02:00:00\.000Z, \d+d\S* ago \(run 20250101T020000000Z-00000002\)$/m,
  );
  assert.match(text, /^ {2}never {2}stale: no success ended within 1h; it never succeeded$/m);
  assert.doesNotMatch(text, /plain/);
});

test("the UI's API gives each sequence's freshness, for the overview to show a stale one", async (t) => {
  const repo = await repository(t);
  const url = await uiServerOn(t, repo);
  const body = await new Promise<string>((resolve, reject) => {
    request(`${url}api/sequences`, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve(text));
    })
      .on('error', reject)
      .end();
  });
  const { sequences } = JSON.parse(body) as SequencesAnswer;
  const freshness = Object.fromEntries(
    sequences.map((s) => [s.name, 'freshness' in s && s.freshness ? s.freshness.stale : 'none']),
  );
  assert.deepEqual(freshness, { fresh: false, never: true, plain: 'none', stale: true });
});

test('a freshness that is not a duration, or is zero, is a located error of etl validate', async (t) => {
  const repo = tempRepo(t, {
    'modules.json': '{"ok": {"cmd": "true"}}',
    'etl_sequences/a.yaml': 'freshness: 26 hours\nsteps:\n  - module_name: ok\n',
    'etl_sequences/b.yaml': 'freshness: 0h\nsteps:\n  - module_name: ok\n',
  });
  const result = await runCli(['validate'], { cwd: repo });
  assert.equal(result.code, 2);
  assert.match(
    result.stdout,
    /^etl_sequences\/a\.yaml:1:12: error: invalid duration "26 hours" for "freshness": expected a number and a unit .* \[invalid-duration\]$/m,
  );
  assert.match(
    result.stdout,
    /^etl_sequences\/b\.yaml:1:12: error: freshness "0h" would call the sequence stale at every moment: expected a duration longer than 0, such as "26h" \[zero-freshness\]$/m,
  );
});
