#!/usr/bin/env node
// Benchmark of the `etl ui` API with 100,000 runs committed in the ledger (200 sequences, each
// defined with a schedule), against listing 100 runs (`/api/runs?limit=100`) measured in the
// same run:
//   - the overview's data (`/api/sequences`): under 100 ms;
//   - one run (`/api/runs/ID`, the run page's data): under 50 ms;
//   - the server's memory while a page follows a step's log as it grows (read by byte offset,
//     as the run page does): flat, its peak while following a 400 MB log against its peak
//     while following a 100 MB one just before (after a first one that warms it up).
//
//   node bench/ui.mjs [--rounds N] [--runs N] [--sequences N]
import { request } from 'node:http';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cachedDefinitions } from '../dist/src/ui/cached-definitions.js';
import { startUiServer } from '../dist/src/ui/server.js';
import { committedLedger, median, ms, printTable } from './lib.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '15' },
    runs: { type: 'string', default: '100000' },
    sequences: { type: 'string', default: '200' },
  },
});
const SEQUENCES = Number(values.sequences);
const ROUNDS = Number(values.rounds);
const COUNT = Number(values.runs);
const bin = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'etl-bench-ui-'));

const get = (url, path) =>
  new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url);
    const req = request({ hostname, port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk) => (body += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${path}: ${res.statusCode}`))));
    });
    req.on('error', reject).end();
  });

/** A process's resident memory now, in MB (Linux). */
const rssOf = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

/**
 * One `etl ui` in a process of its own, and runs whose step prints 100 MB and then 400 MB
 * over a few seconds (all kept: --log-limit above it), each followed as the run page does:
 * the log read from the last offset every 20 ms until the step ends. The server's RSS is
 * sampled after every read; its peak while following each run is returned.
 */
async function followLogs() {
  const repo = join(work, 'loud');
  mkdirSync(join(repo, 'etl_sequences'), { recursive: true });
  writeFileSync(join(repo, 'modules.json'), '{"loud": {"cmd": "./loud.sh"}}');
  writeFileSync(join(repo, 'etl_sequences/loud.json'), '[{"module_name": "loud"}]');
  // A megabyte at a time (as many as $MEGABYTES), in lines of 100 characters.
  const script = `#!/bin/sh\nfor i in $(seq "$MEGABYTES"); do head -c 1000000 /dev/zero | tr '\\0' x | fold -w 99; sleep 0.01; done\n`;
  writeFileSync(join(repo, 'loud.sh'), script, { mode: 0o755 });
  const ui = spawn(process.execPath, [bin, 'ui', '--port', '0'], { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const url = await new Promise((resolve) =>
      ui.stdout.on('data', (chunk) => {
        const found = /(http:\/\/\S+)/.exec(String(chunk));
        if (found) resolve(found[1]);
      }),
    );
    await get(url, '/api/runs?limit=1');
    const before = Math.round(rssOf(ui.pid));
    const follow = async (megabytes) => {
      const args = [bin, 'run', 'loud', '--log-limit', String(4 * megabytes * 1_000_000)];
      const env = { ...process.env, MEGABYTES: String(megabytes) };
      const runner = spawn(process.execPath, args, { cwd: repo, env, stdio: 'ignore' });
      let done = false;
      const ended = new Promise((resolve) => runner.on('exit', resolve)).then(() => (done = true));
      let id;
      while (!id && !done) {
        const [newest] = JSON.parse(await get(url, '/api/runs?limit=1')).runs;
        if (newest?.status === 'running') id = newest.id;
        await new Promise((r) => setTimeout(r, 20));
      }
      let offset = 0;
      let reads = 0;
      let peak = 0;
      for (let last = false; !last; ) {
        last = done;
        const response = await fetch(`${url}api/runs/${id}/steps/1/log?from=${offset}`);
        for await (const chunk of response.body) offset += chunk.length;
        reads++;
        peak = Math.max(peak, rssOf(ui.pid));
        await new Promise((r) => setTimeout(r, 20));
      }
      await ended;
      return { peak: Math.round(peak), reads };
    };
    // The first follow grows the server's heap to its working size: not measured.
    await follow(100);
    const small = await follow(100);
    const large = await follow(400);
    return { before, small, large };
  } finally {
    ui.kill('SIGTERM');
  }
}

try {
  const repo = await committedLedger(join(work, 'ledger'), COUNT, SEQUENCES);
  const serve = (at) =>
    startUiServer({
      repo: at,
      view: at,
      port: 0,
      now: () => new Date(),
      definitions: cachedDefinitions(at, process.env),
    });
  const { server, url } = await serve(repo);
  const oldest = JSON.parse(await get(url, '/api/runs?sequence=seq3&since=2024-01-01&until=2024-01-02&limit=1'));
  const id = oldest.runs[0]?.id ?? JSON.parse(await get(url, '/api/runs?limit=1')).runs[0].id;
  const samples = { list: [], overview: [], run: [] };
  const timed = async (key, path) => {
    const start = process.hrtime.bigint();
    await get(url, path);
    samples[key].push(ms(start));
  };
  for (let i = 0; i < ROUNDS + 1; i++) {
    await timed('list', '/api/runs?limit=100');
    await timed('overview', '/api/sequences');
    await timed('run', `/api/runs/${id}`);
  }
  server.close();
  for (const key of Object.keys(samples)) samples[key].shift(); // the first warms the caches
  const base = median(samples.list);
  const row = (what, key, limit) => [
    what,
    `${median(samples[key]).toFixed(1)} ms`,
    `100 runs listed: ${base.toFixed(1)} ms`,
    `${(median(samples[key]) / base).toFixed(2)}x`,
    `< ${limit} ms`,
    median(samples[key]) < limit,
  ];
  const { before, small, large } = await followLogs();
  printTable(
    `etl-ledger ui benchmark: ${COUNT.toLocaleString('en')} runs of ${SEQUENCES} sequences, ${ROUNDS} rounds, medians; node ${process.version}`,
    [
      row('overview data (/api/sequences)', 'overview', 100),
      row('one run, an old one (/api/runs/ID)', 'run', 50),
      [
        `server peak RSS following a 400 MB log (${large.reads} reads; idle: ${before} MB)`,
        `${large.peak} MB`,
        `following a 100 MB log: ${small.peak} MB`,
        `${(large.peak / small.peak).toFixed(2)}x`,
        '<= 1.15x',
        large.peak / small.peak <= 1.15,
      ],
    ],
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
