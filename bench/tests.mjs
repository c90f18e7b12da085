#!/usr/bin/env node
// Where the test suite's time goes, against a baseline measured in the same run: the floor
// that its CPU sets on this machine's cores. Runs the same test files as `npm test` (after a
// build; no lint), with a hook in every Node process that notes its argv and CPU when it
// exits, then prints:
//   - the suite's wall time against the target of issue 22 (2 minutes);
//   - the CPU of every process it started (user + system, from /proc, Linux only), and of
//     that the `etl` command-line processes, the test files' own processes and the rest
//     (git, chromium, the modules the runs start);
//   - what one `etl` process costs before it does anything (`etl --version`), times the
//     number of `etl` processes: what running them in the test process would save at most;
//   - the floor: all that CPU over the cores; the same without the `etl` start-ups, and
//     without any `etl` process at all.
//
//   node bench/tests.mjs [TEXT]     (about as long as npm test; needs a build: npm run build;
//                                    TEXT keeps only the test files whose path contains it)
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, ms, printTable } from './lib.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'dist/src/cli/main.js');
const work = mkdtempSync(join(tmpdir(), 'etl-bench-tests-'));
const ledger = join(work, 'processes.jsonl');
const hook = join(work, 'hook.mjs');
// One line per Node process as it exits: its script and its own CPU (not its children's).
writeFileSync(
  hook,
  `import { appendFileSync } from 'node:fs';
process.on('exit', () => {
  const { user, system } = process.cpuUsage();
  appendFileSync(${JSON.stringify(ledger)}, JSON.stringify({ script: process.argv[1] ?? '', cpu: (user + system) / 1000 }) + '\\n');
});
`,
);

/** CPU (ms) of the reaped children of this process so far: cutime + cstime of /proc/self/stat. */
function childrenCpu() {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  const ticks = Number(fields[13]) + Number(fields[14]);
  return (ticks * 1000) / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
}

/** Runs a command to its end; resolves with its wall time (ms) and its exit code. */
function timed(command, args, env) {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let tail = '';
    child.stdout.setEncoding('utf8').on('data', (text) => (tail = (tail + text).slice(-4000)));
    child.on('exit', (code) => resolve({ wall: ms(start), code, tail }));
  });
}

try {
  const cores = availableParallelism();
  // One etl process that does nothing: Node's start and the CLI's own loading.
  const startupCpu = [];
  for (let i = 0; i < 7; i++) {
    const before = childrenCpu();
    execFileSync(process.execPath, [bin, '--version'], { stdio: 'ignore' });
    startupCpu.push(childrenCpu() - before);
  }

  const files = execFileSync('find', ['dist/test', '-name', '*.test.js'], { cwd: root, encoding: 'utf8' })
    .trim()
    .split('\n')
    .filter((file) => file.includes(process.argv[2] ?? ''))
    .sort();
  const env = { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${hook}`.trim() };
  const before = childrenCpu();
  const suite = await timed(
    process.execPath,
    ['--import', './test/support/register-json.mjs', '--test', '--test-concurrency=3', ...files],
    env,
  );
  const totalCpu = childrenCpu() - before;
  const counts = /# tests (\d+)[\s\S]*# pass (\d+)[\s\S]*# fail (\d+)/.exec(suite.tail);

  const processes = readFileSync(ledger, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  const sum = (list) => list.reduce((total, p) => total + p.cpu, 0);
  const etl = processes.filter((p) => p.script === bin);
  const testFiles = processes.filter((p) => p.script.endsWith('.test.js') || p.script === '');
  const etlCpu = sum(etl);
  const testCpu = sum(testFiles);
  const otherNode = Math.max(0, sum(processes) - etlCpu - testCpu);
  const startups = median(startupCpu) * etl.length;
  const s = (msValue) => `${(msValue / 1000).toFixed(0)} s`;
  const share = (part) => `${((100 * part) / totalCpu).toFixed(0)} %`;

  console.log(
    `etl-ledger test suite: ${counts ? `${counts[1]} tests, ${counts[2]} passed, ${counts[3]} failed` : `exit ${suite.code}`}; node ${process.version}; ${cores} cores\n`,
  );
  printTable('Wall time and the floor its CPU sets', [
    [
      'the suite, wall time',
      s(suite.wall),
      'target 120 s',
      `${(suite.wall / 120_000).toFixed(2)}x`,
      '≤ 1x',
      suite.wall <= 120_000,
    ],
    ['the suite, CPU of every process', s(totalCpu), `${cores} cores`, '', '', true],
    [
      'the floor: that CPU over the cores',
      s(totalCpu / cores),
      'target 120 s',
      `${(totalCpu / cores / 120_000).toFixed(2)}x`,
      '',
      true,
    ],
    [`\`etl\` processes (${etl.length})`, s(etlCpu), 'all CPU', share(etlCpu), '', true],
    [
      `of which start-up: ${etl.length} × \`etl --version\` (${median(startupCpu).toFixed(0)} ms)`,
      s(startups),
      'all CPU',
      share(startups),
      '',
      true,
    ],
    [`the test files' own processes (${testFiles.length})`, s(testCpu), 'all CPU', share(testCpu), '', true],
    ['other Node processes (modules, helpers)', s(otherNode), 'all CPU', share(otherNode), '', true],
    [
      'the rest: git, chromium, shells, the modules',
      s(totalCpu - sum(processes)),
      'all CPU',
      share(totalCpu - sum(processes)),
      '',
      true,
    ],
    [
      'the floor with no `etl` start-up at all (the CLI run in the test process)',
      s((totalCpu - startups) / cores),
      'target 120 s',
      `${((totalCpu - startups) / cores / 120_000).toFixed(2)}x`,
      '',
      true,
    ],
    [
      'the floor with no `etl` process at all (their work done for nothing)',
      s((totalCpu - etlCpu) / cores),
      'target 120 s',
      `${((totalCpu - etlCpu) / cores / 120_000).toFixed(2)}x`,
      '',
      true,
    ],
  ]);
  if (suite.code !== 0) process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
