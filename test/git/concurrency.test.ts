// Many runs in one clone at once, on the git that users have (Debian 12: 2.39).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cloneOf, git, initRepo, pipelineWithRemote, runFolders } from '../helpers/git.js';
import { pipelineRepo, runCli } from '../helpers/repo.js';

/** n sequences s1..sn of one trivial step each. */
const many = (n: number) => ({
  modules: { ok: { cmd: './modules/ok.sh' } },
  sequences: Object.fromEntries(Array.from({ length: n }, (_, i) => [`s${i + 1}`, [{ module_name: 'ok' }]])),
});

test('20 parallel etl run --commit in one working tree: every run is committed, the index is left clean', {
  timeout: 300_000,
}, async (t) => {
  const repo = initRepo(pipelineRepo(t, many(20)));
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => runCli(['run', `s${i + 1}`, '--commit'], { cwd: repo })),
  );
  for (const result of results) assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.equal(runFolders(repo).length, 20);
  assert.equal(git(repo, 'rev-list', '--count', 'HEAD'), '21');
  assert.equal(git(repo, 'status', '--porcelain'), '', 'nothing left staged or uncommitted');
});

test('parallel runs pushing from one clone while another clone pushes too: all arrive, none fights over git state', {
  timeout: 300_000,
}, async (t) => {
  const { repo, remote } = pipelineWithRemote(t, many(10));
  const other = cloneOf(t, remote);
  const results = await Promise.all([
    ...Array.from({ length: 10 }, (_, i) => runCli(['run', `s${i + 1}`, '--push'], { cwd: repo })),
    ...Array.from({ length: 5 }, (_, i) => runCli(['run', `s${i + 1}`, '--push'], { cwd: other })),
  ]);
  for (const result of results) {
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.doesNotMatch(result.stderr, /rebase-merge|index\.lock|cannot lock ref/);
  }
  assert.equal(runFolders(remote, 'main').length, 15);
  assert.equal(git(remote, 'rev-list', '--merges', 'main'), '');
});

test('--push with a dirty working tree puts the ledger commit on top of a moved remote, keeping staged and unstaged changes', async (t) => {
  const { repo, remote } = pipelineWithRemote(t, { ...many(1), files: { 'notes.txt': 'v1\n', 'draft.txt': 'd1\n' } });
  const other = cloneOf(t, remote);
  assert.equal((await runCli(['run', 's1', '--push'], { cwd: other })).code, 0); // the remote moves on
  writeFileSync(join(repo, 'notes.txt'), 'v2 staged\n');
  git(repo, 'add', 'notes.txt');
  writeFileSync(join(repo, 'draft.txt'), 'd2 unstaged\n');
  const result = await runCli(['run', 's1', '--push'], { cwd: repo });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.equal(runFolders(remote, 'main').length, 2);
  assert.equal(git(repo, 'diff', '--cached', '--name-only'), 'notes.txt', 'still staged');
  assert.equal(git(repo, 'diff', '--name-only'), 'draft.txt', 'still unstaged');
  assert.match(git(repo, 'diff', '--cached', 'notes.txt'), /\+v2 staged/);
});

test('an unknown --remote is refused before any module runs', async (t) => {
  const { repo } = pipelineWithRemote(t, many(1));
  const result = await runCli(['run', 's1', '--push', '--remote', 'upstream'], { cwd: repo });
  assert.equal(result.code, 2);
  assert.match(
    result.stderr,
    /there is no git remote "upstream" to push to; the remotes are origin \(--remote\) \[unknown-remote\]/,
  );
  assert.equal(git(repo, 'status', '--porcelain'), '', 'nothing ran, nothing was recorded');
});
