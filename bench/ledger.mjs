#!/usr/bin/env node
// Benchmark of the git ledger, each figure against a baseline measured in the same run:
//   1. committing one run when the ledger already holds 10,000 runs vs 100 runs;
//      target: at most 1.5 times (commit cost must not grow with history);
//   2. `etl changed` on a repository of 1,000 sequences (one module file edited), with
//      `git diff --name-only` on the same commits for scale;
//   3. with 100,000 runs committed (one commit each, as the runner makes them) vs 1,000:
//      `etl log --limit 20` under 0.5 s and `etl ledger sync` with nothing to do under 1 s,
//      each at most 2 times its cost at 1,000 runs; `etl run --commit`'s peak RSS no higher.
//
//   node bench/ledger.mjs [--rounds N] [--skip-100k]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { commitRunFolder } from '../dist/src/ledger/commit.js';
import { committedLedger, median, ms, peakRss, printTable, runOf } from './lib.mjs';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '7' }, 'skip-100k': { type: 'boolean', default: false } },
});
const ROUNDS = Number(values.rounds);
const work = mkdtempSync(join(tmpdir(), 'etl-bench-ledger-'));
const git = (cwd, ...args) => execFileSync('git', args, { cwd, encoding: 'utf8', maxBuffer: 1 << 28 }).trim();
const rows = [];

/** Writes a run folder as the runner would: run.json, a step record, a log. */
function writeRun(repo, sequence, at) {
  const { folder, run } = runOf(sequence, at);
  mkdirSync(join(repo, folder, 'steps'), { recursive: true });
  mkdirSync(join(repo, folder, 'logs'), { recursive: true });
  writeFileSync(join(repo, folder, 'run.json'), JSON.stringify(run, null, 2));
  writeFileSync(join(repo, folder, 'steps/01-extract.json'), JSON.stringify({ index: 1, status: 'succeeded' }));
  writeFileSync(join(repo, folder, 'logs/01-extract.log'), `extracted ${run.id}\n`);
  return { folder, run };
}

/** A repository whose history holds `count` runs (of 10 sequences, one per hour), committed. */
function ledgerRepo(count) {
  const repo = join(work, `ledger-${count}`);
  mkdirSync(repo, { recursive: true });
  git(repo, 'init', '--quiet', '--initial-branch=main');
  git(repo, 'config', 'user.name', 'bench');
  git(repo, 'config', 'user.email', 'bench@example.com');
  git(repo, 'config', 'gc.auto', '0');
  for (let i = 0; i < count; i++) writeRun(repo, `seq${i % 10}`, new Date(Date.UTC(2024, 0, 1) + i * 3_600_000));
  git(repo, 'add', '-A');
  git(repo, 'commit', '--quiet', '-m', `${count} runs`);
  return repo;
}

try {
  const times = {};
  for (const count of [100, 10_000]) {
    const repo = ledgerRepo(count);
    const samples = [];
    for (let i = 0; i < ROUNDS + 1; i++) {
      const { folder, run } = writeRun(repo, 'seq0', new Date(Date.UTC(2026, 0, 1) + i * 60_000));
      const start = process.hrtime.bigint();
      await commitRunFolder(repo, folder, run);
      if (i > 0) samples.push(Number(process.hrtime.bigint() - start) / 1e6); // the first warms the caches
    }
    times[count] = median(samples);
  }
  const ratio = times[10_000] / times[100];
  rows.push([
    'commit one run, 10,000 runs in the ledger',
    `${times[10_000].toFixed(0)} ms`,
    `100 runs: ${times[100].toFixed(0)} ms`,
    `${ratio.toFixed(2)}x`,
    '≤ 1.5x',
    ratio <= 1.5,
  ]);

  // etl changed on 1,000 sequences.
  const repo = join(work, 'many');
  mkdirSync(join(repo, 'etl_sequences'), { recursive: true });
  mkdirSync(join(repo, 'modules'), { recursive: true });
  const modules = {};
  for (let m = 0; m < 50; m++) {
    writeFileSync(join(repo, `modules/m${m}.py`), `print(${m})\n`);
    modules[`m${m}`] = { cmd: `python3 modules/m${m}.py`, timeout: '5m' };
  }
  writeFileSync(join(repo, 'modules.json'), JSON.stringify(modules, null, 2));
  for (let s = 0; s < 1000; s++) {
    writeFileSync(
      join(repo, `etl_sequences/s${s}.json`),
      JSON.stringify(
        {
          steps: Array.from({ length: 10 }, (_, i) => ({
            module_name: `m${(s + i) % 50}`,
            input: `/data/${s}/${i}.csv`,
          })),
        },
        null,
        2,
      ),
    );
  }
  git(repo, 'init', '--quiet', '--initial-branch=main');
  git(repo, 'config', 'user.name', 'bench');
  git(repo, 'config', 'user.email', 'bench@example.com');
  git(repo, 'add', '-A');
  git(repo, 'commit', '--quiet', '-m', 'definitions');
  const base = git(repo, 'rev-parse', 'HEAD');
  writeFileSync(join(repo, 'modules/m7.py'), 'print("seven")\n');
  git(repo, 'commit', '--quiet', '-am', 'edit m7');
  const bin = new URL('../dist/src/cli/main.js', import.meta.url).pathname;
  const changedSamples = [];
  const diffSamples = [];
  let count = 0;
  for (let i = 0; i < ROUNDS; i++) {
    let start = process.hrtime.bigint();
    count = JSON.parse(
      execFileSync(process.execPath, [bin, 'changed', '--base', base, '--json'], { cwd: repo, encoding: 'utf8' }),
    ).length;
    changedSamples.push(Number(process.hrtime.bigint() - start) / 1e6);
    start = process.hrtime.bigint();
    git(repo, 'diff', '--name-only', base, 'HEAD');
    diffSamples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  rows.push([
    `etl changed, 1,000 sequences (${count} affected)`,
    `${median(changedSamples).toFixed(0)} ms`,
    `git diff --name-only: ${median(diffSamples).toFixed(0)} ms`,
    `${(median(changedSamples) / median(diffSamples)).toFixed(1)}x`,
    '',
    true,
  ]);

  if (!values['skip-100k']) await largeLedger(bin);

  printTable(
    `etl-ledger ledger benchmark: ${ROUNDS} rounds, medians; node ${process.version}, ${git(work, '--version')}`,
    rows,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** Row 3: reading and syncing a ledger of 100,000 committed runs, against one of 1,000. */
async function largeLedger(bin) {
  const etl = (repo, ...args) => execFileSync(process.execPath, [bin, ...args], { cwd: repo, stdio: 'ignore' });
  const timed = (repo, ...args) => {
    const start = process.hrtime.bigint();
    etl(repo, ...args);
    return ms(start);
  };
  const result = {};
  for (const count of [1_000, 100_000]) {
    const repo = await committedLedger(join(work, `committed-${count}`), count);
    // The first sync in a working tree looks at every file under runs/, once.
    result[`scan${count}`] = timed(repo, 'ledger', 'sync');
    const log = [];
    const sync = [];
    for (let i = 0; i < ROUNDS; i++) {
      log.push(timed(repo, 'log', '--limit', '20'));
      sync.push(timed(repo, 'ledger', 'sync'));
    }
    result[`log${count}`] = median(log);
    result[`sync${count}`] = median(sync);
    const rss = [];
    for (let i = 0; i < 3; i++) rss.push(await peakRss(process.execPath, [bin, 'run', 's', '--commit'], repo));
    result[`rss${count}`] = median(rss) / 1024;
  }
  const row = (what, key, limitMs) => {
    const ratio = result[`${key}100000`] / result[`${key}1000`];
    rows.push([
      what,
      `${result[`${key}100000`].toFixed(0)} ms`,
      `1,000 runs: ${result[`${key}1000`].toFixed(0)} ms`,
      `${ratio.toFixed(2)}x`,
      `< ${limitMs} ms, ≤ 2x`,
      result[`${key}100000`] < limitMs && ratio <= 2,
    ]);
  };
  row('etl log --limit 20, 100,000 runs', 'log', 500);
  row('etl ledger sync, nothing to do, 100,000 runs', 'sync', 1000);
  rows.push([
    'etl ledger sync, first in a working tree (looks at every file), 100,000 runs',
    `${result.scan100000.toFixed(0)} ms`,
    `1,000 runs: ${result.scan1000.toFixed(0)} ms`,
    `${(result.scan100000 / result.scan1000).toFixed(1)}x`,
    'once per working tree',
    true,
  ]);
  const rssRatio = result.rss100000 / result.rss1000;
  rows.push([
    'etl run --commit, runner peak RSS, 100,000 runs',
    `${result.rss100000.toFixed(0)} MB`,
    `1,000 runs: ${result.rss1000.toFixed(0)} MB`,
    `${rssRatio.toFixed(2)}x`,
    '≤ 1,000 runs (+5% noise)',
    rssRatio <= 1.05,
  ]);
}
