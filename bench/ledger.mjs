#!/usr/bin/env node
// Benchmark of the git ledger, each figure against a baseline measured in the same run:
//   1. committing one run when the ledger already holds 10,000 runs vs 100 runs;
//      target: at most 1.5 times (commit cost must not grow with history);
//   2. `etl changed` on a repository of 1,000 sequences (one module file edited), with
//      `git diff --name-only` on the same commits for scale.
//
//   node bench/ledger.mjs [--rounds N]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { commitRunFolder } from '../dist/src/ledger/commit.js';
import { newRunId, runFolder } from '../dist/src/ledger/layout.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' } } });
const ROUNDS = Number(values.rounds);
const work = mkdtempSync(join(tmpdir(), 'etl-bench-ledger-'));
const git = (cwd, ...args) => execFileSync('git', args, { cwd, encoding: 'utf8', maxBuffer: 1 << 28 }).trim();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];

function runRecord(sequence, id) {
  return {
    schema_version: 1,
    id,
    sequence,
    status: 'succeeded',
    trigger: { kind: 'schedule', actor: null, ci: null },
    definitions: { commit: null, dirty: false, files: {} },
    selection: null,
    host: 'bench',
    pid: 1,
    runner_version: 'bench',
    started_at: new Date().toISOString(),
    finished_at: new Date().toISOString(),
    duration_ms: 1000,
    failed_step: null,
    error: null,
    steps: [
      {
        index: 1,
        role: 'step',
        name: 'extract',
        module: 'extract',
        status: 'succeeded',
        duration_ms: 1000,
        exit_code: 0,
        attempts: 1,
        record: 'steps/01-extract.json',
      },
    ],
  };
}

/** Writes a run folder as the runner would: run.json, a step record, a log. */
function writeRun(repo, sequence, at) {
  const id = newRunId(at);
  const folder = runFolder(sequence, id);
  mkdirSync(join(repo, folder, 'steps'), { recursive: true });
  mkdirSync(join(repo, folder, 'logs'), { recursive: true });
  const run = runRecord(sequence, id);
  writeFileSync(join(repo, folder, 'run.json'), JSON.stringify(run, null, 2));
  writeFileSync(join(repo, folder, 'steps/01-extract.json'), JSON.stringify({ index: 1, status: 'succeeded' }));
  writeFileSync(join(repo, folder, 'logs/01-extract.log'), `extracted ${id}\n`);
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

  console.log(
    `etl-ledger ledger benchmark: ${ROUNDS} rounds, medians; node ${process.version}, ${git(work, '--version')}\n`,
  );
  console.log('| measurement | etl | baseline | ratio | target | met |');
  console.log('|---|---:|---:|---:|---:|---|');
  for (const [what, value, base, ratio, target, met] of rows)
    console.log(`| ${what} | ${value} | ${base} | ${ratio} | ${target} | ${met ? 'yes' : 'NO'} |`);
  process.exitCode = rows.every((r) => r[5]) ? 0 : 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
