// The small things a user notices: labels, messages and leftovers.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { git, initRepo } from '../helpers/git.js';
import { pipelineRepo, runCli } from '../helpers/repo.js';

const DEFS = {
  modules: { ok: { cmd: './modules/ok.sh' }, fail: { cmd: './modules/fail.sh' }, quiet: { cmd: 'true' } },
  sequences: {
    s: {
      steps: [{ module_name: 'fail' }, { module_name: 'ok' }, { module_name: 'ok', name: 'third' }],
      on_failure: { module_name: 'ok', name: 'handler' },
    },
    good: [{ module_name: 'ok' }],
  },
};

test('an on_failure step is labelled "on_failure 1 handler", not "1/-"', async (t) => {
  const repo = pipelineRepo(t, DEFS);
  const result = await runCli(['run', 's'], { cwd: repo });
  assert.equal(result.code, 1);
  assert.match(result.stdout, /on_failure 1 handler \(ok\)/);
  assert.doesNotMatch(result.stdout, /\/-/);
});

test("logs of a skipped step says it did not run; logs -f ends with the run's final status", async (t) => {
  const repo = pipelineRepo(t, DEFS);
  assert.equal((await runCli(['run', 's'], { cwd: repo })).code, 1);
  const skipped = await runCli(['logs', 's@latest', '3'], { cwd: repo });
  assert.equal(skipped.code, 0);
  assert.match(skipped.stderr, /\(step 3 third was skipped: it did not run\)/);
  const follow = await runCli(['logs', '-f', 's@latest'], { cwd: repo });
  assert.match(follow.stdout, /==> run \S+ failed: step 1 \(fail\) failed: exited with code 1 <==\n$/);
});

test('etl logs of a run none of whose steps printed anything says so, with how each step went', async (t) => {
  const repo = pipelineRepo(t, {
    ...DEFS,
    sequences: { ...DEFS.sequences, silent: [{ module_name: 'quiet' }, { module_name: 'quiet', name: 'again' }] },
  });
  assert.equal((await runCli(['run', 'silent'], { cwd: repo })).code, 0);
  const logs = await runCli(['logs', 'silent@latest'], { cwd: repo });
  assert.equal(logs.code, 0);
  assert.equal(logs.stdout, '');
  assert.match(logs.stderr, /^\(no step of run \S+ printed anything: 1\. quiet succeeded, 2\. again succeeded\)\n$/);
  // A run whose steps printed: their logs, and no such note.
  assert.equal((await runCli(['run', 'good'], { cwd: repo })).code, 0);
  const printed = await runCli(['logs', 'good@latest'], { cwd: repo });
  assert.notEqual(printed.stdout, '');
  assert.equal(printed.stderr, '');
});

test('etl ledger alone, validate --json, and a cancelled run without "cancelled: cancelled"', async (t) => {
  const repo = pipelineRepo(t, DEFS);
  const ledger = await runCli(['ledger'], { cwd: repo });
  assert.equal(ledger.code, 2);
  assert.match(ledger.stderr, /etl ledger needs a subcommand: "etl ledger sync"/);
  const json = await runCli(['validate', '--json'], { cwd: repo });
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(JSON.parse(json.stdout), []);
  const { summaryLine } = await import('../../src/cli/progress.js');
  const line = summaryLine(
    { status: 'cancelled', duration_ms: 1700, error: 'cancelled' } as never,
    'runs/x',
    (_s, text) => text,
  );
  assert.equal(line, 'cancelled in 1.7s\nrecord: runs/x/run.json\n');
});

test("a failed run's scratch folder is kept for a week: the next run of the sequence removes older ones", async (t) => {
  const repo = pipelineRepo(t, DEFS);
  const old = join(tmpdir(), 'etl-good-20200101T000000000Z-0badc0de');
  const recent = join(tmpdir(), 'etl-good-20200102T000000000Z-0badc0df');
  // A run id of today: not even looked at (every run passes here; killed runs leave many).
  const today = join(
    tmpdir(),
    `etl-good-${new Date().toISOString().slice(0, 10).replace(/-/g, '')}T000000000Z-0badc0e0`,
  );
  for (const dir of [old, recent, today]) mkdirSync(dir, { recursive: true });
  t.after(() => {
    for (const dir of [old, recent, today]) rmSync(dir, { recursive: true, force: true });
  });
  const eightDaysAgo = new Date(Date.now() - 8 * 86_400_000);
  utimesSync(old, eightDaysAgo, eightDaysAgo);
  utimesSync(today, eightDaysAgo, eightDaysAgo);
  assert.equal((await runCli(['run', 'good'], { cwd: repo })).code, 0);
  assert.equal(existsSync(old), false, 'older than a week: removed');
  assert.equal(existsSync(recent), true, 'recent: kept');
  assert.equal(existsSync(today), true, "a run started this week: kept, whatever its folder's time");
});

test('etl dispatch does not take a local path remote for a GitHub repository', async (t) => {
  const repo = initRepo(pipelineRepo(t, DEFS));
  git(repo, 'remote', 'add', 'origin', '/srv/git/pipelines.git');
  const result = await runCli(['dispatch', 'good'], { cwd: repo, env: { GITHUB_TOKEN: 'x', GITHUB_REPOSITORY: '' } });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /origin is "\/srv\/git\/pipelines\.git", not a GitHub URL/);
});
