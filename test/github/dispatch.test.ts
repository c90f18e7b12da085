import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { startGitHubServer } from '../helpers/github-server.js';
import { git } from '../helpers/git.js';
import { pipelineRepo, runCli } from '../helpers/repo.js';

const TOKEN = 'ghs_test_token_never_printed_1234567890';
const DEFINITIONS = { modules: { ok: { cmd: './modules/ok.sh' } }, sequences: { daily: [{ module_name: 'ok' }] } };

function env(url: string, extra: Record<string, string> = {}) {
  return {
    GITHUB_TOKEN: TOKEN,
    GITHUB_API_URL: url,
    GITHUB_REPOSITORY: 'office/pipelines',
    GITHUB_ACTIONS: '',
    ...extra,
  };
}

test('etl dispatch starts etl-dispatch.yml with the sequence, as the API description says', async (t) => {
  const github = await startGitHubServer(t);
  github.on('actions/create-workflow-dispatch', () => ({
    status: 200,
    body: {
      workflow_run_id: 77,
      run_url: `${github.url}/repos/office/pipelines/actions/runs/77`,
      html_url: 'https://github.com/office/pipelines/actions/runs/77',
    },
  }));
  const repo = pipelineRepo(t, DEFINITIONS);
  const result = await runCli(['dispatch', 'daily', '--ref', 'main', '--input', 'dry_run=true'], {
    cwd: repo,
    env: env(github.url),
  });
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stdout,
    /dispatched daily on office\/pipelines@main: https:\/\/github\.com\/office\/pipelines\/actions\/runs\/77/,
  );
  assert.deepEqual(github.violations, []);
  const [request] = github.requests;
  assert.equal(request!.path, '/repos/office/pipelines/actions/workflows/etl-dispatch.yml/dispatches');
  assert.deepEqual(request!.body, {
    ref: 'main',
    inputs: { sequence: 'daily', dry_run: 'true' },
    return_run_details: true,
  });
  assert.equal(request!.authorization, `token ${TOKEN}`);
  assert.doesNotMatch(result.stdout + result.stderr, new RegExp(TOKEN));
});

test('etl dispatch --wait follows the run to its conclusion and exits with it', async (t) => {
  const github = await startGitHubServer(t);
  github.on('actions/create-workflow-dispatch', () => ({ status: 204 })); // no run details: find the run
  let polls = 0;
  github.on('actions/list-workflow-runs', () => ({
    status: 200,
    body: {
      total_count: 1,
      workflow_runs: [
        {
          id: 91,
          html_url: 'https://github.com/office/pipelines/actions/runs/91',
          status: 'queued',
          created_at: new Date().toISOString(),
        },
      ],
    },
  }));
  github.on('actions/get-workflow-run', () => {
    polls++;
    return {
      status: 200,
      body: {
        id: 91,
        html_url: 'https://github.com/office/pipelines/actions/runs/91',
        status: polls < 3 ? 'in_progress' : 'completed',
        conclusion: polls < 3 ? null : 'failure',
      },
    };
  });
  const repo = pipelineRepo(t, DEFINITIONS);
  const result = await runCli(['dispatch', 'daily', '--wait', '--poll-ms', '10'], { cwd: repo, env: env(github.url) });
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    result.stdout,
    /^dispatched daily on office\/pipelines@main\nworkflow run in_progress: https:\/\/github\.com\/office\/pipelines\/actions\/runs\/91\nworkflow run completed/,
  );
  assert.match(result.stdout, /concluded: failure/);
  assert.deepEqual(github.violations, []);
  const list = github.requests.find((r) => r.operationId === 'actions/list-workflow-runs')!;
  assert.equal(list.query.event, 'workflow_dispatch');
});

const failures: Array<[string, number, Record<string, string>, RegExp, string]> = [
  [
    'a refused token',
    401,
    {},
    /GitHub refused the token to dispatch etl-dispatch\.yml \(401 Bad credentials\): check that GITHUB_TOKEN is valid/,
    'github-token',
  ],
  [
    'a missing permission',
    403,
    { 'x-accepted-github-permissions': 'actions=write' },
    /GitHub denied dispatch etl-dispatch\.yml in office\/pipelines at .* \(403 .*\): the token needs the permission actions: write/,
    'github-permission',
  ],
  [
    'a missing workflow',
    404,
    {},
    /GitHub found nothing to dispatch etl-dispatch\.yml in office\/pipelines .*\(404\)/,
    'github-not-found',
  ],
  ['an invalid request', 422, {}, /GitHub rejected the request to dispatch etl-dispatch\.yml \(422 /, 'github-failed'],
];
for (const [what, status, headers, message, code] of failures) {
  test(`etl dispatch explains ${what} (${status}) without printing the token`, async (t) => {
    const github = await startGitHubServer(t);
    const messages: Record<number, string> = {
      401: 'Bad credentials',
      403: 'Resource not accessible by integration',
      404: 'Not Found',
      422: 'Unexpected inputs provided',
    };
    github.on('actions/create-workflow-dispatch', () => ({ status, headers, body: { message: messages[status] } }));
    const result = await runCli(['dispatch', 'daily'], { cwd: pipelineRepo(t, DEFINITIONS), env: env(github.url) });
    assert.equal(result.code, 4, 'a refusal by GitHub is a remote failure, not a usage error');
    assert.match(result.stderr, message);
    assert.match(result.stderr, new RegExp(`\\[${code}\\]`));
    assert.doesNotMatch(result.stderr + result.stdout, new RegExp(TOKEN));
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });
}

test('a rate limit is waited out as the headers say, then the call goes through', async (t) => {
  const github = await startGitHubServer(t);
  let calls = 0;
  github.on('actions/create-workflow-dispatch', () =>
    ++calls === 1
      ? {
          status: 403,
          headers: { 'retry-after': '1', 'x-ratelimit-remaining': '0' },
          body: { message: 'API rate limit exceeded' },
        }
      : { status: 204 },
  );
  const result = await runCli(['dispatch', 'daily'], { cwd: pipelineRepo(t, DEFINITIONS), env: env(github.url) });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(calls, 2);
});

test('no token, or no server listening: clear errors', async (t) => {
  const repo = pipelineRepo(t, DEFINITIONS);
  const noToken = await runCli(['dispatch', 'daily'], {
    cwd: repo,
    env: { GITHUB_TOKEN: '', GITHUB_REPOSITORY: 'office/pipelines' },
  });
  assert.equal(noToken.code, 2);
  assert.match(noToken.stderr, /GITHUB_TOKEN is not set.*\[github-token-missing\]/);
  // A port nothing listens on: take one, then close it.
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
  const refused = await runCli(['dispatch', 'daily'], { cwd: repo, env: env(`http://127.0.0.1:${port}`) });
  assert.equal(refused.code, 4);
  assert.match(
    refused.stderr,
    /cannot reach the GitHub API at http:\/\/127\.0\.0\.1:\d+ to dispatch etl-dispatch\.yml: ECONNREFUSED/,
  );
});

test('without --ref the branch is the remote default (else the one checked out); a bad --poll-ms is refused', async (t) => {
  const github = await startGitHubServer(t);
  github.on('actions/create-workflow-dispatch', () => ({ status: 204 }));
  const repo = pipelineRepo(t, DEFINITIONS);
  git(repo, 'init', '--quiet', '--initial-branch=trunk');
  const result = await runCli(['dispatch', 'daily'], { cwd: repo, env: env(github.url) });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, 'dispatched daily on office/pipelines@trunk\n');
  assert.equal((github.requests[0]!.body as { ref: string }).ref, 'trunk');
  assert.deepEqual(github.violations, []);
  const bad = await runCli(['dispatch', 'daily', '--wait', '--poll-ms', 'soon'], { cwd: repo, env: env(github.url) });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--poll-ms takes a whole number of milliseconds above 0, got "soon"/);
  assert.equal(github.requests.length, 1, 'nothing sent');
});

test('etl dispatch --param and --tick fill the workflow inputs, checked against the sequence first', async (t) => {
  const github = await startGitHubServer(t);
  github.on('actions/create-workflow-dispatch', () => ({ status: 204 }));
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: { daily: { params: { region: { default: 'es' }, day: {} }, steps: [{ module_name: 'ok' }] } },
  });
  const sent = await runCli(
    [
      'dispatch',
      'daily',
      '--ref',
      'main',
      '--param',
      'day=2026-11-01',
      '--param',
      'region=fr',
      '--tick',
      '2026-11-01T07:00:00+01:00',
    ],
    { cwd: repo, env: env(github.url) },
  );
  assert.equal(sent.code, 0, sent.stderr);
  assert.deepEqual(github.violations, []);
  assert.deepEqual((github.requests[0]!.body as { inputs: unknown }).inputs, {
    sequence: 'daily',
    params: 'day=2026-11-01 region=fr',
    tick: '2026-11-01T06:00:00.000Z',
  });
  for (const [args, message] of [
    [['--param', 'zone=x', '--param', 'day=1'], /sequence "daily" has no param "zone"; its params are region, day/],
    [[], /param "day" of sequence "daily" has no default: give it with --param day=VALUE/],
    [['--param', 'day=one two'], /--param day: .* cannot be empty or hold a space, got "one two"/],
    [['--param', 'day=1', '--tick', 'tomorrow'], /--tick takes an ISO 8601 time/],
  ] as const) {
    const refused = await runCli(['dispatch', 'daily', '--ref', 'main', ...args], { cwd: repo, env: env(github.url) });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, message);
  }
  assert.equal(github.requests.length, 1, 'nothing sent for a refused dispatch');
});
