// etl ui's /metrics over loopback, on a ledger made by real runs: what Prometheus reads.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { RunRecord } from '../../src/runner/records.js';
import { parseMetrics, scrape, sampleValue } from '../helpers/prometheus.js';
import { pipelineRepo, runCli } from '../helpers/repo.js';
import { writeRunRecords } from '../helpers/runs.js';
import { uiServerOn } from '../helpers/ui-server.js';

const COUNTS = '#!/bin/sh\necho "rows_read=25" >> "$ETL_METRICS"\necho "source=the city" >> "$ETL_METRICS"\n';

function ledger(t: TestContext): string {
  const repo = pipelineRepo(t, {
    modules: {
      ok: { cmd: './modules/ok.sh' },
      fail: { cmd: './modules/fail.sh 4' },
      counts: { cmd: './modules/counts.sh' },
    },
    sequences: {
      good: {
        schedule: '0 3 * * *',
        freshness: '26h',
        steps: [{ module_name: 'counts', name: 'extract' }, { module_name: 'ok' }],
      },
      bad: [{ module_name: 'ok' }, { module_name: 'fail' }],
      old: { freshness: '26h', steps: [{ module_name: 'ok' }] },
    },
    files: { 'modules/counts.sh': { content: COUNTS, mode: 0o755 } },
  });
  // old's last success ended on 2025-01-01 (records as the runner lays them out): long stale.
  writeRunRecords(repo, 'old', 3);
  return repo;
}

async function serve(t: TestContext, repo: string): Promise<string> {
  const url = await uiServerOn(t, repo);
  return `${url}metrics`;
}

async function run(repo: string, sequence: string, code: number): Promise<void> {
  const result = await runCli(['run', sequence], { cwd: repo });
  assert.equal(result.code, code, result.stderr);
}

test('etl ui serves the ledger at /metrics: runs by status, step durations, last success, step metrics, freshness', async (t) => {
  const repo = ledger(t);
  await run(repo, 'good', 0); // before the server: not one of the runs it counts
  const url = await serve(t, repo);
  await run(repo, 'good', 0);
  await run(repo, 'bad', 1);

  const first = await scrape(url);
  assert.equal(first.status, 200);
  assert.equal(first.type, 'text/plain; version=0.0.4; charset=utf-8');
  const samples = parseMetrics(first.text);
  // Counted from the server's start; every status has its series from 0.
  assert.equal(sampleValue(samples, 'etl_runs_total', { sequence: 'good', status: 'succeeded' }), 1);
  assert.equal(sampleValue(samples, 'etl_runs_total', { sequence: 'bad', status: 'failed' }), 1);
  assert.equal(sampleValue(samples, 'etl_runs_total', { sequence: 'bad', status: 'succeeded' }), 0);
  assert.equal(sampleValue(samples, 'etl_runs_total', { sequence: 'old', status: 'failed' }), 0);
  assert.equal(sampleValue(samples, 'etl_runs_running', { sequence: 'good' }), 0);
  const extract = { sequence: 'good', role: 'step', step: 'extract' };
  assert.equal(sampleValue(samples, 'etl_step_duration_seconds_count', extract), 1);
  assert.equal(sampleValue(samples, 'etl_step_duration_seconds_bucket', { ...extract, le: '+Inf' }), 1);
  assert.equal(
    sampleValue(samples, 'etl_step_duration_seconds_count', { sequence: 'bad', role: 'step', step: 'fail' }),
    1,
  );
  // Numbers only: "source=the city" is text.
  assert.equal(sampleValue(samples, 'etl_step_metric', { ...extract, key: 'rows_read' }), 25);
  assert.equal(sampleValue(samples, 'etl_step_metric', { ...extract, key: 'source' }), undefined);

  const [latest] = JSON.parse((await runCli(['history', 'good', '--json', '--limit', '1'], { cwd: repo })).stdout) as [
    RunRecord,
  ];
  assert.equal(
    sampleValue(samples, 'etl_sequence_last_success_timestamp_seconds', { sequence: 'good' }),
    Date.parse(latest.finished_at!) / 1000,
  );
  assert.equal(sampleValue(samples, 'etl_sequence_last_success_timestamp_seconds', { sequence: 'bad' }), undefined);
  assert.equal(sampleValue(samples, 'etl_sequence_schedule_interval_seconds', { sequence: 'good' }), 86_400);
  assert.equal(sampleValue(samples, 'etl_sequence_freshness_seconds', { sequence: 'good' }), 26 * 3600);
  assert.equal(sampleValue(samples, 'etl_sequence_stale', { sequence: 'good' }), 0);
  assert.equal(sampleValue(samples, 'etl_sequence_stale', { sequence: 'old' }), 1);
  assert.equal(sampleValue(samples, 'etl_sequence_stale', { sequence: 'bad' }), undefined, 'bad sets no freshness');

  // Bounded labels: names, statuses and keys; never a run id or a tick.
  const labels = new Set(samples.flatMap((s) => Object.keys(s.labels)));
  assert.deepEqual([...labels].sort(), ['key', 'le', 'role', 'sequence', 'status', 'step']);
  for (const sample of samples)
    for (const value of Object.values(sample.labels)) assert.doesNotMatch(value, /\d{8}T\d{9}Z/);

  // Each run is counted once: a scrape counts only what ended since the one before.
  await run(repo, 'good', 0);
  const second = parseMetrics((await scrape(url)).text);
  assert.equal(sampleValue(second, 'etl_runs_total', { sequence: 'good', status: 'succeeded' }), 2);
  assert.equal(sampleValue(second, 'etl_runs_total', { sequence: 'bad', status: 'failed' }), 1);
  assert.equal(sampleValue(second, 'etl_step_duration_seconds_count', extract), 2);
  const third = parseMetrics((await scrape(url)).text);
  assert.equal(sampleValue(third, 'etl_runs_total', { sequence: 'good', status: 'succeeded' }), 2);
});

test('/metrics answers only requests addressed to the server itself, like the rest of etl ui', async (t) => {
  const repo = ledger(t);
  const url = await serve(t, repo);
  const refused = await scrape(url, 'metrics.attacker.example');
  assert.equal(refused.status, 421);
  assert.doesNotMatch(refused.text, /etl_/);
  assert.equal((await scrape(url, `localhost:${new URL(url).port}`)).status, 200);
});
