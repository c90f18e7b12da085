#!/usr/bin/env node
// Benchmark of the git ledger, each figure against a baseline measured in the same run:
//   1. committing one run when the ledger already holds 10,000 runs vs 100 runs;
//      target: at most 1.5 times (commit cost must not grow with history);
//   2. `etl changed` on a repository of 1,000 sequences (one module file edited), with
//      `git diff --name-only` on the same commits for scale;
//   3. with 100,000 runs committed (one commit each, as the runner makes them) vs 1,000:
//      `etl log --limit 20` under 0.5 s and `etl ledger sync` with nothing to do under 1 s,
//      each at most 2 times its cost at 1,000 runs; `etl run --commit`'s peak RSS no higher;
//   4. delivery under contention: 8 clones of one bare remote, each running 20 one-step
//      sequences in series with `etl run SEQ --commit --push`, the 8 at once. All 160 runs must
//      arrive, one commit each, history linear; target: the 160 in at most 60 s. The baseline
//      is the same 8 × 20 runs with `--commit` only (the runs and their commits, nothing
//      delivered), so the ratio is what pushing against each other costs on this machine;
//   5. retention: a ledger of 100,000 committed runs (10 sequences, whole step records) pruned
//      to 10,000 with `etl ledger prune --keep-runs 1000`, target under 60 s, against the same
//      removal by hand in a clone (`rm -rf` the folders, `git add -A runs`, `git commit`); and
//      `git clone --depth 1` of the repository (a file:// URL, so git packs as for a remote)
//      before and after: its size on disk and its time.
//
//   node bench/ledger.mjs [--rounds N] [--skip-100k] [--only push|prune] [--prune-runs N]
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { commitRunFolder } from '../dist/src/ledger/commit.js';
import { committedLedger, median, ms, peakRss, printTable, runOf } from './lib.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    'skip-100k': { type: 'boolean', default: false },
    only: { type: 'string' },
    'prune-runs': { type: 'string', default: '100000' },
  },
});
if (values.only !== undefined && values.only !== 'push' && values.only !== 'prune')
  throw new Error(`--only takes "push" or "prune", got "${values.only}"`);
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

const bin = new URL('../dist/src/cli/main.js', import.meta.url).pathname;

try {
  if (values.only === undefined) await historyAndChanges();
  if (values.only !== 'prune') await pushRace();
  if (values.only !== 'push') await pruneLedger();
  printTable(
    `etl-ledger ledger benchmark: ${ROUNDS} rounds, medians; node ${process.version}, ${git(work, '--version')}`,
    rows,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** Rows 1 to 3. */
async function historyAndChanges() {
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

/** Row 4: 8 clones × 20 runs each, all pushing to one bare remote at once, against the same runs committed only. */
async function pushRace() {
  const [CLONES, RUNS] = [8, 20];
  const root = join(work, 'race');
  const remote = join(root, 'remote.git');
  const source = join(root, 'source');
  mkdirSync(join(source, 'etl_sequences'), { recursive: true });
  mkdirSync(join(source, 'modules'), { recursive: true });
  writeFileSync(join(source, 'modules/ok.sh'), '#!/bin/sh\nexit 0\n');
  chmodSync(join(source, 'modules/ok.sh'), 0o755);
  writeFileSync(join(source, 'modules.json'), JSON.stringify({ ok: { cmd: './modules/ok.sh' } }));
  for (let s = 1; s <= RUNS; s++)
    writeFileSync(join(source, `etl_sequences/s${s}.json`), JSON.stringify([{ module_name: 'ok' }]));
  git(root, 'init', '--quiet', '--bare', '--initial-branch=main', remote);
  git(remote, 'config', 'receive.denyNonFastForwards', 'true');
  git(source, 'init', '--quiet', '--initial-branch=main');
  git(source, 'add', '-A');
  git(source, '-c', 'user.name=bench', '-c', 'user.email=bench@example.com', 'commit', '--quiet', '-m', 'definitions');
  git(source, 'push', '--quiet', remote, 'main');
  const clones = (name) =>
    Array.from({ length: CLONES }, (_, c) => {
      const dir = join(root, `${name}-${c}`);
      git(root, 'clone', '--quiet', `file://${remote}`, dir);
      git(dir, 'config', 'user.name', `runner ${c}`);
      git(dir, 'config', 'user.email', `runner${c}@example.com`);
      git(dir, 'config', 'gc.auto', '0');
      return dir;
    });
  const etl = (cwd, args) =>
    new Promise((resolve, reject) =>
      execFile(process.execPath, [bin, ...args], { cwd }, (error, stdout, stderr) =>
        error ? reject(new Error(`etl ${args.join(' ')} in ${cwd}: ${stdout}${stderr}`)) : resolve(stdout),
      ),
    );
  /** Every clone runs s1..s20 in series, all clones at once; returns the wall time and each run's output. */
  const race = async (dirs, flags) => {
    const start = process.hrtime.bigint();
    // Every clone finishes before a failure is reported: its files are removed after.
    const settled = await Promise.allSettled(
      dirs.map(async (dir) => {
        const out = [];
        for (let s = 1; s <= RUNS; s++) out.push(await etl(dir, ['run', `s${s}`, ...flags]));
        return out;
      }),
    );
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return { ms: ms(start), outputs: settled.flatMap((r) => r.value) };
  };

  const committed = await race(clones('commit'), ['--commit']);
  const pushed = await race(clones('push'), ['--commit', '--push']);
  const total = CLONES * RUNS;
  const folders = git(remote, 'ls-tree', '-r', '--name-only', 'main', '--', 'runs').split('\n');
  const arrived = new Set(folders.filter((p) => p.endsWith('/run.json'))).size;
  const linear = git(remote, 'rev-list', '--merges', 'main') === '';
  const commits = Number(git(remote, 'rev-list', '--count', 'main'));
  if (arrived !== total || !linear || commits !== total + 1)
    throw new Error(`${arrived} of ${total} runs arrived, ${commits} commits, ${linear ? 'linear' : 'merges'}`);
  // "pushed to origin main (after N attempts)": how often runners lost the race.
  const attempts = pushed.outputs.map((out) => Number(/after (\d+) attempts/.exec(out)?.[1] ?? 1));
  rows.push([
    `${CLONES} clones × ${RUNS} runs, --commit --push to one remote (all ${total} arrive, linear; pushes per run: median ${median(attempts)}, max ${Math.max(...attempts)})`,
    `${(pushed.ms / 1000).toFixed(1)} s`,
    `--commit only: ${(committed.ms / 1000).toFixed(1)} s`,
    `${(pushed.ms / committed.ms).toFixed(2)}x`,
    '≤ 60 s',
    pushed.ms <= 60_000,
  ]);
}

/** Row 5: 100,000 committed runs pruned to 10,000, and a depth-1 clone of the repository before and after. */
async function pruneLedger() {
  const [RUNS, SEQUENCES] = [Number(values['prune-runs']), 10];
  const KEEP = RUNS / SEQUENCES / 10; // a tenth of the runs stays
  const repo = await committedLedger(join(work, 'prune'), RUNS, SEQUENCES, { wholeSteps: true });
  const runFolders = (dir) =>
    git(dir, 'ls-tree', '-r', '--name-only', 'HEAD', '--', 'runs')
      .split('\n')
      .filter((p) => p.endsWith('/run.json'));
  const cloneDepth1 = (name) => {
    const dir = join(work, name);
    const start = process.hrtime.bigint();
    git(work, 'clone', '--quiet', '--depth', '1', `file://${repo}`, dir);
    const took = ms(start);
    const kib = (path) => Number(execFileSync('du', ['-sk', path], { encoding: 'utf8' }).split('\t')[0]);
    return { ms: took, total: kib(dir) / 1024, git: kib(join(dir, '.git')) / 1024, runs: runFolders(dir).length };
  };
  const before = cloneDepth1('clone-before');
  // The baseline's clone, made before the prune: the same runs, for git to remove by hand.
  const baseline = join(work, 'prune-baseline');
  git(work, 'clone', '--quiet', '--no-local', repo, baseline);
  git(baseline, 'config', 'user.name', 'bench');
  git(baseline, 'config', 'user.email', 'bench@example.com');

  const start = process.hrtime.bigint();
  const out = execFileSync(process.execPath, [bin, 'ledger', 'prune', '--keep-runs', String(KEEP), '--json'], {
    cwd: repo,
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const pruneMs = ms(start);
  const result = JSON.parse(out);
  const left = runFolders(repo).length;
  if (left !== SEQUENCES * KEEP + result.kept.length || result.removed.length !== RUNS - left)
    throw new Error(`after the prune ${left} runs are committed, ${result.removed.length} removed`);
  if (git(repo, 'status', '--porcelain', '--', 'runs') !== '')
    throw new Error('the prune left the working tree changed');
  // The removed folders left the working tree by the trash, which a background process
  // empties: the baseline starts once the disk is quiet again, and that time is told too.
  while (result.emptying.some((trash) => existsSync(trash))) await new Promise((r) => setTimeout(r, 200));
  const emptiedMs = ms(start);

  // By hand: the folders deleted (rm -rf, many to a process) and the deletion committed with
  // git add -A. (git rm --pathspec-from-file matches each file against every pathspec: 9,000
  // folders took 4.3 s, 90,000 more than 11 minutes.)
  const baseStart = process.hrtime.bigint();
  for (let i = 0; i < result.removed.length; i += 2000)
    execFileSync('rm', ['-rf', ...result.removed.slice(i, i + 2000)], { cwd: baseline });
  git(baseline, 'add', '-A', '--', 'runs');
  git(baseline, 'commit', '--quiet', '-m', 'prune by hand');
  const baselineMs = ms(baseStart);
  if (runFolders(baseline).length !== left) throw new Error('the prune by hand left another ledger');
  const after = cloneDepth1('clone-after');
  if (after.runs !== left) throw new Error(`the clone after the prune has ${after.runs} runs, not ${left}`);

  rows.push([
    `etl ledger prune --keep-runs ${KEEP}: ${RUNS.toLocaleString('en')} committed runs of ${SEQUENCES} sequences to ${left.toLocaleString('en')} (${result.kept.length} older kept, still pointed at)`,
    `${(pruneMs / 1000).toFixed(1)} s`,
    `by hand, rm -rf + git add -A + git commit: ${(baselineMs / 1000).toFixed(1)} s`,
    `${(pruneMs / baselineMs).toFixed(2)}x`,
    '< 60 s',
    pruneMs < 60_000,
  ]);
  rows.push([
    'the same prune until its trash is emptied in the background (the disk freed), for reference',
    `${(emptiedMs / 1000).toFixed(1)} s`,
    `by hand: ${(baselineMs / 1000).toFixed(1)} s`,
    `${(emptiedMs / baselineMs).toFixed(2)}x`,
    '',
    true,
  ]);
  const mb = (x) => `${x.toFixed(1)} MB`;
  rows.push([
    `git clone --depth 1 (file://), after the prune: ${after.runs.toLocaleString('en')} runs; size on disk (.git ${mb(after.git)})`,
    `${mb(after.total)}, ${(after.ms / 1000).toFixed(2)} s`,
    `before: ${before.runs.toLocaleString('en')} runs, ${mb(before.total)} (.git ${mb(before.git)}), ${(before.ms / 1000).toFixed(2)} s`,
    `${(after.total / before.total).toFixed(2)}x size, ${(after.ms / before.ms).toFixed(2)}x time`,
    'smaller, faster',
    after.total < before.total && after.ms < before.ms,
  ]);
}
