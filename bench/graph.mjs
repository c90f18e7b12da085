#!/usr/bin/env node
// Benchmark of sequences run as graphs (steps with `needs`), each figure against a baseline
// measured in the same run:
//   1. 8 independent `sleep 1` steps and a join (`true`), max_parallel 8: `etl run`'s wall
//      time vs the longest path (1 s); target: at most 1.15 times;
//   2. Dagu's example_workflow shape, 14 steps of `sleep 2` whose longest path is 8 steps:
//      wall time vs 16 s, target at most 1.1 times; and the same 14 steps as a list (no
//      needs), to show what the graph saves (about 28 s);
//   3. 500 trivial steps in a chain written as a graph (each needs the one before, by name)
//      vs the same 500 as a list: no slower, within noise (rounds alternate, medians);
//   4. 1,000 trivial steps in 10 parallel chains of 100 (max_parallel 10): the scheduler's
//      own cost per step, at most 0.5 ms (how it is isolated is told where it is measured).
//
//   npm run bench            (or: node bench/graph.mjs [--rounds N] [--skip-long])
import { execFileSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { validate } from '../dist/src/definitions/validate.js';
import { stepFiles } from '../dist/src/ledger/layout.js';
import { executePlan } from '../dist/src/runner/engine.js';
import { planRun } from '../dist/src/runner/plan.js';
import { median, ms, printTable, time } from './lib.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    // Leaves out the Dagu-shaped runs (about 1 minute).
    'skip-long': { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(values.rounds);
const bin = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'etl-bench-graph-'));
const rows = [];
const load = () => loadavg()[0].toFixed(2);
const loads = [load()];

/** A pipeline repository in git, its definitions committed (a run pins them). */
function repo(name, modules, sequences) {
  const dir = join(work, name);
  mkdirSync(join(dir, 'etl_sequences'), { recursive: true });
  writeFileSync(join(dir, 'modules.json'), JSON.stringify(modules));
  for (const [seq, definition] of Object.entries(sequences))
    writeFileSync(join(dir, `etl_sequences/${seq}.json`), JSON.stringify(definition));
  const git = (...args) => execFileSync('git', args, { cwd: dir, stdio: 'ignore' });
  git('init', '--quiet', '--initial-branch=main');
  git('config', 'user.name', 'bench');
  git('config', 'user.email', 'bench@example.com');
  git('add', '.');
  git('commit', '--quiet', '-m', 'definitions');
  return dir;
}

const etlRun = (dir, sequence) =>
  time(() => execFileSync(process.execPath, [bin, 'run', sequence], { cwd: dir, stdio: 'ignore' }));

/** The run's own duration (run.json's duration_ms: from its start to its end, without Node's start-up) of the latest run. */
function ownDuration(dir, sequence) {
  const runs = readdirSync(join(dir, 'runs', sequence), { recursive: true })
    .map(String)
    .filter((p) => p.endsWith('run.json'))
    .sort();
  return JSON.parse(readFileSync(join(dir, 'runs', sequence, runs.at(-1)), 'utf8')).duration_ms;
}

/** Steps named `${prefix}1`.. in a chain, each needing the one before by name; the first needs `first`. */
const chain = (prefix, length, first = []) =>
  Array.from({ length }, (_, i) => ({
    name: `${prefix}${i + 1}`,
    module_name: 't',
    needs: i ? [`${prefix}${i}`] : first,
  }));
/** An observer that records nothing. */
const noObserver = {
  runStarted() {},
  stepStarted() {},
  stepFinished() {},
  runFinished() {},
};

const withoutNeeds = (steps) => steps.map(({ needs, ...step }) => step);

try {
  // What every `etl run` pays before and after its steps (Node's start-up, the pin, the
  // records): a one-step sequence of `true`. Under load it is most of scenario 1's excess.
  const startup = repo('one', { t: { cmd: 'true' } }, { one: [{ module_name: 't' }] });
  const oneStep = Array.from({ length: ROUNDS }, () => etlRun(startup, 'one'));
  rows.push(['one-step run of `true` (start-up, for reference)', `${median(oneStep).toFixed(0)} ms`, '', '', '', true]);

  // 1. Fan out and join: 8 steps of one second at once, then `true`.
  {
    const fan = Array.from({ length: 8 }, (_, i) => ({ name: `sleep${i + 1}`, module_name: 'sleep1', needs: [] }));
    const dir = repo(
      'fan',
      { sleep1: { cmd: 'sleep 1' }, t: { cmd: 'true' } },
      {
        fan: {
          max_parallel: 8,
          steps: [...fan, { name: 'join', module_name: 't', needs: fan.map((s) => s.name) }],
        },
      },
    );
    const walls = [];
    const own = [];
    for (let i = 0; i < Math.min(ROUNDS, 5); i++) {
      walls.push(etlRun(dir, 'fan'));
      own.push(ownDuration(dir, 'fan'));
    }
    const ratio = median(walls) / 1000;
    rows.push([
      '8 × `sleep 1` at once and a join, max_parallel 8: wall time',
      `${median(walls).toFixed(0)} ms`,
      'longest path 1000 ms',
      `${ratio.toFixed(2)}x`,
      '≤ 1.15x',
      ratio <= 1.15,
    ]);
    rows.push([
      "the same: the run's own duration (run.json, without start-up), for reference",
      `${median(own).toFixed(0)} ms`,
      'longest path 1000 ms',
      `${(median(own) / 1000).toFixed(2)}x`,
      '',
      true,
    ]);
    // The floor under the target: what any runner written for Node pays here before it can do
    // anything (Node's own start), and a bare Node program that starts the same eight sleeps
    // at once and then `true`, with nothing validated, pinned or recorded.
    const bare = join(work, 'bare-fan.mjs');
    writeFileSync(
      bare,
      `import { spawn } from 'node:child_process';
const done = (child) => new Promise((resolve) => child.on('exit', resolve));
await Promise.all(Array.from({ length: 8 }, () => done(spawn('sleep', ['1'], { stdio: 'ignore' }))));
await done(spawn('true', [], { stdio: 'ignore' }));
`,
    );
    const nodeAlone = [];
    const bareFan = [];
    for (let i = 0; i < Math.min(ROUNDS, 5); i++) {
      nodeAlone.push(time(() => execFileSync(process.execPath, ['-e', '0'], { stdio: 'ignore' })));
      bareFan.push(time(() => execFileSync(process.execPath, [bare], { stdio: 'ignore' })));
    }
    rows.push([
      "`node -e 0`: Node's start-up alone, for reference",
      `${median(nodeAlone).toFixed(0)} ms`,
      '',
      '',
      '',
      true,
    ]);
    rows.push([
      'the floor: a bare Node program starting the same 8 sleeps, then `true`, nothing recorded',
      `${median(bareFan).toFixed(0)} ms`,
      'longest path 1000 ms',
      `${(median(bareFan) / 1000).toFixed(2)}x`,
      '',
      true,
    ]);
    rows.push([
      "etl's own part of the wall time: the run's wall time over the floor's, for reference",
      `${(median(walls) - median(bareFan)).toFixed(0)} ms`,
      `the floor ${median(bareFan).toFixed(0)} ms`,
      `${(median(walls) / median(bareFan)).toFixed(2)}x`,
      '',
      true,
    ]);
    loads.push(load());
  }

  // 2. Dagu's example_workflow shape: 14 steps of `sleep 2`, longest path 8 steps (16 s).
  //    level 1: setup
  //    level 2: fetch_a, fetch_b, fetch_c               (each needs setup)
  //    level 3: clean_a (fetch_a), clean_b (fetch_b), archive (fetch_c)
  //    level 4: merge (clean_a, clean_b, fetch_c)
  //    level 5: validate (merge)
  //    level 6: transform, stats                        (each needs validate)
  //    level 7: load (transform), chart (stats)
  //    level 8: report (load, chart, archive)
  //  At most 3 run at once; max_parallel 4, so that the 2-core default does not bound it.
  if (!values['skip-long']) {
    const needs = {
      setup: [],
      fetch_a: ['setup'],
      fetch_b: ['setup'],
      fetch_c: ['setup'],
      clean_a: ['fetch_a'],
      clean_b: ['fetch_b'],
      archive: ['fetch_c'],
      merge: ['clean_a', 'clean_b', 'fetch_c'],
      validate: ['merge'],
      transform: ['validate'],
      stats: ['validate'],
      load: ['transform'],
      chart: ['stats'],
      report: ['load', 'chart', 'archive'],
    };
    const steps = Object.entries(needs).map(([name, n]) => ({ name, module_name: 'sleep2', needs: n }));
    const dir = repo(
      'dagu',
      { sleep2: { cmd: 'sleep 2' } },
      { dagu: { max_parallel: 4, steps }, dagu_list: withoutNeeds(steps) },
    );
    // Two rounds of the graph (the higher one is the median of two), one of the list.
    const graph = [];
    const own = [];
    for (let i = 0; i < 2; i++) {
      graph.push(etlRun(dir, 'dagu'));
      own.push(ownDuration(dir, 'dagu'));
    }
    const list = etlRun(dir, 'dagu_list');
    const ratio = median(graph) / 16_000;
    rows.push([
      "Dagu's example_workflow shape: 14 × `sleep 2`, longest path 8",
      `${(median(graph) / 1000).toFixed(2)} s`,
      'longest path 16 s',
      `${ratio.toFixed(3)}x`,
      '≤ 1.1x',
      ratio <= 1.1,
    ]);
    rows.push([
      "the same: the run's own duration (run.json), for reference",
      `${(median(own) / 1000).toFixed(2)} s`,
      'longest path 16 s',
      `${(median(own) / 16_000).toFixed(3)}x`,
      '',
      true,
    ]);
    rows.push([
      'the same 14 steps as a list (no needs), for reference',
      `${(list / 1000).toFixed(2)} s`,
      'longest path 16 s',
      `${(list / 16_000).toFixed(2)}x`,
      '',
      true,
    ]);
    loads.push(load());
  }

  // 3. 500 trivial steps: a chain written as a graph vs today's list, rounds alternating.
  {
    const steps = chain('c', 500);
    const dir = repo('chain', { t: { cmd: 'true' } }, { chain: steps, list: withoutNeeds(steps) });
    const graph = [];
    const list = [];
    for (let i = 0; i < ROUNDS; i++) {
      list.push(etlRun(dir, 'list'));
      graph.push(etlRun(dir, 'chain'));
    }
    const ratio = median(graph) / median(list);
    // Within noise: the rounds of the list itself spread this much around their median.
    const spread = (Math.max(...list) - Math.min(...list)) / median(list);
    rows.push([
      '500 steps of `true` in a chain of needs',
      `${median(graph).toFixed(0)} ms`,
      `as a list ${median(list).toFixed(0)} ms`,
      `${ratio.toFixed(2)}x`,
      `≤ 1.05x (the list's own spread: ${(spread * 100).toFixed(0)} %)`,
      ratio <= 1.05,
    ]);
    loads.push(load());
  }

  // 4. The scheduler's own cost: 1,000 steps in 10 chains of 100, max_parallel 10.
  //
  //    End to end, a step's cost is mostly starting its process (about 1 ms on an idle
  //    machine, several under load, and varying from run to run by more than the 0.5 ms a
  //    step to be measured), so the scheduler is timed in the runner's own process: the same
  //    engine (executePlan, from the library) runs the same 1,000 planned steps with a
  //    spawner whose modules exit 0 at once (no process, no output) and an observer that
  //    records nothing, as the graph and as one list (no needs: the seed's loop, whose own
  //    bookkeeping is a for loop). Everything else a step costs is the same in both: its
  //    record, its log file, its environment, the checks after it. The difference, per step,
  //    is what the graph's scheduling (ReadySteps, the dispatch loop and its wake-ups) adds.
  //    Ten steps at once also share waits (a turn of the event loop for each fake exit, the
  //    log files' opening and closing), which can make the graph the faster of the two; so
  //    the same 1,000 steps are also run as one chain of needs with max_parallel 1, where
  //    nothing overlaps: that difference is the scheduler's cost alone. End to end, `etl run`
  //    of the 10 chains and of the list is given for reference (one round each).
  {
    const chains = Array.from({ length: 10 }, (_, k) => chain(`k${k}s`, 100)).flat();
    const sequences = {
      chains: { max_parallel: 10, steps: chains },
      chain: { max_parallel: 1, steps: chain('c', 1000) },
      list: withoutNeeds(chains),
    };
    const dir = repo('chains', { t: { cmd: 'true' } }, sequences);
    const { definitions, ok } = await validate({ repo: dir, githubSchedules: false });
    if (!ok) throw new Error('the chains sequences do not validate');
    const plans = Object.fromEntries(Object.keys(sequences).map((s) => [s, planRun(definitions, s, process.env)]));
    const engine = async (sequence) => {
      const folder = mkdtempSync(join(work, `engine-${sequence}-`));
      const start = process.hrtime.bigint();
      const run = await executePlan(plans[sequence], {
        runId: 'bench',
        folder,
        scratch: join(folder, 'scratch'),
        trigger: { kind: 'manual', actor: null, ci: null },
        definitions: { commit: null, dirty: false, files: {} },
        env: process.env,
        observer: noObserver,
        host: 'bench',
        pid: process.pid,
        runnerVersion: 'bench',
        files: stepFiles,
        spawner: instantSpawner(),
        lineage: false,
      });
      const took = ms(start);
      if (run.status !== 'succeeded' || run.steps.some((s) => s.status !== 'succeeded'))
        throw new Error(`${sequence}: ${run.status}`);
      rmSync(folder, { recursive: true, force: true });
      return took;
    };
    const times = { chains: [], chain: [], list: [] };
    for (const s of Object.keys(times)) await engine(s); // warm up the JIT and the file system
    for (let i = 0; i < ROUNDS * 2; i++) for (const s of Object.keys(times)) times[s].push(await engine(s));
    const list = median(times.list);
    for (const [s, label] of [
      ['chains', '1,000 steps in 10 chains of 100, max_parallel 10: scheduler cost per step (engine in process)'],
      ['chain', 'the same 1,000 steps as one chain of needs, max_parallel 1 (nothing overlaps)'],
    ]) {
      const perStep = (median(times[s]) - list) / 1000;
      rows.push([
        label,
        `${perStep.toFixed(3)} ms/step (${median(times[s]).toFixed(0)} ms)`,
        `as a list ${list.toFixed(0)} ms`,
        `${(median(times[s]) / list).toFixed(2)}x`,
        '≤ 0.5 ms/step',
        perStep <= 0.5,
      ]);
    }
    const e2eList = etlRun(dir, 'list');
    const e2eChains = etlRun(dir, 'chains');
    rows.push([
      'the 10 chains end to end, `etl run` (processes started; one round, for reference)',
      `${e2eChains.toFixed(0)} ms`,
      `as a list ${e2eList.toFixed(0)} ms`,
      `${(e2eChains / e2eList).toFixed(2)}x`,
      '',
      true,
    ]);
    loads.push(load());
  }

  printTable(
    `etl-ledger graph benchmark: ${ROUNDS} rounds, medians; node ${process.version}; load average (1 min) along the way: ${loads.join(', ')}`,
    rows,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** A spawner whose modules exit 0 at once, with no output and no process. */
function instantSpawner() {
  let pid = 1 << 22;
  const stream = () => Object.assign(new EventEmitter(), { destroy() {} });
  return {
    kind: 'node',
    start() {
      const child = Object.assign(new EventEmitter(), { pid: pid++, stdout: stream(), stderr: stream() });
      setImmediate(() => {
        child.emit('exit', 0, null);
        child.emit('close', 0, null);
      });
      return child;
    },
    startNext() {},
    cancelNext() {},
    close() {},
  };
}
