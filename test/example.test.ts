import assert from 'node:assert/strict';
import { cpSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import initSqlJs from 'sql.js';
import { ROOT, runCli, tempRepo } from './helpers/repo.js';

/** A copy of the bundled example pipeline, so that runs do not write into the project. */
function exampleRepo(t: Parameters<typeof tempRepo>[0]): string {
  const repo = tempRepo(t);
  for (const path of ['etl_sequences', 'modules', 'modules.json', 'data', 'conf', 'node_modules']) {
    cpSync(join(ROOT, path), join(repo, path), { recursive: true, verbatimSymlinks: true });
  }
  // Its modules import etl-ledger/module, from etl-ledger installed as a pipeline repository has it.
  symlinkSync(ROOT, join(repo, 'node_modules/etl-ledger'));
  return repo;
}

async function measurements(repo: string): Promise<unknown[][]> {
  const SQL = await initSqlJs();
  const db = new SQL.Database(readFileSync(join(repo, 'out/air_quality.sqlite')));
  const rows = db.exec(
    'SELECT station, date, pollutant, value_ugm3 FROM measurements ORDER BY station, date, pollutant',
  )[0]!.values;
  db.close();
  return rows;
}

test('the example pipeline loads the CSV into SQLite, normalised, and running it twice changes nothing', async (t) => {
  const repo = exampleRepo(t);
  const first = await runCli(['run', 'air-quality'], { cwd: repo });
  assert.equal(first.code, 0, first.stdout + first.stderr);
  const rows = await measurements(repo);
  assert.equal(rows.length, 25);
  assert.deepEqual(
    rows.find((r) => r[0] === 'Parque Norte' && r[1] === '2026-11-01' && r[2] === 'NO2'),
    ['Parque Norte', '2026-11-01', 'NO2', 19.2],
  );
  assert.deepEqual(
    rows.find((r) => r[0] === 'Centro' && r[1] === '2026-11-01' && r[2] === 'PM2.5'),
    ['Centro', '2026-11-01', 'PM2.5', 17.2],
  );
  assert.ok(
    rows.some((r) => r[0] === 'Centro' && r[1] === '2026-11-03' && r[2] === 'NO2'),
    'a dd/mm/yyyy date is normalised',
  );
  assert.ok(!rows.some((r) => r[0] === ''), 'a row without a station is dropped');
  assert.equal((await runCli(['run', 'air-quality'], { cwd: repo })).code, 0);
  assert.deepEqual(await measurements(repo), rows);
  const history = await runCli(['history'], { cwd: repo });
  assert.equal(history.stdout.trim().split('\n').length, 3);
});

test('a broken source file fails the example at extract, and the error handler reports it', async (t) => {
  const repo = exampleRepo(t);
  writeFileSync(join(repo, 'data/air_quality.csv'), 'estacion,fecha\nCentro,2026-11-01\n');
  const result = await runCli(['run', 'air-quality', '--json'], { cwd: repo });
  assert.equal(result.code, 1);
  const run = JSON.parse(result.stdout);
  assert.deepEqual(
    run.steps.map((s: { status: string }) => s.status),
    ['failed', 'skipped', 'skipped', 'skipped', 'succeeded', 'succeeded'],
  );
  const logs = await runCli(['logs', 'air-quality@latest'], { cwd: repo });
  assert.match(logs.stdout, /has header 'estacion,fecha', expected 'station,date,pollutant,value,unit'/);
  assert.match(logs.stdout, /sequence air-quality failed at step 1 \(module extract_csv, exit code 1\)/);
});

test('the example reports its rows as metrics, and its expectation stops an empty extract before it loads anything', async (t) => {
  const repo = exampleRepo(t);
  assert.equal((await runCli(['run', 'air-quality'], { cwd: repo })).code, 0);
  const before = await measurements(repo);
  const metrics = JSON.parse((await runCli(['metrics', 'air-quality', '--json'], { cwd: repo })).stdout) as Array<{
    step: { name: string };
    metrics: Record<string, number>;
  }>;
  assert.deepEqual(
    metrics.map((p) => [p.step.name, p.metrics]),
    [
      ['extract_csv', { rows_read: 30 }],
      ['transform', { rows_read: 30, rows_kept: 25, rows_dropped: 5 }],
      ['load_sqlite', { rows_loaded: 25, table_rows: 25 }],
      // Beside the transform (both need only the extract): the raw rows, counted.
      ['profile', { stations: 5, pollutants: 8 }],
    ],
  );
  // The source has its header and no rows: extract exits 0, its expectation fails it.
  writeFileSync(join(repo, 'data/air_quality.csv'), 'station,date,pollutant,value,unit\n');
  const empty = await runCli(['run', 'air-quality', '--json'], { cwd: repo });
  assert.equal(empty.code, 1);
  const run = JSON.parse(empty.stdout);
  assert.equal(run.error, 'step 1 (extract_csv) failed: expect rows_read >= 1: got 0');
  assert.deepEqual(
    run.steps.map((s: { status: string }) => s.status),
    ['failed', 'skipped', 'skipped', 'skipped', 'succeeded', 'succeeded'],
  );
  assert.deepEqual(await measurements(repo), before, 'the database was not touched');
});

test('a mistake in the conf stops the example at transform, exit 78, the log saying where it is', async (t) => {
  const repo = exampleRepo(t);
  const conf = join(repo, 'conf/transform.json');
  writeFileSync(conf, readFileSync(conf, 'utf8').replace('"CO"', '"CO",'));
  const result = await runCli(['run', 'air-quality', '--json'], { cwd: repo });
  assert.equal(result.code, 1, result.stderr);
  const run = JSON.parse(result.stdout) as { steps: Array<{ name: string; status: string; exit_code: number | null }> };
  const step = (name: string) => run.steps.find((s) => s.name === name)!;
  assert.deepEqual(
    [step('transform'), step('load_sqlite')].map((s) => [s.status, s.exit_code]),
    [
      ['failed', 78],
      ['skipped', null],
    ],
  );
  const logs = await runCli(['logs', 'air-quality@latest', 'transform'], { cwd: repo });
  assert.match(logs.stdout, /^error: conf\/transform\.json:2:\d+: invalid JSON: /m);
});
