#!/usr/bin/env node
// Benchmark: `etl validate` on a repository of 200 sequences x 10 steps, against the cost of
// starting Node itself (`node -e 0`), measured alternately in the same run. Target: the
// validation takes less than 3 times what `node -e 0` takes.
//
//   npm run bench            (or: node bench/validate.mjs [--rounds N] [--yaml])
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '15' }, yaml: { type: 'boolean', default: false } },
});
const ROUNDS = Number(values.rounds);
const SEQUENCES = 200;
const STEPS = 10;
const MODULES = 10;
const TARGET = 3;
const bin = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));

const repo = mkdtempSync(join(tmpdir(), 'etl-bench-'));
try {
  mkdirSync(join(repo, 'etl_sequences'));
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
    // With --yaml, every other sequence is YAML, which costs loading the YAML parser.
    if (values.yaml && s % 2 === 1) {
      const yaml = `description: sequence ${s}\nschedule: "${sequence.schedule}"\ntimezone: Europe/Madrid\ntimeout: 1h\nsteps:\n${steps
        .map(
          (st) =>
            `  - module_name: ${st.module_name}\n    input: ${st.input}\n    output: ${st.output}\n    conf: ${st.conf}\n`,
        )
        .join('')}`;
      writeFileSync(join(repo, `etl_sequences/seq_${s}.yaml`), yaml);
    } else {
      writeFileSync(join(repo, `etl_sequences/seq_${s}.json`), JSON.stringify(sequence, null, 2));
    }
  }

  const check = spawnSync(process.execPath, [bin, 'validate', '--repo', repo], { encoding: 'utf8' });
  if (check.status !== 0)
    throw new Error(`the benchmark repository does not validate:\n${check.stdout}${check.stderr}`);

  const time = (args) => {
    const start = process.hrtime.bigint();
    execFileSync(process.execPath, args, { stdio: 'ignore' });
    return Number(process.hrtime.bigint() - start) / 1e6;
  };
  const baseline = [];
  const validate = [];
  time(['-e', '0']); // warm the file cache for both
  time([bin, 'validate', '--repo', repo]);
  for (let i = 0; i < ROUNDS; i++) {
    baseline.push(time(['-e', '0']));
    validate.push(time([bin, 'validate', '--repo', repo]));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const base = median(baseline);
  const ours = median(validate);
  const ratio = ours / base;
  console.log(
    `repository: ${SEQUENCES} sequences x ${STEPS} steps, ${MODULES} modules${values.yaml ? ', half of the sequences in YAML' : ', JSON'}; ${ROUNDS} rounds, medians`,
  );
  console.log(`node -e 0            ${base.toFixed(1)} ms`);
  console.log(`etl validate         ${ours.toFixed(1)} ms`);
  console.log(`ratio                ${ratio.toFixed(2)}x (target < ${TARGET}x): ${ratio < TARGET ? 'PASS' : 'FAIL'}`);
  process.exitCode = ratio < TARGET ? 0 : 1;
} finally {
  if (!process.env.BENCH_KEEP) rmSync(repo, { recursive: true, force: true });
  else console.log(repo);
}
