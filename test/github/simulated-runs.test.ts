import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { simulateWorkflow } from '../helpers/actions-runner.js';
import { issueTracker, startGitHubServer } from '../helpers/github-server.js';
import { cloneOf, git, pipelineWithRemote } from '../helpers/git.js';
import { runCli, tempRepo } from '../helpers/repo.js';

const DEFINITIONS = {
  modules: { ok: { cmd: './modules/ok.sh' }, fail: { cmd: './modules/fail.sh 2' } },
  sequences: {
    hourly: { schedule: '17 * * * *', steps: [{ module_name: 'ok' }] },
    nightly: { schedule: '30 2 * * *', timezone: 'Europe/Madrid', steps: [{ module_name: 'fail' }] },
  },
};

/** A pipeline repository with its workflows on a bare remote, and a fresh checkout of it as a job would have. */
async function setup(t: TestContext) {
  const { repo, remote } = pipelineWithRemote(t, DEFINITIONS);
  assert.equal((await runCli(['workflows', 'generate'], { cwd: repo })).code, 0);
  git(repo, 'add', '-A');
  git(repo, 'commit', '--quiet', '-m', 'workflows');
  git(repo, 'push', '--quiet', 'origin', 'main');
  const github = await startGitHubServer(t);
  const tracker = issueTracker(github);
  const env = {
    GITHUB_TOKEN: 'ghs_simulated',
    GITHUB_API_URL: github.url,
    GITHUB_REPOSITORY: 'office/pipelines',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_RUN_ID: '555',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_ACTOR: 'octocat',
    GITHUB_REF: 'refs/heads/main',
  };
  return { repo, remote, github, tracker, env, scratch: tempRepo(t) };
}

const ledgerSequences = (remote: string) =>
  git(remote, 'log', '--format=%(trailers:key=Etl-Sequence,valueonly)', 'main').split('\n').filter(Boolean).sort();

test('push: the changed sequence runs in its matrix job, and its run lands in the remote ledger', async (t) => {
  const { repo, remote, github, env, scratch } = await setup(t);
  const before = git(repo, 'rev-parse', 'HEAD');
  writeFileSync(
    join(repo, 'etl_sequences/hourly.json'),
    JSON.stringify({ schedule: '17 * * * *', steps: [{ module_name: 'ok', input: 'a.csv' }] }),
  );
  git(repo, 'commit', '--quiet', '-am', 'hourly reads a.csv');
  git(repo, 'push', '--quiet', 'origin', 'main');
  const workspace = cloneOf(t, remote);
  const runs = await simulateWorkflow({
    workspace,
    workflow: 'etl-run.yml',
    eventName: 'push',
    event: { before, after: git(repo, 'rev-parse', 'HEAD') },
    env: { ...env, GITHUB_SHA: git(repo, 'rev-parse', 'HEAD') },
    scratch,
  });
  assert.deepEqual(
    runs.map((r) => [r.job, r.matrix]),
    [
      ['changed', undefined],
      ['run', { sequence: 'hourly' }],
    ],
  );
  assert.equal(runs[0]!.outputs.sequences, '["hourly"]');
  const run = runs[1]!;
  assert.deepEqual(
    run.steps.map((s) => s.code),
    [0],
    run.steps.map((s) => s.stdout + s.stderr).join('\n'),
  );
  assert.match(run.steps[0]!.stdout, /::group::1\/1 ok\n::stop-commands::/);
  assert.match(run.summary, /### etl run `hourly`: succeeded/);
  assert.deepEqual(ledgerSequences(remote), ['hourly']);
  assert.match(git(remote, 'log', '-1', '--format=%(trailers:key=Etl-Trigger,valueonly)', 'main'), /^push by octocat/);
  assert.deepEqual(github.violations, []);
});

test('push of a new branch ("before" is all zeros): every sequence runs; a failure opens an issue', async (t) => {
  const { remote, github, tracker, env, scratch } = await setup(t);
  const workspace = cloneOf(t, remote);
  const runs = await simulateWorkflow({
    workspace,
    workflow: 'etl-run.yml',
    eventName: 'push',
    event: { before: '0'.repeat(40) },
    env,
    scratch,
  });
  assert.deepEqual(
    runs.filter((r) => r.job === 'run').map((r) => r.matrix!.sequence),
    ['hourly', 'nightly'],
  );
  const nightly = runs.find((r) => r.matrix?.sequence === 'nightly')!;
  assert.equal(nightly.steps[0]!.code, 1);
  assert.match(nightly.steps[0]!.stderr, /opened issue #1 about nightly/);
  assert.deepEqual(
    tracker.issues.map((i) => [i.title, i.state]),
    [['etl: sequence "nightly" is failing', 'open']],
  );
  assert.deepEqual(ledgerSequences(remote), ['hourly', 'nightly']);
  assert.deepEqual(github.violations, []);
});

test('schedule: the tick that fired runs its sequences; workflow_dispatch runs the chosen one, or only plans it', async (t) => {
  const { remote, env, scratch } = await setup(t);
  const workspace = cloneOf(t, remote);
  const scheduled = await simulateWorkflow({
    workspace,
    workflow: 'etl-schedule.yml',
    eventName: 'schedule',
    event: { schedule: '17 * * * *' },
    env,
    scratch,
  });
  const due = JSON.parse(scheduled[0]!.outputs.sequences!) as string[];
  assert.ok(due.includes('hourly'), scheduled[0]!.steps.map((s) => s.stdout + s.stderr).join(''));
  assert.ok(ledgerSequences(remote).includes('hourly'));

  const dry = await simulateWorkflow({
    workspace: cloneOf(t, remote),
    workflow: 'etl-dispatch.yml',
    eventName: 'workflow_dispatch',
    event: {},
    inputs: { sequence: 'hourly', dry_run: true },
    env,
    scratch,
  });
  assert.match(dry[0]!.steps[0]!.stdout, /dry run: nothing was run or recorded/);
  const count = ledgerSequences(remote).length;
  const real = await simulateWorkflow({
    workspace: cloneOf(t, remote),
    workflow: 'etl-dispatch.yml',
    eventName: 'workflow_dispatch',
    event: {},
    inputs: { sequence: 'hourly', dry_run: false },
    env,
    scratch,
  });
  assert.equal(real[0]!.steps[0]!.code, 0);
  assert.equal(ledgerSequences(remote).length, count + 1);
});

test('pull_request: one plan comment, updated on the next push; a broken definition stops at annotations; nothing runs', async (t) => {
  const { repo, remote, github, tracker, env, scratch } = await setup(t);
  const base = git(repo, 'rev-parse', 'HEAD');
  const pullRequest = async (edit: string, message: string) => {
    writeFileSync(join(repo, 'etl_sequences/hourly.json'), edit);
    git(repo, 'commit', '--quiet', '-am', message);
    git(repo, 'push', '--quiet', 'origin', 'change');
    const workspace = cloneOf(t, remote);
    git(workspace, 'checkout', '--quiet', 'change');
    const [job] = await simulateWorkflow({
      workspace,
      workflow: 'etl-validate.yml',
      eventName: 'pull_request',
      event: { pull_request: { number: 3, base: { sha: base } } },
      env,
      scratch,
    });
    return job!;
  };
  git(repo, 'checkout', '--quiet', '-b', 'change');

  const first = await pullRequest(
    JSON.stringify({ schedule: '17 * * * *', steps: [{ module_name: 'ok', input: 'a.csv' }] }),
    'read a.csv',
  );
  assert.deepEqual(
    first.steps.map((s) => s.code),
    [0, 0, 0],
    first.steps.map((s) => s.stdout + s.stderr).join('\n'),
  );
  assert.equal(tracker.comments.length, 1);
  assert.equal(tracker.comments[0]!.issue, 3);
  assert.match(tracker.comments[0]!.body, /hourly/);
  assert.match(first.summary, /hourly/);

  const second = await pullRequest(
    JSON.stringify({ schedule: '17 * * * *', steps: [{ module_name: 'ok', input: 'b.csv' }] }),
    'read b.csv',
  );
  assert.deepEqual(
    second.steps.map((s) => s.code),
    [0, 0, 0],
  );
  assert.equal(tracker.comments.length, 1, 'the same comment, updated');
  assert.match(tracker.comments[0]!.body, /b\.csv/);

  const broken = await pullRequest(
    JSON.stringify({ schedule: '17 * * * *', steps: [{ module_name: 'okk' }] }),
    'a typo',
  );
  assert.equal(broken.steps.length, 1, 'the job stopped at the failing validation');
  assert.equal(broken.steps[0]!.code, 2);
  assert.match(
    broken.steps[0]!.stdout,
    /^::error file=etl_sequences\/hourly\.json,line=1,col=\d+,title=etl unknown-module::unknown module "okk" \(did you mean "ok"\?\)/m,
  );
  assert.deepEqual(ledgerSequences(remote), [], 'nothing ran');
  assert.deepEqual(github.violations, []);
});
