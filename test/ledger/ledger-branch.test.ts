// Switching to a ledger branch keeps one ledger: runs recorded before and after, paths that
// exist, CI that follows. And --at keeps what modules wrote into its checkout.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cloneOf, git, pipelineWithRemote } from '../helpers/git.js';
import { runCli } from '../helpers/repo.js';

const DEFS = {
  modules: { ok: { cmd: './modules/ok.sh' }, dump: { cmd: './modules/env-dump.mjs' } },
  sequences: {
    s: { schedule: '0 3 * * *', steps: [{ module_name: 'ok' }] },
    write: [{ module_name: 'dump', output: 'dump.json' }],
  },
};

test('after switching to --ledger-branch, history, show, logs, log and due see the runs recorded before and after', async (t) => {
  const { repo } = pipelineWithRemote(t, DEFS);
  const before = await runCli(['run', 's', '--commit'], { cwd: repo });
  assert.equal(before.code, 0, before.stderr);
  const beforeId = /record: runs\/s\/\d{4}\/\d{2}\/\d{2}\/(\S+)\/run\.json/.exec(before.stdout)![1]!;
  const after = await runCli(['run', 's', '--commit', '--ledger-branch', 'etl-runs'], { cwd: repo });
  assert.equal(after.code, 0, after.stderr);
  // The printed record path exists from where the command ran.
  const record = /record: (\S+)/.exec(after.stdout)![1]!;
  assert.ok(existsSync(join(repo, record)), record);
  const history = JSON.parse((await runCli(['history', '--json'], { cwd: repo })).stdout) as Array<{ id: string }>;
  assert.equal(history.length, 2);
  assert.equal(history[1]!.id, beforeId);
  assert.match((await runCli(['show', beforeId], { cwd: repo })).stdout, new RegExp(`run ${beforeId}`));
  assert.match((await runCli(['logs', beforeId], { cwd: repo })).stdout, /ok\.sh/);
  assert.equal(JSON.parse((await runCli(['log', '--json'], { cwd: repo })).stdout).length, 2);
  // Both runs count for the schedule: nothing is due right after them.
  assert.deepEqual(
    JSON.parse((await runCli(['due', '--json', '--now', new Date().toISOString()], { cwd: repo })).stdout),
    [],
  );
});

test('workflows generate carries the ledger branch into CI, where commands follow it without git config', async (t) => {
  const { repo, remote } = pipelineWithRemote(t, DEFS);
  assert.equal((await runCli(['run', 's', '--push', '--ledger-branch', 'etl-runs'], { cwd: repo })).code, 0);
  assert.equal((await runCli(['workflows', 'generate'], { cwd: repo })).code, 0);
  for (const file of ['etl-run.yml', 'etl-schedule.yml', 'etl-dispatch.yml', 'etl-validate.yml']) {
    assert.match(
      readFileSync(join(repo, '.github/workflows', file), 'utf8'),
      /^env:\n {2}ETL_LEDGER_BRANCH: 'etl-runs'\n/m,
      file,
    );
  }
  // A CI checkout has no git config of ours: the workflow's env is enough.
  const ci = cloneOf(t, remote);
  const env = { ETL_LEDGER_BRANCH: 'etl-runs' };
  assert.equal(JSON.parse((await runCli(['history', '--json'], { cwd: ci, env })).stdout).length, 1);
  assert.equal((await runCli(['run', 's', '--push'], { cwd: ci, env })).code, 0);
  assert.equal(
    git(remote, 'ls-tree', '-r', '--name-only', 'etl-runs')
      .split('\n')
      .filter((p) => p.endsWith('run.json')).length,
    2,
  );
  assert.equal(
    git(remote, 'ls-tree', '-r', '--name-only', 'main')
      .split('\n')
      .filter((p) => p.startsWith('runs/')).length,
    0,
  );
  git(repo, 'add', '-A');
  git(repo, 'commit', '--quiet', '-m', 'workflows');
  git(repo, 'push', '--quiet', 'origin', 'main');
  assert.equal(
    (await runCli(['workflows', 'check'], { cwd: cloneOf(t, remote), env })).code,
    0,
    'check in CI agrees with generate here',
  );
});

test('run --at COMMIT: what modules write into the checkout is kept there, and the run says where', async (t) => {
  const { repo } = pipelineWithRemote(t, DEFS);
  const commit = git(repo, 'rev-parse', 'HEAD');
  const result = await runCli(['run', 'write', '--at', commit], { cwd: repo });
  assert.equal(result.code, 0, result.stderr);
  const kept = /kept in (\S+) \(dump\.json\)/.exec(result.stderr);
  assert.ok(kept, result.stderr);
  assert.ok(existsSync(join(kept[1]!, 'dump.json')), 'the output is still there');
  t.after(() => rmSync(join(kept[1]!, '..'), { recursive: true, force: true }));
  // A run that writes nothing into the checkout leaves nothing behind.
  const clean = await runCli(['run', 's', '--at', commit], { cwd: repo });
  assert.equal(clean.code, 0);
  assert.doesNotMatch(clean.stderr, /kept in/);
});
