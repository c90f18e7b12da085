// etl schedule --metrics: a real daemon (its clock 60 times fast, so "* * * * *" fires every
// second) serves the ledger's metrics and its own, over loopback, until it stops.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseMetrics, type Sample, sampleValue, scrape } from '../helpers/prometheus.js';
import { pipelineRepo, runCli, startCli } from '../helpers/repo.js';

const FAST = { ETL_TEST_CLOCK: '2026-12-01T10:00:30Z,60' };

function repository(t: Parameters<typeof pipelineRepo>[0]): string {
  return pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' }, slow: { cmd: './modules/slow.sh' } },
    sequences: {
      tick: { schedule: '* * * * *', steps: [{ module_name: 'ok' }] },
      slow: { schedule: '* * * * *', steps: [{ module_name: 'slow' }] },
    },
    // slow runs until the test creates the file `release`: its ticks meanwhile are skipped.
    files: { 'modules/slow.sh': { content: '#!/bin/sh\nwhile [ ! -f release ]; do sleep 0.05; done\n', mode: 0o755 } },
  });
}

async function until(url: string, holds: (samples: Sample[]) => boolean, what: string): Promise<Sample[]> {
  for (const deadline = Date.now() + 30_000; ; ) {
    const samples = parseMetrics((await scrape(url)).text);
    if (holds(samples)) return samples;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const ticks = (samples: Sample[], sequence: string, outcome: string) =>
  sampleValue(samples, 'etl_schedule_ticks_total', { sequence, outcome }) ?? 0;

test('etl schedule --metrics serves ticks run, skipped and not started, runs, running runs and its up time, and closes when it stops', {
  timeout: 120_000,
}, async (t) => {
  const repo = repository(t);
  const daemon = startCli(['schedule', '--metrics', '127.0.0.1:0', '--grace', '5m'], {
    cwd: repo,
    env: { ...process.env, ...FAST },
  });
  t.after(() => daemon.child.kill('SIGKILL'));
  const url = /metrics for Prometheus at (http:\/\/127\.0\.0\.1:\d+\/metrics)$/.exec(
    await daemon.line(/etl schedule: .*metrics for Prometheus at /),
  )![1]!;
  const status = JSON.parse((await runCli(['status', '--json'], { cwd: repo })).stdout);
  assert.equal(status.options.metrics, url);
  assert.match((await runCli(['status'], { cwd: repo })).stdout, new RegExp(`metrics for Prometheus at ${url}\\n`));

  const running = await until(
    url,
    (s) => ticks(s, 'tick', 'run') >= 2 && ticks(s, 'slow', 'skipped') >= 1,
    'two ticks of tick run and one of slow skipped',
  );
  assert.equal(ticks(running, 'tick', 'not_started'), 0, 'every outcome has its series from 0');
  assert.ok((sampleValue(running, 'etl_runs_total', { sequence: 'tick', status: 'succeeded' }) ?? 0) >= 1);
  assert.equal(sampleValue(running, 'etl_runs_running', { sequence: 'slow' }), 1);
  assert.ok(sampleValue(running, 'etl_schedule_uptime_seconds')! > 0);
  assert.equal(sampleValue(running, 'etl_sequence_schedule_interval_seconds', { sequence: 'tick' }), 60);

  // An edit that does not validate: its ticks still come, and their runs refuse to start.
  writeFileSync(
    join(repo, 'etl_sequences/tick.json'),
    JSON.stringify({ schedule: '* * * * *', timezone: 'Mars/Olympus', steps: [{ module_name: 'ok' }] }),
  );
  await until(url, (s) => ticks(s, 'tick', 'not_started') >= 1, 'a tick of tick not started');

  daemon.child.kill('SIGTERM');
  await daemon.line(/ stop /);
  writeFileSync(join(repo, 'release'), '');
  const ended = await daemon.done;
  assert.equal(ended.code, 0, ended.stderr);
  await assert.rejects(scrape(url), { code: 'ECONNREFUSED' }, 'the endpoint closes with the daemon');
});

test('a --metrics that is not an address, or a port in use, stops etl schedule before it schedules anything (exit 2)', async (t) => {
  const repo = repository(t);
  const bad = await runCli(['schedule', '--metrics', 'localhost'], { cwd: repo });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--metrics takes PORT or HOST:PORT \(9464, .*\), got "localhost"/);

  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.after(() => taken.close());
  const port = (taken.address() as { port: number }).port;
  const busy = await runCli(['schedule', '--metrics', String(port)], { cwd: repo, env: { ...process.env, ...FAST } });
  assert.equal(busy.code, 2);
  assert.match(busy.stderr, new RegExp(`--metrics: port ${port} is in use on 127\\.0\\.0\\.1: choose another`));
  assert.doesNotMatch(busy.stderr, /\n\s+at /, 'no stack trace');
  // Its lock was given back: the next daemon may start.
  const after = JSON.parse((await runCli(['status', '--json'], { cwd: repo })).stdout);
  assert.equal(after.alive, false);
});
