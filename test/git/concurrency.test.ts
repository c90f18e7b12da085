// Many runs in one clone at once, on the git that users have (Debian 12: 2.39).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cloneOf, git, initRepo, pipelineWithRemote, runFolders } from '../helpers/git.js';
import { pipelineRepo, runCli } from '../helpers/repo.js';
import { stressTest } from '../helpers/stress.js';

/** n sequences s1..sn of one trivial step each. */
const many = (n: number) => ({
  modules: { ok: { cmd: './modules/ok.sh' } },
  sequences: Object.fromEntries(Array.from({ length: n }, (_, i) => [`s${i + 1}`, [{ module_name: 'ok' }]])),
});

stressTest(
  '20 parallel etl run --commit in one working tree: every run is committed, the index is left clean',
  {
    timeout: 300_000,
  },
  async (t) => {
    const repo = initRepo(pipelineRepo(t, many(20)));
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => runCli(['run', `s${i + 1}`, '--commit'], { cwd: repo })),
    );
    for (const result of results) assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(runFolders(repo).length, 20);
    assert.equal(git(repo, 'rev-list', '--count', 'HEAD'), '21');
    assert.equal(git(repo, 'status', '--porcelain'), '', 'nothing left staged or uncommitted');
  },
);

stressTest(
  'parallel runs pushing from one clone while another clone pushes too: all arrive, none fights over git state',
  {
    timeout: 300_000,
  },
  async (t) => {
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
  },
);

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

test('--push with uncommitted changes to a file the remote changed too: the records reach the remote anyway, the working tree and index stay exactly as they were, and the output says how the branch relates', async (t) => {
  const { repo, remote } = pipelineWithRemote(t, { ...many(1), files: { 'notes.txt': 'v1\n', 'plan.txt': 'p1\n' } });
  const other = cloneOf(t, remote);
  // The remote changes notes.txt and plan.txt, and records a run of its own.
  writeFileSync(join(other, 'notes.txt'), 'v1\nfrom the other clone\n');
  writeFileSync(join(other, 'plan.txt'), 'p2 from the other clone\n');
  git(other, 'commit', '--quiet', '-am', 'notes and plan, elsewhere');
  git(other, 'push', '--quiet', 'origin', 'main');
  assert.equal((await runCli(['run', 's1', '--push'], { cwd: other })).code, 0);
  // Here, the same files are changed and not committed: one unstaged, one staged.
  writeFileSync(join(repo, 'notes.txt'), 'v1\nmy unfinished edit\n');
  writeFileSync(join(repo, 'plan.txt'), 'p2 staged here\n');
  git(repo, 'add', 'plan.txt');
  const before = localState(repo);

  const result = await runCli(['run', 's1', '--commit', '--push'], { cwd: repo });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.doesNotMatch(result.stderr, /overwritten|conflict/);
  assert.match(
    result.stdout,
    /your uncommitted changes to notes\.txt, plan\.txt overlap what origin\/main changed, so the ledger commits were delivered on top of origin\/main without touching your working tree or index; main is now 3 commits behind origin\/main and 1 commit ahead .*git pull --rebase/,
  );
  assert.equal(runFolders(remote, 'main').length, 2, "both clones' runs are on the remote");
  assert.equal(git(remote, 'rev-list', '--merges', 'main'), '', 'linear');
  assert.equal(git(remote, 'show', 'main:notes.txt'), 'v1\nfrom the other clone', "the remote's change is kept");
  assert.deepEqual(localState(repo), before, 'the working tree and the index are exactly as they were');

  // The next run delivers its own record, not a second copy of the first.
  const again = await runCli(['run', 's1', '--commit', '--push'], { cwd: repo });
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.equal(runFolders(remote, 'main').length, 3);
  assert.equal(git(remote, 'rev-list', '--count', 'main'), '5', 'definitions, the edit, 3 runs: no empty copies');
  assert.match(again.stdout, /main is now 4 commits behind origin\/main and 2 commits ahead/);
  assert.deepEqual(localState(repo), before);

  // Once the user has committed, pull --rebase catches up: the copies are dropped, nothing conflicts on runs/.
  git(repo, 'stash', '--quiet');
  git(repo, 'pull', '--quiet', '--rebase', 'origin', 'main');
  assert.equal(git(repo, 'rev-parse', 'HEAD'), git(remote, 'rev-parse', 'main'));
});

/** What a user has not committed: the files' content, what is staged, what is not. */
function localState(repo: string) {
  return {
    status: git(repo, 'status', '--porcelain'),
    staged: git(repo, 'diff', '--cached'),
    unstaged: git(repo, 'diff'),
    notes: readFileSync(join(repo, 'notes.txt'), 'utf8'),
    plan: readFileSync(join(repo, 'plan.txt'), 'utf8'),
  };
}

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
