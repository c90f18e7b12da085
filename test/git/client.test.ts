// git.ts's client for one repository: what a command answers, how a failure reads, one
// command at a time, and a git that stops answering.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { EtlError } from '../../src/errors.js';
import { gitOperation, isGitError, openGit } from '../../src/git/git.js';
import { runGit } from '../../src/git/run-git.js';
import { initRepo } from '../helpers/git.js';
import { tempRepo } from '../helpers/repo.js';

test('a git command that fails without a word answers with what it printed; one that says why throws its words', async (t) => {
  const repo = initRepo(tempRepo(t, { 'a.txt': 'a\n' }));
  const git = openGit(repo);
  // Exit 1 and nothing on stderr: "not set", "no such commit" are answers, not errors.
  assert.equal(await git.raw(['config', '--get', 'no.such']), '');
  assert.equal(await git.raw(['rev-parse', '--verify', '--quiet', 'nosuch^{commit}']), '');
  assert.equal((await git.raw(['rev-parse', 'HEAD'])).trim().length, 40);

  const failure = await git.raw(['checkout', 'nosuch-branch']).catch((error: unknown) => error);
  assert.ok(isGitError(failure), String(failure));
  assert.match((failure as Error).message, /nosuch-branch/);
  assert.ok((failure as { exitCode: number }).exitCode > 0);

  // A ledger operation turns it into a located EtlError with git's own words, never a stack trace.
  const wrapped = await gitOperation('switching', () => git.raw(['checkout', 'nosuch-branch'])).catch(
    (error: unknown) => error,
  );
  assert.ok(wrapped instanceof EtlError);
  assert.equal(wrapped.code, 'git-failed');
  assert.match(wrapped.message, /^switching failed: .*nosuch-branch/);
});

test('one client runs one git command at a time (parallel index writers would collide on index.lock)', async (t) => {
  const repo = initRepo(tempRepo(t));
  const bin = tempRepo(t);
  const log = join(bin, 'log');
  writeFileSync(log, '');
  const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  // Each call notes its start, lingers, and notes its end: overlapping calls would interleave.
  writeFileSync(
    join(bin, 'git'),
    `#!/bin/sh\necho "start $3" >> "${log}"\nsleep 0.1\n"${realGit}" "$@"\ncode=$?\necho "end $3" >> "${log}"\nexit $code\n`,
    { mode: 0o755 },
  );
  const git = openGit(repo, { ...process.env, PATH: `${bin}:${process.env.PATH}` });
  const answers = await Promise.all(
    ['a', 'b', 'c'].map((key) => git.raw(['config', '--get', `x.${key}`]).catch((error: unknown) => error)),
  );
  assert.deepEqual(answers, ['', '', '']);
  assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), [
    'start x.a',
    'end x.a',
    'start x.b',
    'end x.b',
    'start x.c',
    'end x.c',
  ]);
});

test('a git that writes nothing for its idle limit is stopped and says so', async (t) => {
  const repo = initRepo(tempRepo(t));
  // An SSH "connection" that never answers: git waits on it, silent.
  const outcome = await runGit(repo, ['ls-remote', 'ssh://example.invalid/x.git'], {
    extra: { GIT_SSH_COMMAND: 'sleep 5;' },
    idleTimeoutMs: 300,
  });
  assert.equal(outcome.code, -1);
  assert.match(outcome.stderr, /^git ls-remote wrote nothing for .* and was stopped$/);
});

test('a git ended by a signal (a Ctrl-C reaches the whole group) fails, saying so, and is never taken for an answer', async (t) => {
  const repo = initRepo(tempRepo(t));
  const bin = tempRepo(t);
  writeFileSync(join(bin, 'git'), '#!/bin/sh\nkill -INT $$\n', { mode: 0o755 });
  const git = openGit(repo, { ...process.env, PATH: `${bin}:${process.env.PATH}` });
  const failure = await git
    .raw(['push', '--porcelain', '--', 'origin', 'HEAD:refs/heads/main'])
    .catch((error: unknown) => error);
  assert.ok(isGitError(failure), String(failure));
  assert.equal(failure.message, 'git push was stopped by SIGINT');
});
