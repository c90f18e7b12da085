import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dueSequences, LedgerStore, planRun, renderWorkflows, validate } from '../src/index.js';
import { ROOT, tempRepo } from './helpers/repo.js';

test('the library validates and plans the bundled example', async () => {
  const report = await validate({ repo: ROOT, sequences: ['air-quality'] });
  assert.equal(report.ok, true);
  const plan = planRun(report.definitions, 'air-quality');
  assert.deepEqual(
    plan.steps.map((s) => s.module),
    ['extract_csv', 'transform', 'load_sqlite', 'profile'],
  );
  // A graph: profile runs beside transform, both after the extract.
  assert.deepEqual(
    plan.steps.map((s) => s.needs),
    [[], [1], [2], [1]],
  );
  assert.deepEqual(
    plan.on_exit.map((s) => s.module),
    ['report_status'],
  );
  assert.deepEqual(
    plan.on_failure.map((s) => s.module),
    ['report_failure'],
  );
  assert.equal(plan.timeout_ms, 30 * 60_000);
});

test('the library tells what is due and renders the workflows', async (t) => {
  const report = await validate({ repo: ROOT, sequences: ['air-quality'] });
  // 06:17 in Madrid in winter is 05:17 UTC; an empty ledger has no run since that tick.
  const due = dueSequences(report.definitions, new LedgerStore(tempRepo(t)), {
    cron: '17 6 * * *',
    now: new Date('2026-01-15T05:20:00Z'),
  });
  assert.deepEqual(
    due.map((d) => [d.name, d.tick, d.reason]),
    [['air-quality', '2026-01-15T05:17:00.000Z', 'fired']],
  );
  const workflows = renderWorkflows(report.definitions, { etl: 'npx etl', branch: 'main' });
  assert.match(workflows['etl-schedule.yml']!, /cron: '17 6 \* \* \*'\n\s+timezone: Europe\/Madrid/);
});

test('the library answers what the ledger knows of lineage, metrics, resuming and diffs', async (t) => {
  const { describeArtifact, lineageOf, metricsHistory, resumePoint, upstreamOf, diffRuns } = await import(
    '../src/index.js'
  );
  const source = await describeArtifact('data/air_quality.csv', 'data/air_quality.csv', ROOT);
  assert.equal(source?.kind, 'file');
  assert.match(source?.sha256 ?? '', /^[0-9a-f]{64}$/);
  const empty = tempRepo(t);
  assert.deepEqual(lineageOf(empty, empty, `${empty}/x.csv`), []);
  assert.equal(upstreamOf(empty, empty, `${empty}/x.csv`).written_by, null);
  assert.deepEqual(metricsHistory(empty, 'daily'), []);
  await assert.rejects(
    resumePoint(empty, empty, { sequence: 'daily', steps: [], params: {}, tick: '' }, 'daily@latest'),
    /no run/,
  );
  assert.equal(typeof diffRuns, 'function');
});
