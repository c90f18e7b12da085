// What a prune keeps whatever its policy says (runs still pointed at, each with why), and a
// sequence's retention: applied after each committed run and by etl schedule, on real runs.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pruneLedger } from '../../src/ledger/retention/prune.js';
import type { RunRecord, StepRecord } from '../../src/runner/records.js';
import { git, initRepo, runFolders } from '../helpers/git.js';
import { pipelineRepo, runCli, startCli } from '../helpers/repo.js';
import { writeRunRecords } from '../helpers/runs.js';

const GATE = { content: '#!/bin/sh\nif [ -e fail ]; then exit 3; fi\n', mode: 0o755 };

function pipeline(t: Parameters<typeof pipelineRepo>[0], sequences: Record<string, unknown>) {
  return initRepo(
    pipelineRepo(t, {
      modules: {
        copy: { cmd: './modules/copy.sh' },
        gate: { cmd: './modules/gate.sh' },
        hold: { cmd: './modules/hold.sh' },
      },
      sequences,
      files: { 'data/source.csv': 'a,b\n1,2\n', '.gitignore': 'work/\nruns/**/.lock\n', 'modules/gate.sh': GATE },
    }),
  );
}

async function run(repo: string, ...args: string[]): Promise<RunRecord> {
  const result = await runCli(['run', ...args, '--json'], { cwd: repo });
  assert.ok(result.code === 0 || result.code === 1, result.stdout + result.stderr);
  return JSON.parse(result.stdout.slice(result.stdout.indexOf('\n{') + 1)) as RunRecord;
}

const show = async (repo: string, spec: string) =>
  JSON.parse((await runCli(['show', spec, '--json'], { cwd: repo })).stdout) as { run: RunRecord; steps: StepRecord[] };

/** Ten days on: every run is older than keep_days 1, so only what is pointed at stays. */
const later = () => new Date(Date.now() + 10 * 86_400_000);

test('runs still pointed at stay, each saying why: skip_unchanged, lineage and --resume still work after the prune', async (t) => {
  const repo = pipeline(t, {
    make: { skip_unchanged: true, steps: [{ module_name: 'copy', input: 'data/source.csv', output: 'work/made.csv' }] },
    two: [{ module_name: 'copy', input: 'data/source.csv', output: 'work/two.csv' }, { module_name: 'gate' }],
  });
  const made = [];
  for (let i = 0; i < 4; i++) made.push(await run(repo, 'make', '--commit'));
  const [m1, , , m4] = made.map((r) => r.id);
  assert.equal(made[3]!.steps[0]!.skipped_as?.run_id, m1, 'the fourth run stands for the first');
  const t1 = await run(repo, 'two', '--commit');
  writeFileSync(join(repo, 'fail'), '');
  const t2 = await run(repo, 'two', '--commit');
  assert.equal(t2.status, 'failed');

  const policies = ['make', 'two'].map((sequence) => ({ sequence, policy: { keep_days: 1 } }));
  const dry = await pruneLedger({ view: repo, repo, policies, now: later(), dryRun: true });
  const why = Object.fromEntries(dry.kept.map((ref) => [ref.id, ref.reasons]));
  assert.deepEqual(Object.keys(why).sort(), [m1!, m4!, t2.id].sort());
  assert.deepEqual(why[m1!], [
    "skip_unchanged: the next run compares its step 1 (copy) with this run's",
    'lineage: newest writer of work/made.csv (step 1 copy)',
    `stands in: run ${m4} step 1 (copy) was skipped as unchanged since it`,
  ]);
  assert.deepEqual(why[m4!], [`skip_unchanged: newest run whose step 1 (copy) stands for ${m1}`]);
  assert.deepEqual(why[t2.id], [
    "skip_unchanged: the next run compares its step 1 (copy) with this run's",
    'resume: newest finished run of two, failed',
    'lineage: newest writer of work/two.csv (step 1 copy)',
  ]);
  assert.deepEqual(
    dry.removed.map((ref) => ref.id),
    [made[1]!.id, made[2]!.id, t1.id],
  );

  const pruned = await pruneLedger({ view: repo, repo, policies, now: later() });
  assert.equal(pruned.commits.length, 1);
  assert.equal(runFolders(repo).length, 3);

  // The next run still skips, pointing at the run that did the work.
  const next = await run(repo, 'make', '--commit');
  assert.equal(next.steps[0]!.status, 'skipped');
  assert.equal((await show(repo, next.id)).steps[0]!.skipped_as?.run_id, m1);
  // Lineage still finds the producer.
  const lineage = await runCli(['lineage', 'work/made.csv'], { cwd: repo });
  assert.equal(lineage.code, 0, lineage.stderr);
  assert.match(lineage.stdout, new RegExp(`make\\s+1\\s+copy.*|${m1}`));
  assert.match(lineage.stdout, new RegExp(m1!));
  // And the failed run can still be resumed.
  rmSync(join(repo, 'fail'));
  const resumed = await run(repo, 'two', '--resume', 'two@latest');
  assert.equal(resumed.status, 'succeeded');
  assert.equal(resumed.resumed_from, t2.id);
});

test('a run still going (its lock held) is never pruned', async (t) => {
  const repo = pipeline(t, { hold: [{ module_name: 'hold' }] });
  const holding = startCli(['run', 'hold', '--commit', '--commit-progress', '--verbose'], { cwd: repo });
  try {
    await holding.line(/holding hold/);
    assert.equal(runFolders(repo).length, 1, 'the running run is committed (--commit-progress)');
    const dry = await pruneLedger({
      view: repo,
      repo,
      policies: [{ sequence: 'hold', policy: { keep_days: 1 } }],
      now: later(),
      dryRun: true,
    });
    assert.equal(dry.kept.length, 1);
    assert.equal(dry.kept[0]!.reasons[0], 'running');
    assert.deepEqual(dry.removed, []);
  } finally {
    // Released whatever happened: the module would hold the test's process open.
    writeFileSync(join(repo, 'go'), '');
    await holding.done;
  }
});

test('retention: keep_runs N prunes the sequence after each committed run, in a commit of its own; an uncommitted run leaves it', async (t) => {
  const repo = pipeline(t, {
    kept: { retention: { keep_runs: 2 }, steps: [{ module_name: 'gate' }] },
    other: [{ module_name: 'gate' }],
  });
  for (let i = 0; i < 3; i++) await run(repo, 'other', '--commit');
  const first = await runCli(['run', 'kept', '--commit'], { cwd: repo });
  assert.doesNotMatch(first.stdout, /retention/, 'nothing to prune yet');
  await run(repo, 'kept', '--commit');
  await run(repo, 'kept'); // not committed: no prune
  assert.equal(runFolders(repo).filter((f) => f.startsWith('runs/kept/')).length, 2);
  const fourth = await runCli(['run', 'kept', '--commit'], { cwd: repo });
  assert.equal(fourth.code, 0, fourth.stderr);
  // The newest two are this run and the one not committed: the two committed before go.
  assert.match(fourth.stdout, /^retention \(keep_runs 2\): removed 2 older runs \(commit [0-9a-f]{12}\)$/m);
  assert.equal(git(repo, 'log', '-1', '--format=%s'), 'etl ledger prune: removed 2 runs of kept (keep_runs 2)');
  assert.match(git(repo, 'log', '-1', '--skip=1', '--format=%s'), /^etl\(kept\): succeeded/);
  assert.equal(
    runFolders(repo).filter((f) => f.startsWith('runs/kept/')).length,
    1,
    'of the newest two, one is not committed',
  );
  assert.equal(
    git(repo, 'status', '--porcelain', '--', 'runs').split('\n').length,
    1,
    'the uncommitted run is on disk still',
  );
  assert.equal(runFolders(repo).filter((f) => f.startsWith('runs/other/')).length, 3, 'other sequences are left alone');
});

test('retention that cannot be applied is said once, and the run stands (exit 0, nothing removed)', async (t) => {
  const repo = pipeline(t, { kept: { retention: { keep_runs: 1 }, steps: [{ module_name: 'gate' }] } });
  await run(repo, 'kept', '--commit');
  // A hook that refuses any prune commit (a run's commit goes through).
  writeFileSync(
    join(repo, '.git/hooks/reference-transaction'),
    '#!/bin/sh\n[ "$1" = prepared ] || exit 0\nwhile read old new ref; do\n  case "$(git log -1 --format=%s "$new" 2>/dev/null)" in "etl ledger prune"*) echo "no prunes here" >&2; exit 1;; esac\ndone\n',
    { mode: 0o755 },
  );
  const second = await runCli(['run', 'kept', '--commit'], { cwd: repo });
  assert.equal(second.code, 0, second.stderr);
  const warnings = second.stderr.split('\n').filter((line) => line.includes('retention'));
  assert.equal(warnings.length, 1, second.stderr);
  assert.match(
    warnings[0]!,
    /^etl run: warning: retention \(keep_runs 1\) not applied: could not commit the prune: .*no prunes here.*; nothing was removed$/,
  );
  assert.equal(runFolders(repo).length, 2);
  assert.equal(git(repo, 'status', '--porcelain'), '');
});

test('a ledger on its own branch is pruned there: main keeps its history as it was', async (t) => {
  const repo = pipeline(t, { a: [{ module_name: 'gate' }] });
  for (let i = 0; i < 3; i++) await run(repo, 'a', '--commit', '--ledger-branch', 'etl-runs');
  const main = git(repo, 'rev-parse', 'main');
  const pruned = await runCli(['ledger', 'prune', '--keep-runs', '1'], { cwd: repo });
  assert.equal(pruned.code, 0, pruned.stderr);
  assert.equal(git(repo, 'rev-parse', 'main'), main);
  assert.equal(
    git(repo, 'log', '-1', '--format=%s', 'etl-runs'),
    'etl ledger prune: removed 2 runs of a (keep_runs 1)',
  );
  assert.equal(runFolders(repo, 'etl-runs').length, 1);
  const history = await runCli(['history', '--json'], { cwd: repo });
  assert.equal((JSON.parse(history.stdout) as RunRecord[]).length, 1);
});

test("etl schedule --commit applies each sequence's retention as it starts (then once a day)", {
  timeout: 60_000,
}, async (t) => {
  const repo = pipeline(t, { old: { retention: { keep_days: 30 }, steps: [{ module_name: 'gate' }] } });
  writeRunRecords(repo, 'old', 3); // from 2025-01-01: long past 30 days
  git(repo, 'add', 'runs');
  git(repo, 'commit', '--quiet', '-m', 'old runs');
  const daemon = startCli(['schedule', '--commit'], { cwd: repo });
  const line = await daemon.line(/prune/);
  daemon.child.kill('SIGTERM');
  await daemon.done;
  assert.match(line, /prune {2}retention of 1 sequence: removed 3 runs \(commit [0-9a-f]{12}\)$/);
  assert.deepEqual(runFolders(repo), []);
  assert.equal(git(repo, 'log', '-1', '--format=%s'), 'etl ledger prune: removed 3 runs of old (keep_days 30)');
});
