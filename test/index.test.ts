import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planRun, validate } from '../src/index.js';
import { ROOT } from './helpers/repo.js';

test('the library validates and plans the bundled example', async () => {
  const report = await validate({ repo: ROOT, sequences: ['air-quality'] });
  assert.equal(report.ok, true);
  const plan = planRun(report.definitions, 'air-quality');
  assert.deepEqual(
    plan.steps.map((s) => s.module),
    ['extract_csv', 'transform', 'load_sqlite'],
  );
  assert.deepEqual(plan.on_failure.map((s) => s.module), ['report_failure']);
  assert.equal(plan.timeout_ms, 30 * 60_000);
});
