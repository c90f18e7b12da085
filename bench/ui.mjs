#!/usr/bin/env node
// Benchmark of the `etl ui` API with 100,000 runs committed in the ledger (10 sequences),
// against listing 100 runs (`/api/runs?limit=100`) measured in the same run:
//   - the overview's data (`/api/sequences`): under 100 ms;
//   - one run (`/api/runs/ID`, the run page's data): under 50 ms.
//
//   node bench/ui.mjs [--rounds N] [--runs N]
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { validate } from '../dist/src/definitions/validate.js';
import { startUiServer } from '../dist/src/ui/server.js';
import { committedLedger, median, ms, printTable } from './lib.mjs';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '15' }, runs: { type: 'string', default: '100000' } },
});
const ROUNDS = Number(values.rounds);
const COUNT = Number(values.runs);
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

try {
  const repo = await committedLedger(join(work, 'ledger'), COUNT);
  const { server, url } = await startUiServer({
    repo,
    view: repo,
    port: 0,
    now: () => new Date(),
    definitions: async () => (await validate({ repo })).definitions,
  });
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
  printTable(
    `etl-ledger ui benchmark: ${COUNT.toLocaleString('en')} runs, ${ROUNDS} rounds, medians; node ${process.version}`,
    [row('overview data (/api/sequences)', 'overview', 100), row('one run, an old one (/api/runs/ID)', 'run', 50)],
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
