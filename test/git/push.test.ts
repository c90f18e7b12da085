// What a push costs: git processes per run, and when it pauses. Counted through a `git` on PATH
// that notes each call, then hands it to the real git.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { pushLedger } from '../../src/git/push.js';
import { cloneOf, git, pipelineWithRemote, runFolders } from '../helpers/git.js';
import { runCli, tempRepo } from '../helpers/repo.js';

const ONE_STEP = { modules: { ok: { cmd: './modules/ok.sh' } }, sequences: { s: [{ module_name: 'ok' }] } };
const REAL_GIT = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();

/**
 * A folder with a `git` that appends its arguments' first line to `calls` and runs `before` (a shell
 * snippet, given the arguments) first; returns a PATH that finds it before the real git.
 */
function gitSpy(t: TestContext, before = ''): { path: string; calls: () => string[] } {
  const dir = tempRepo(t);
  const log = join(dir, 'calls');
  writeFileSync(log, '');
  writeFileSync(
    join(dir, 'git'),
    `#!/bin/sh\necho "$*" | head -n 1 >> "${log}"\n${before}\nexec "${REAL_GIT}" "$@"\n`,
    {
      mode: 0o755,
    },
  );
  return {
    path: `${dir}:${process.env.PATH}`,
    calls: () => readFileSync(log, 'utf8').split('\n').filter(Boolean),
  };
}

test('etl run --commit --push starts at most 17 git processes, and 21 from a clone the remote has moved past', async (t) => {
  const { repo, remote } = pipelineWithRemote(t, ONE_STEP);
  const clone = cloneOf(t, remote);
  const spy = gitSpy(t);
  const upToDate = await runCli(['run', 's', '--commit', '--push'], { cwd: clone, env: { PATH: spy.path } });
  assert.equal(upToDate.code, 0, upToDate.stdout + upToDate.stderr);
  const first = spy.calls();
  assert.ok(first.length <= 17, `${first.length} git processes:\n${first.join('\n')}`);

  assert.equal((await runCli(['run', 's', '--push'], { cwd: repo })).code, 0); // the remote moves on
  const behind = await runCli(['run', 's', '--commit', '--push'], { cwd: clone, env: { PATH: spy.path } });
  assert.equal(behind.code, 0, behind.stdout + behind.stderr);
  assert.match(behind.stdout, /pushed to origin main \(after 2 attempts\)/);
  const second = spy.calls().slice(first.length);
  // Only the refused push and what catches up with the remote come on top: fetch, identity
  // (asked while the fetch runs), rebase (before: also a status and the remote's tip before
  // the rebase; before that, a back-off and five git processes more).
  assert.ok(second.length <= 21, `${second.length} git processes:\n${second.join('\n')}`);
  assert.equal(runFolders(remote, 'main').length, 3);
  assert.equal(git(remote, 'rev-list', '--merges', 'main'), '');
});

test('a push that keeps losing races catches up at once after the first refusal and backs off after the next, never holding the git lock while it waits', async (t) => {
  const { repo, remote } = pipelineWithRemote(t, ONE_STEP);
  const rival = cloneOf(t, remote);
  // Before each of our first 3 pushes, another runner's push lands: each of them is refused.
  const raced = join(tempRepo(t), 'raced');
  const spy = gitSpy(
    t,
    `if [ "$1" = push ] && [ "$(wc -l < "${raced}" 2>/dev/null || echo 0)" -lt 3 ]; then
  echo x >> "${raced}"
  cd "${rival}" && "${REAL_GIT}" pull --quiet --rebase origin main && "${REAL_GIT}" commit --quiet --allow-empty -m race && "${REAL_GIT}" push --quiet origin HEAD:main || exit 9
  cd - > /dev/null
fi`,
  );
  writeFileSync(join(repo, 'ledger.txt'), 'a record\n');
  git(repo, 'add', 'ledger.txt');
  git(repo, 'commit', '--quiet', '-m', 'a ledger commit');

  const lock = join(repo, '.git/etl-ledger.lock');
  const events: string[] = [];
  const result = await pushLedger(repo, {
    env: { ...process.env, PATH: spy.path },
    onRetry: (attempt) => events.push(`refused ${attempt}`),
    pause: async () => events.push(existsSync(lock) ? 'pause holding the lock' : 'pause'),
  });
  assert.deepEqual(events, ['refused 1', 'refused 2', 'pause', 'refused 3', 'pause']);
  assert.equal(result.attempts, 4);
  assert.equal(git(remote, 'rev-parse', 'main'), git(repo, 'rev-parse', 'HEAD'));
  assert.equal(git(remote, 'show', 'main:ledger.txt'), 'a record');
  assert.equal(git(remote, 'rev-list', '--count', 'main'), '5', 'definitions, 3 rival commits, ours: linear');
  assert.equal(git(remote, 'rev-list', '--merges', 'main'), '');
});

test('a push that must catch up never aborts a rebase the person has in progress in the clone', async (t) => {
  const { repo, remote } = pipelineWithRemote(t, ONE_STEP);
  const clone = cloneOf(t, remote);
  // Two commits of the person's own, and an interactive rebase stopped at the first for an edit.
  writeFileSync(join(clone, 'notes.txt'), 'one\n');
  git(clone, 'add', 'notes.txt');
  git(clone, 'commit', '--quiet', '-m', 'one');
  writeFileSync(join(clone, 'notes.txt'), 'two\n');
  git(clone, 'commit', '--quiet', '-am', 'two');
  execFileSync('git', ['rebase', '--quiet', '-i', 'HEAD~2'], {
    cwd: clone,
    env: { ...process.env, GIT_SEQUENCE_EDITOR: "sed -i '1s/^pick/edit/'" },
  });
  assert.ok(existsSync(join(clone, '.git/rebase-merge')));
  assert.equal((await runCli(['run', 's', '--push'], { cwd: repo })).code, 0); // the remote moves on

  const run = await runCli(['run', 's', '--commit', '--push', '--branch', 'main'], { cwd: clone });
  assert.ok(existsSync(join(clone, '.git/rebase-merge')), `the rebase was aborted:\n${run.stdout}${run.stderr}`);
  assert.equal(readFileSync(join(clone, 'notes.txt'), 'utf8'), 'one\n');
  // The run's records reach the remote all the same, built beside HEAD.
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.equal(runFolders(remote, 'main').length, 2);
});

test('a remote given to pushLedger is never read as an option of git push (--receive-pack runs nothing)', async (t) => {
  const { repo } = pipelineWithRemote(t, ONE_STEP);
  const marker = join(tempRepo(t), 'ssh-ran');
  // Read as an option, the "remote" would set the remote's program, and git would take the
  // refspec (HEAD:refs/heads/main) for an scp-like address: ssh to "HEAD", noted in `marker`.
  const env = { ...process.env, GIT_SSH_COMMAND: `echo > ${marker}` };
  const failure = await pushLedger(repo, { remote: '--receive-pack=touch pwned', env }).catch(
    (error: unknown) => error,
  );
  assert.ok(failure instanceof Error);
  assert.match(failure.message, /git push to --receive-pack=touch pwned main failed/);
  if (existsSync(marker)) assert.fail(`git read the remote as an option: ${readFileSync(marker, 'utf8')}`);
});
