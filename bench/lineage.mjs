#!/usr/bin/env node
// Benchmark of lineage (the hashes each step records of its input, config and output), each
// figure against a baseline measured in the same run:
//   1. hashing a 1 GiB file as a step's input: etl's streamed sha256 against `sha256sum` on
//      the same file (warm in the page cache); target: at least 80 % of its throughput, with
//      the hashing process's peak RSS under 100 MB (the file never sits in memory);
//   2. per-step overhead: 500 steps of `true`, each given a local input, config and output,
//      with lineage on (the default) and off (--no-lineage), against a bash loop of the same
//      500 /bin/true; target: both within the runner's per-step target of 2.0x the loop.
//
//   node bench/lineage.mjs [--rounds N] [--size-mib N]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median, peakRss, printTable, time } from './lib.mjs';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '5' }, 'size-mib': { type: 'string', default: '1024' } },
});
const ROUNDS = Number(values.rounds);
const SIZE_MIB = Number(values['size-mib']);
const bin = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
const lineage = new URL('../dist/src/runner/lineage.js', import.meta.url).href;
const work = mkdtempSync(join(tmpdir(), 'etl-bench-lineage-'));
const rows = [];

try {
  // 1. A 1 GiB file of varied bytes (a file of zeros could be special-cased by a filesystem).
  const big = join(work, 'big.bin');
  const chunk = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 2654435761) >>> 24;
  execFileSync('sh', ['-c', `: > "${big}"`]);
  for (let i = 0; i < SIZE_MIB; i++) writeFileSync(big, chunk, { flag: 'a' });
  const hashScript = `import(${JSON.stringify(lineage)}).then(async (m) => { const sum = await m.hashFile(${JSON.stringify(big)}); process.stdout.write(sum); })`;
  const expected = execFileSync('sha256sum', [big], { encoding: 'utf8' }).split(' ')[0];
  const got = execFileSync(process.execPath, ['-e', hashScript], { encoding: 'utf8' });
  if (got !== expected) throw new Error(`etl's hash ${got} differs from sha256sum's ${expected}`);
  const sums = [];
  const etl = [];
  const node0 = [];
  for (let i = 0; i < ROUNDS; i++) {
    sums.push(time(() => execFileSync('sha256sum', [big], { stdio: 'ignore' })));
    etl.push(time(() => execFileSync(process.execPath, ['-e', hashScript], { stdio: 'ignore' })));
    node0.push(time(() => execFileSync(process.execPath, ['-e', '0'], { stdio: 'ignore' })));
  }
  // Node's own start is not hashing: taken out, as sha256sum's (a few ms) is left in.
  const hashing = median(etl) - median(node0);
  const share = median(sums) / hashing;
  const mib = (took) => `${(SIZE_MIB / (took / 1000)).toFixed(0)} MiB/s`;
  rows.push([
    `sha256 of a ${SIZE_MIB} MiB file (streamed, 1 MiB reads), throughput`,
    mib(hashing),
    `sha256sum ${mib(median(sums))}`,
    `${(share * 100).toFixed(0)} %`,
    '≥ 80 %',
    share >= 0.8,
  ]);
  const peak = await peakRss(process.execPath, ['-e', hashScript], work);
  rows.push([
    `peak RSS of the process hashing ${SIZE_MIB} MiB`,
    `${(peak / 1024).toFixed(0)} MB`,
    `file ${SIZE_MIB} MiB`,
    `${(peak / 1024 / SIZE_MIB).toFixed(3)}x`,
    '≤ 100 MB',
    peak / 1024 <= 100,
  ]);
  rmSync(big);

  // 2. 500 steps, each with a local input, config and output.
  const steps = 500;
  const repo = join(work, 'repo');
  mkdirSync(join(repo, 'etl_sequences'), { recursive: true });
  mkdirSync(join(repo, 'data'));
  writeFileSync(join(repo, 'modules.json'), JSON.stringify({ t: { cmd: 'true' } }));
  for (let i = 0; i < steps; i++) writeFileSync(join(repo, `data/${i}.csv`), `id,value\n${i},${i * 2}\n`);
  writeFileSync(join(repo, 'data/conf.json'), '{"keep": "all"}\n');
  writeFileSync(
    join(repo, 'etl_sequences/s.json'),
    JSON.stringify(
      Array.from({ length: steps }, (_, i) => ({
        module_name: 't',
        input: `data/${i}.csv`,
        output: `data/${i + 1}.csv`,
        conf: 'data/conf.json',
      })),
    ),
  );
  const bash = [];
  const on = [];
  const off = [];
  for (let i = 0; i < ROUNDS; i++) {
    bash.push(time(() => execFileSync('bash', ['-c', `for i in $(seq ${steps}); do /bin/true; done`])));
    on.push(time(() => execFileSync(process.execPath, [bin, 'run', 's'], { cwd: repo, stdio: 'ignore' })));
    off.push(
      time(() => execFileSync(process.execPath, [bin, 'run', 's', '--no-lineage'], { cwd: repo, stdio: 'ignore' })),
    );
  }
  const vsBash = (label, xs) => {
    const ratio = median(xs) / median(bash);
    rows.push([
      label,
      `${median(xs).toFixed(0)} ms`,
      `bash loop ${median(bash).toFixed(0)} ms`,
      `${ratio.toFixed(2)}x`,
      '≤ 2.0x',
      ratio <= 2.0,
    ]);
  };
  vsBash(`${steps} steps with input, config and output: etl run, lineage on`, on);
  vsBash(`${steps} steps: etl run --no-lineage`, off);
  const perStep = (median(on) - median(off)) / steps;
  rows.push([
    'lineage per step (on minus off)',
    `${perStep.toFixed(2)} ms`,
    `a step of the loop ${(median(bash) / steps).toFixed(2)} ms`,
    `${(perStep / (median(bash) / steps)).toFixed(2)}x`,
    '',
    true,
  ]);
  printTable('etl-ledger lineage benchmark', rows);
} finally {
  rmSync(work, { recursive: true, force: true });
}
