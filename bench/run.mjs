#!/usr/bin/env node
// Benchmark of `etl run` and `etl history`, each figure against a baseline measured in the
// same run:
//   1. a 500-step sequence whose module is `true`, end to end, vs a bash loop of /bin/true;
//      target: at most 2.0 times the bash loop (1.3 times is the stretch goal); the same with
//      Node's own spawn (ETL_SPAWNER=node), a bare Node spawn loop, and doit when on PATH;
//   2. a one-step sequence, end to end, vs `node -e 0`: at most 2.5 times;
//   3. linear in the work: 10,000 steps at most 25 times 500 steps, runner RSS under 150 MB;
//   4. a module printing 1 GiB: the runner's peak RSS (target at most 150 MB) and the log
//      kept within its cap;
//   5. `etl history --limit 20` with 100,000 runs in the ledger vs with 1,000; target: at
//      most 2 times.
//
//   npm run bench            (or: node bench/run.mjs [--rounds N] [--skip-history] [--skip-long])
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median, ms, peakRss, printTable, time } from './lib.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    'skip-history': { type: 'boolean', default: false },
    'skip-long': { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(values.rounds);
const bin = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'etl-bench-run-'));
const rows = [];

function repo(name, modules, sequences) {
  const dir = join(work, name);
  mkdirSync(join(dir, 'etl_sequences'), { recursive: true });
  writeFileSync(join(dir, 'modules.json'), JSON.stringify(modules));
  for (const [seq, steps] of Object.entries(sequences))
    writeFileSync(join(dir, `etl_sequences/${seq}.json`), JSON.stringify(steps));
  return dir;
}

try {
  // 1. 500 trivial steps.
  const steps = 500;
  const trivial = repo(
    'trivial',
    { t: { cmd: 'true' } },
    { s: Array.from({ length: steps }, () => ({ module_name: 't' })) },
  );
  const bash = [];
  const spawnLoop = [];
  const etl = [];
  const etlNode = [];
  const doit = [];
  const hasDoit = onPath('doit');
  if (hasDoit) writeFileSync(join(trivial, 'dodo.py'), doitChain(steps));
  // The floor for any Node runner: a bare child_process.spawn loop, nothing recorded.
  const floor = `const { spawn } = require('node:child_process');
(async () => { for (let i = 0; i < ${steps}; i++) await new Promise((r) => spawn('/bin/true', [], { stdio: 'ignore' }).on('close', r)); })();`;
  // Rounds interleave every system, so that a noisy moment hits them all alike.
  for (let i = 0; i < ROUNDS; i++) {
    bash.push(time(() => execFileSync('bash', ['-c', `for i in $(seq ${steps}); do /bin/true; done`])));
    spawnLoop.push(time(() => execFileSync(process.execPath, ['-e', floor])));
    etl.push(time(() => execFileSync(process.execPath, [bin, 'run', 's'], { cwd: trivial, stdio: 'ignore' })));
    etlNode.push(
      time(() =>
        execFileSync(process.execPath, [bin, 'run', 's'], {
          cwd: trivial,
          stdio: 'ignore',
          env: { ...process.env, ETL_SPAWNER: 'node' },
        }),
      ),
    );
    if (hasDoit) {
      rmSync(join(trivial, '.doit.db'), { force: true, recursive: true });
      doit.push(time(() => execFileSync('doit', ['-n', '1'], { cwd: trivial, stdio: 'ignore' })));
    }
  }
  const runs = readdirSync(join(trivial, 'runs/s'), { recursive: true }).filter((p) =>
    String(p).endsWith('run.json'),
  ).length;
  if (runs !== 2 * ROUNDS) throw new Error(`expected ${2 * ROUNDS} recorded runs, found ${runs}`);
  const ratio = median(etl) / median(bash);
  const vsBash = (label, xs, target, met) =>
    rows.push([
      label,
      `${median(xs).toFixed(0)} ms`,
      `bash loop ${median(bash).toFixed(0)} ms`,
      `${(median(xs) / median(bash)).toFixed(2)}x`,
      target,
      met,
    ]);
  vsBash(`${steps} steps of \`true\`: etl run (end to end)`, etl, '≤ 2.0x (stretch 1.3x)', ratio <= 2.0);
  vsBash(`${steps} steps: etl run with Node's spawn (ETL_SPAWNER=node)`, etlNode, '', true);
  vsBash(`${steps} steps: bare Node spawn loop, no records (for reference)`, spawnLoop, '', true);
  if (hasDoit) vsBash(`${steps} steps: doit, a chain of tasks (for reference)`, doit, '', true);

  // A one-step run: what cron, CI and the scheduler pay for every run.
  const one = repo('one', { t: { cmd: 'true' } }, { s: [{ module_name: 't' }] });
  const node0 = [];
  const oneStep = [];
  // Short runs: many rounds, so that one noisy moment does not move the median.
  for (let i = 0; i < ROUNDS * 5; i++) {
    node0.push(time(() => execFileSync(process.execPath, ['-e', '0'])));
    oneStep.push(time(() => execFileSync(process.execPath, [bin, 'run', 's'], { cwd: one, stdio: 'ignore' })));
  }
  const startRatio = median(oneStep) / median(node0);
  rows.push([
    'one-step sequence: etl run (end to end)',
    `${median(oneStep).toFixed(0)} ms`,
    `node -e 0 ${median(node0).toFixed(0)} ms`,
    `${startRatio.toFixed(2)}x`,
    '≤ 2.5x',
    startRatio <= 2.5,
  ]);

  // Linear in the work: 10,000 steps against 500.
  if (!values['skip-long']) {
    const long = 10_000;
    const linear = repo(
      'linear',
      { t: { cmd: 'true' } },
      { s: Array.from({ length: long }, () => ({ module_name: 't' })) },
    );
    const startLong = process.hrtime.bigint();
    const peak = await peakRss(process.execPath, [bin, 'run', 's'], linear);
    const took = ms(startLong);
    const growth = took / median(etl);
    rows.push([
      `${long.toLocaleString('en')} steps: etl run, and the runner's peak RSS`,
      `${(took / 1000).toFixed(1)} s, ${(peak / 1024).toFixed(0)} MB`,
      `${steps} steps ${median(etl).toFixed(0)} ms`,
      `${growth.toFixed(1)}x`,
      '≤ 25x, < 150 MB',
      growth <= 25 && peak / 1024 < 150,
    ]);
  }

  // 2. 1 GiB of output.
  const loud = repo('loud', { loud: { cmd: './print.mjs' } }, { s: [{ module_name: 'loud' }] });
  writeFileSync(
    join(loud, 'print.mjs'),
    `#!/usr/bin/env node
const chunk = Buffer.alloc(1 << 20, 'x\\n');
let left = 1024;
const go = () => { while (left-- > 0) if (!process.stdout.write(chunk)) return process.stdout.once('drain', go); };
go();
`,
  );
  chmodSync(join(loud, 'print.mjs'), 0o755);
  const start = process.hrtime.bigint();
  const peak = await peakRss(process.execPath, [bin, 'run', 's'], loud);
  const took = ms(start);
  const log = readdirSync(join(loud, 'runs'), { recursive: true })
    .map(String)
    .find((p) => p.endsWith('.log'));
  const logBytes = statSync(join(loud, 'runs', log)).size;
  rows.push([
    'module printing 1 GiB: runner peak RSS',
    `${(peak / 1024).toFixed(0)} MB`,
    `log kept ${(logBytes / 1024).toFixed(0)} KiB, ${(took / 1000).toFixed(1)} s`,
    '',
    '≤ 150 MB',
    peak / 1024 <= 150,
  ]);

  // 3. history with a large ledger.
  if (!values['skip-history']) {
    const times = {};
    for (const count of [1_000, 100_000]) {
      const dir = join(work, `ledger-${count}`);
      fakeLedger(dir, count);
      execFileSync(process.execPath, [bin, 'history', '--limit', '20'], { cwd: dir, stdio: 'ignore' }); // warm the cache
      const samples = [];
      for (let i = 0; i < ROUNDS; i++) {
        const s = process.hrtime.bigint();
        execFileSync(process.execPath, [bin, 'history', '--limit', '20'], { cwd: dir, stdio: 'ignore' });
        samples.push(ms(s));
      }
      times[count] = median(samples);
    }
    const r = times[100_000] / times[1_000];
    rows.push([
      'etl history --limit 20, 100,000 runs',
      `${times[100_000].toFixed(0)} ms`,
      `1,000 runs ${times[1_000].toFixed(0)} ms`,
      `${r.toFixed(2)}x`,
      '≤ 2x',
      r <= 2,
    ]);
  }

  printTable(`etl-ledger run benchmark: ${ROUNDS} rounds, medians; node ${process.version}`, rows);
} finally {
  rmSync(work, { recursive: true, force: true });
}

function onPath(program) {
  try {
    execFileSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A doit file of n tasks, each running /bin/true after the one before (Debian's python3-doit). */
function doitChain(n) {
  const tasks = Array.from(
    { length: n },
    (_, i) =>
      `def task_t${i}():\n    return {'actions': ['/bin/true'], ${i ? `'task_dep': ['t${i - 1}'], ` : ''}'verbosity': 0}\n`,
  );
  return `DOIT_CONFIG = {'default_tasks': ['t${n - 1}'], 'verbosity': 0}\n${tasks.join('')}`;
}

/** A ledger of `count` finished runs of 10 sequences, spread over days, as the runner writes them. */
function fakeLedger(dir, count) {
  const perSequence = count / 10;
  for (let s = 0; s < 10; s++) {
    for (let i = 0; i < perSequence; i++) {
      const at = new Date(Date.UTC(2020, 0, 1) + i * 3_600_000 + s * 60_000);
      const stamp = at.toISOString().replace(/[-:.]/g, '');
      const id = `${stamp}-${(s * perSequence + i).toString(16).padStart(8, '0')}`;
      const folder = join(dir, 'runs', `seq${s}`, stamp.slice(0, 4), stamp.slice(4, 6), stamp.slice(6, 8), id);
      mkdirSync(folder, { recursive: true });
      writeFileSync(
        join(folder, 'run.json'),
        JSON.stringify({
          schema_version: 1,
          id,
          sequence: `seq${s}`,
          status: i % 7 ? 'succeeded' : 'failed',
          started_at: at.toISOString(),
          duration_ms: 1000,
          failed_step: null,
          steps: [],
          host: 'bench',
          pid: 1,
          trigger: { kind: 'schedule', actor: null, ci: null },
        }),
      );
    }
  }
}
