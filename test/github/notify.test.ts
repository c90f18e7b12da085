import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { issueTracker, startGitHubServer } from '../helpers/github-server.js';
import { git, initRepo } from '../helpers/git.js';
import { pipelineRepo, runCli } from '../helpers/repo.js';

const TOKEN = 'ghs_notify_token_0987654321';

test('a failing sequence opens one issue, later failures comment on it, a success closes it', async (t) => {
  const github = await startGitHubServer(t);
  const tracker = issueTracker(github);
  const repo = initRepo(
    pipelineRepo(t, {
      modules: { step: { cmd: './modules/fail.sh 5' } },
      sequences: { nightly: [{ module_name: 'step' }] },
    }),
  );
  const env = { GITHUB_TOKEN: TOKEN, GITHUB_API_URL: github.url, GITHUB_REPOSITORY: 'office/pipelines' };
  const first = await runCli(['run', 'nightly', '--commit', '--notify'], { cwd: repo, env });
  assert.equal(first.code, 1);
  assert.match(first.stderr, /opened issue #1 about nightly/);
  assert.equal(tracker.issues.length, 1);
  const [issue] = tracker.issues;
  assert.equal(issue!.title, 'etl: sequence "nightly" is failing');
  assert.deepEqual(issue!.labels, ['etl-failure']);
  assert.match(issue!.body, /Failing step: \*\*1\. step\*\* \(module `step`\): it exited with code 5\./);
  assert.match(issue!.body, /\[ledger commit\]\(https:\/\/github\.com\/office\/pipelines\/commit\/[0-9a-f]{40}\)/);
  assert.match(issue!.body, /something went wrong/);

  assert.equal((await runCli(['run', 'nightly', '--notify'], { cwd: repo, env })).code, 1);
  assert.equal(tracker.issues.length, 1, 'no second issue');
  assert.equal(issue!.comments.length, 1);

  writeFileSync(join(repo, 'modules.json'), JSON.stringify({ step: { cmd: './modules/ok.sh' } }));
  const fixed = await runCli(['run', 'nightly', '--notify'], { cwd: repo, env });
  assert.equal(fixed.code, 0, fixed.stderr);
  assert.match(fixed.stderr, /closed issue #1 about nightly/);
  assert.equal(issue!.state, 'closed');
  assert.match(issue!.comments[1]!, /succeeded again in run/);
  assert.deepEqual(github.violations, []);
  assert.ok(github.requests.every((r) => r.authorization === `token ${TOKEN}`));
});

test('a notification that cannot be sent is a warning; the run keeps its own exit code', async (t) => {
  const github = await startGitHubServer(t);
  github.on('issues/list-for-repo', () => ({
    status: 403,
    headers: { 'x-accepted-github-permissions': 'issues=write' },
    body: { message: 'Resource not accessible by integration' },
  }));
  const repo = pipelineRepo(t, {
    modules: { step: { cmd: './modules/ok.sh' } },
    sequences: { nightly: [{ module_name: 'step' }] },
  });
  const result = await runCli(['run', 'nightly', '--notify'], {
    cwd: repo,
    env: { GITHUB_TOKEN: TOKEN, GITHUB_API_URL: github.url, GITHUB_REPOSITORY: 'office/pipelines' },
  });
  assert.equal(result.code, 0);
  assert.match(
    result.stderr,
    /etl run: warning: could not notify GitHub: .*the token needs the permission issues: write/,
  );
});

test('the plan of a pull request is one comment, updated on later pushes, never duplicated', async (t) => {
  const github = await startGitHubServer(t);
  const tracker = issueTracker(github);
  const repo = initRepo(
    pipelineRepo(t, {
      modules: { ok: { cmd: './modules/ok.sh' } },
      sequences: { a: [{ module_name: 'ok' }], b: [{ module_name: 'ok' }] },
    }),
  );
  const base = git(repo, 'rev-parse', 'HEAD');
  const env = { GITHUB_TOKEN: TOKEN, GITHUB_API_URL: github.url, GITHUB_REPOSITORY: 'office/pipelines' };
  writeFileSync(join(repo, 'etl_sequences/a.json'), JSON.stringify([{ module_name: 'ok', input: 'new.csv' }]));
  git(repo, 'commit', '--quiet', '-am', 'change a');
  const first = await runCli(['pr-plan', '--base', base, '--comment', '12'], { cwd: repo, env });
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /#### `a`: sequence file changed\n\n1\. `\.\/modules\/ok\.sh --input new\.csv`/);
  assert.match(first.stderr, /created the plan comment on #12/);
  writeFileSync(join(repo, 'etl_sequences/b.json'), JSON.stringify([{ module_name: 'ok', output: 'b.csv' }]));
  git(repo, 'commit', '--quiet', '-am', 'change b');
  const second = await runCli(['pr-plan', '--base', base, '--comment', '12'], { cwd: repo, env });
  assert.match(second.stderr, /updated the plan comment on #12/);
  assert.equal(tracker.comments.length, 1);
  assert.match(tracker.comments[0]!.body, /^<!-- etl-ledger:plan -->\n### What this change would run/);
  assert.match(tracker.comments[0]!.body, /#### `b`/);
  assert.deepEqual(github.violations, []);
});
