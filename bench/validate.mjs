#!/usr/bin/env node
// Benchmark: `etl validate`, cold, on a repository of 200 sequences x 10 steps, against the
// cost of starting Node itself (`node -e 0`), measured alternately in the same run:
//   - all sequences JSON: at most 2.4 times `node -e 0`;
//   - half of them YAML: at most 3 times.
//
//   npm run bench            (or: node bench/validate.mjs [--rounds N])
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '15' } } });
const ROUNDS = Number(values.rounds);
const SEQUENCES = 200;
const STEPS = 10;
const MODULES = 10;
const bin = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'etl-bench-'));

/** A repository of SEQUENCES sequences; with yaml, every other one is a YAML file. */
function makeRepo(name, yaml) {
  const repo = join(work, name);
  mkdirSync(join(repo, 'etl_sequences'), { recursive: true });
  mkdirSync(join(repo, 'modules'));
  mkdirSync(join(repo, 'conf'));
  const modules = {};
  for (let m = 0; m < MODULES; m++) {
    const script = `modules/step_${m}.sh`;
    writeFileSync(join(repo, script), '#!/bin/sh\nexit 0\n');
    chmodSync(join(repo, script), 0o755);
    writeFileSync(join(repo, `conf/step_${m}.json`), '{}\n');
    modules[`step_${m}`] = { cmd: `./${script}`, description: `module ${m}`, timeout: '5m', retries: 1 };
  }
  writeFileSync(join(repo, 'modules.json'), JSON.stringify(modules, null, 2));
  for (let s = 0; s < SEQUENCES; s++) {
    const steps = Array.from({ length: STEPS }, (_, i) => ({
      module_name: `step_${i % MODULES}`,
      input: i === 0 ? `data/source_${s}.csv` : `/var/etl/seq_${s}/step_${i - 1}.csv`,
      output: `/var/etl/seq_${s}/step_${i}.csv`,
      conf: `conf/step_${i % MODULES}.json`,
    }));
    const sequence = {
      description: `sequence ${s}`,
      schedule: `${s % 60} ${s % 24} * * *`,
      timezone: 'Europe/Madrid',
      timeout: '1h',
      steps,
    };
    if (yaml && s % 2 === 1) {
      const text = `description: sequence ${s}\nschedule: "${sequence.schedule}"\ntimezone: Europe/Madrid\ntimeout: 1h\nsteps:\n${steps
        .map(
          (st) =>
            `  - module_name: ${st.module_name}\n    input: ${st.input}\n    output: ${st.output}\n    conf: ${st.conf}\n`,
        )
        .join('')}`;
      writeFileSync(join(repo, `etl_sequences/seq_${s}.yaml`), text);
    } else {
      writeFileSync(join(repo, `etl_sequences/seq_${s}.json`), JSON.stringify(sequence, null, 2));
    }
  }
  const check = spawnSync(process.execPath, [bin, 'validate', '--repo', repo], { encoding: 'utf8' });
  if (check.status !== 0)
    throw new Error(`the benchmark repository does not validate:\n${check.stdout}${check.stderr}`);
  return repo;
}

const time = (args) => {
  const start = process.hrtime.bigint();
  execFileSync(process.execPath, args, { stdio: 'ignore' });
  return Number(process.hrtime.bigint() - start) / 1e6;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  const cases = [
    { what: `etl validate, ${SEQUENCES} sequences x ${STEPS} steps, JSON`, repo: makeRepo('json', false), target: 2.4 },
    { what: `etl validate, ${SEQUENCES} x ${STEPS}, half of them YAML`, repo: makeRepo('yaml', true), target: 3 },
  ];
  const baseline = [];
  for (const c of cases) c.samples = [];
  time(['-e', '0']); // warm the file cache for every command
  for (const c of cases) time([bin, 'validate', '--repo', c.repo]);
  // Rounds interleave every command, so that a noisy moment hits them all alike.
  for (let i = 0; i < ROUNDS; i++) {
    baseline.push(time(['-e', '0']));
    for (const c of cases) c.samples.push(time([bin, 'validate', '--repo', c.repo]));
  }
  const base = median(baseline);
  console.log(`etl-ledger validate benchmark: ${ROUNDS} rounds, medians; node ${process.version}\n`);
  console.log('| measurement | etl | baseline | ratio | target | met |');
  console.log('|---|---:|---:|---:|---:|---|');
  let met = true;
  for (const c of cases) {
    const ratio = median(c.samples) / base;
    met &&= ratio <= c.target;
    console.log(
      `| ${c.what} | ${median(c.samples).toFixed(0)} ms | node -e 0 ${base.toFixed(0)} ms | ${ratio.toFixed(2)}x | ≤ ${c.target}x | ${ratio <= c.target ? 'yes' : 'NO'} |`,
    );
  }
  process.exitCode = met ? 0 : 1;
} finally {
  if (!process.env.BENCH_KEEP) rmSync(work, { recursive: true, force: true });
  else console.log(work);
}
