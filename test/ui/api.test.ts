// The JSON API of `etl ui` over a ledger made by real runs, through a real HTTP server.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { RunRecord, StepRecord } from '../../src/runner/records.js';
import { allowedHost } from '../../src/ui/server.js';
import { networkInterfaces } from 'node:os';
import { githubWeb, originWeb, runLinks } from '../../src/github/remote.js';
import { git, initRepo } from '../helpers/git.js';
import { pipelineRepo, runCli, startCli } from '../helpers/repo.js';
import { uiServerOn } from '../helpers/ui-server.js';

const DEFINITIONS = {
  modules: { ok: { cmd: './modules/ok.sh' }, fail: { cmd: './modules/fail.sh 4' } },
  sequences: {
    good: {
      description: 'a <script>window.pwned=1</script> "><img onerror=x>',
      schedule: '0 3 * * *',
      steps: [{ module_name: 'ok' }, { module_name: 'ok', name: 'second' }],
    },
    bad: [{ module_name: 'ok' }, { module_name: 'fail' }],
  },
};

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(url: string, path: string, options: { method?: string; host?: string } = {}): Promise<Reply> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { hostname, port, path, method: options.method ?? 'GET', headers: options.host ? { host: options.host } : {} },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const serve = async (t: TestContext, repo: string) =>
  uiServerOn(t, repo, { remote: await originWeb(repo, process.env) });

async function ledger(t: TestContext) {
  const repo = pipelineRepo(t, DEFINITIONS);
  for (let i = 0; i < 5; i++) assert.equal((await runCli(['run', 'good'], { cwd: repo })).code, 0);
  assert.equal((await runCli(['run', 'bad'], { cwd: repo })).code, 1);
  return repo;
}

test('the API lists sequences with their schedule, last run and recent runs, and pages runs with a cursor', async (t) => {
  const repo = await ledger(t);
  const url = await serve(t, repo);
  const sequences = JSON.parse((await get(url, '/api/sequences')).body).sequences as Array<Record<string, unknown>>;
  assert.deepEqual(
    sequences.map((s) => [s.name, (s.last as RunRecord).status, (s.recent as unknown[]).length, s.success_rate]),
    [
      ['bad', 'failed', 1, 0],
      ['good', 'succeeded', 5, 1],
    ],
  );
  const good = sequences.find((s) => s.name === 'good')!;
  assert.equal(good.schedule, '0 3 * * *');
  assert.match(String(good.next_run), /T03:00:00\.000Z$/);
  assert.equal(good.description, DEFINITIONS.sequences.good.description, 'text is data: escaping is the page’s job');

  // Pages of 2, newest first, until the cursor runs out: every run once, in order.
  const seen: string[] = [];
  let next: string | null = '';
  for (let page = 0; next !== null && page < 10; page++) {
    const reply = JSON.parse((await get(url, `/api/runs?limit=2${next ? `&before=${next}` : ''}`)).body);
    seen.push(...reply.runs.map((r: RunRecord) => r.id));
    next = reply.next;
  }
  assert.equal(seen.length, 6);
  assert.deepEqual(seen, [...seen].sort().reverse());
  const failed = JSON.parse((await get(url, '/api/runs?status=failed')).body).runs as RunRecord[];
  assert.deepEqual(
    failed.map((r) => r.sequence),
    ['bad'],
  );
  const onlyGood = JSON.parse((await get(url, '/api/runs?sequence=good&limit=500')).body).runs as RunRecord[];
  assert.equal(onlyGood.length, 5);
  const future = JSON.parse(
    (await get(url, `/api/runs?since=${new Date(Date.now() + 86_400_000).toISOString()}`)).body,
  );
  assert.deepEqual(future, { runs: [], next: null });
  for (const bad of ['limit=0', 'limit=501', 'status=done', 'before=x', 'since=yesterday', 'sequence=../x'])
    assert.equal((await get(url, `/api/runs?${bad}`)).status, 400, bad);
});

test('one run with its step records, and a failed step log with its stderr', async (t) => {
  const repo = await ledger(t);
  const url = await serve(t, repo);
  const [latest] = JSON.parse((await get(url, '/api/runs?sequence=bad')).body).runs as RunRecord[];
  const reply = JSON.parse((await get(url, `/api/runs/${latest!.id}`)).body) as { run: RunRecord; steps: StepRecord[] };
  assert.equal(reply.run.status, 'failed');
  assert.deepEqual(
    reply.steps.map((s) => [s.index, s.status, s.attempts.at(-1)?.exit_code]),
    [
      [1, 'succeeded', 0],
      [2, 'failed', 4],
    ],
  );
  assert.match(reply.steps[1]!.argv.join(' '), /fail\.sh 4$/);
  const log = await get(url, `/api/runs/${latest!.id}/steps/2/log`);
  assert.equal(log.status, 200);
  assert.match(String(log.headers['content-type']), /^text\/plain/);
  assert.match(log.body, /something went wrong/);
  assert.equal((await get(url, `/api/runs/${latest!.id}/steps/9/log`)).status, 404);
  assert.equal((await get(url, '/api/runs/20200101T000000000Z-00000000')).status, 404);
});

test('a step with run: the API gives its argv, its command as written and its log', async (t) => {
  const repo = pipelineRepo(t, {
    modules: {},
    sequences: {
      own: { params: { who: { default: 'the world' } }, steps: [{ run: "sh -c 'echo hello $1' sh ${params.who}" }] },
    },
  });
  assert.equal((await runCli(['run', 'own'], { cwd: repo })).code, 0);
  const url = await serve(t, repo);
  const [latest] = JSON.parse((await get(url, '/api/runs?sequence=own')).body).runs as RunRecord[];
  const reply = JSON.parse((await get(url, `/api/runs/${latest!.id}`)).body) as { run: RunRecord; steps: StepRecord[] };
  assert.deepEqual(reply.steps[0]!.argv, ['sh', '-c', 'echo hello $1', 'sh', 'the world']);
  assert.equal(reply.steps[0]!.run, "sh -c 'echo hello $1' sh ${params.who}");
  assert.deepEqual([reply.run.steps[0]!.module, reply.run.steps[0]!.run], ['sh', reply.steps[0]!.run]);
  const log = await get(url, `/api/runs/${latest!.id}/steps/1/log`);
  assert.equal(log.status, 200);
  assert.match(log.body, /hello the world/);
});

test("a run's definitions come from git by their pinned blobs, with a diff against the run before", async (t) => {
  const repo = pipelineRepo(t, DEFINITIONS);
  initRepo(repo);
  git(repo, 'remote', 'add', 'origin', 'git@github.com:office/pipelines.git');
  assert.equal((await runCli(['run', 'good'], { cwd: repo })).code, 0);
  // The second run's definitions: one committed change, then one left uncommitted.
  const edited = { ...DEFINITIONS.sequences.good, schedule: '0 4 * * *' };
  writeFileSync(join(repo, 'etl_sequences/good.json'), JSON.stringify(edited, null, 2));
  git(repo, 'commit', '-qam', 'later');
  assert.equal((await runCli(['run', 'good'], { cwd: repo })).code, 0);
  writeFileSync(join(repo, 'modules.json'), JSON.stringify({ ...DEFINITIONS.modules, extra: { cmd: 'true' } }));
  assert.equal((await runCli(['run', 'good'], { cwd: repo })).code, 0);
  const url = await serve(t, repo);
  const [dirty, second, first] = JSON.parse((await get(url, '/api/runs?sequence=good')).body).runs as RunRecord[];

  const pinned = JSON.parse((await get(url, `/api/runs/${second!.id}/definitions`)).body);
  assert.equal(pinned.commit, git(repo, 'rev-parse', 'HEAD').trim());
  assert.equal(pinned.previous.id, first!.id);
  const sequenceFile = pinned.files.find((f: { path: string }) => f.path === 'etl_sequences/good.json');
  assert.match(sequenceFile.content, /"0 4 \* \* \*"/);
  assert.deepEqual(
    pinned.changes.map((c: { path: string; change: string }) => [c.path, c.change]),
    [['etl_sequences/good.json', 'changed']],
  );
  assert.match(pinned.changes[0].patch, /^- {2}"schedule": "0 3 \* \* \*",$/m);
  assert.match(pinned.changes[0].patch, /^\+ {2}"schedule": "0 4 \* \* \*",$/m);
  assert.deepEqual(JSON.parse((await get(url, `/api/runs/${first!.id}/definitions`)).body).changes, []);

  // An uncommitted edit ran: its blob is not in git, so its content and diff are unknown, and said so.
  const uncommitted = JSON.parse((await get(url, `/api/runs/${dirty!.id}/definitions`)).body);
  assert.equal(uncommitted.dirty, true);
  assert.equal(uncommitted.files.find((f: { path: string }) => f.path === 'modules.json').content, null);
  assert.deepEqual(uncommitted.changes, [{ path: 'modules.json', change: 'changed', patch: null }]);

  // The origin is on GitHub: the run links to its definitions' commit.
  const one = JSON.parse((await get(url, `/api/runs/${second!.id}`)).body);
  assert.deepEqual(one.links, {
    commit: `https://github.com/office/pipelines/commit/${pinned.commit}`,
    actions_run: null,
    pull_request: null,
  });
});

test('a run from Actions links to its run and pull request; a hostile record links nowhere', () => {
  const run = {
    definitions: { commit: 'a'.repeat(40), dirty: false, files: {} },
    trigger: {
      kind: 'pull_request',
      actor: 'x',
      ci: {
        url: 'https://github.com/office/p/actions/runs/7',
        repository: 'office/p',
        ref: 'refs/pull/12/merge',
        sha: 'b'.repeat(40),
      },
    },
  } as unknown as RunRecord;
  assert.deepEqual(runLinks(run, undefined), {
    commit: `https://github.com/office/p/commit/${'a'.repeat(40)}`,
    actions_run: 'https://github.com/office/p/actions/runs/7',
    pull_request: 'https://github.com/office/p/pull/12',
  });
  const hostile = structuredClone(run) as unknown as { trigger: { ci: Record<string, string> } };
  hostile.trigger.ci.url = 'javascript:alert(1)//';
  hostile.trigger.ci.repository = '"><img src=x>';
  assert.deepEqual(runLinks(hostile as unknown as RunRecord, undefined), {
    commit: null,
    actions_run: null,
    pull_request: null,
  });
  assert.equal(githubWeb('/srv/git/pipelines.git'), undefined);
  assert.equal(githubWeb('https://gitlab.com/office/p.git'), undefined);
  assert.deepEqual(githubWeb('https://github.com/office/p.git'), { server: 'https://github.com', slug: 'office/p' });
});

test('a log is read from a byte offset on, with its size in a header, to follow a running step', async (t) => {
  const repo = await ledger(t);
  const url = await serve(t, repo);
  const [latest] = JSON.parse((await get(url, '/api/runs?sequence=bad')).body).runs as RunRecord[];
  const whole = await get(url, `/api/runs/${latest!.id}/steps/2/log`);
  const size = Number(whole.headers['x-log-size']);
  assert.equal(size, Buffer.byteLength(whole.body));
  const tail = await get(url, `/api/runs/${latest!.id}/steps/2/log?from=${size - 5}`);
  assert.equal(tail.body, whole.body.slice(-5));
  assert.equal((await get(url, `/api/runs/${latest!.id}/steps/2/log?from=${size + 100}`)).body, '');
  assert.equal((await get(url, `/api/runs/${latest!.id}/steps/2/log?from=-1`)).status, 400);
});

test('the server keeps folder listings and finished records between calls, yet sees runs added or removed anywhere (a pull)', async (t) => {
  const repo = await ledger(t);
  const url = await serve(t, repo);
  const list = async () =>
    (JSON.parse((await get(url, '/api/runs?sequence=good&limit=50')).body).runs as RunRecord[]).map((r) => r.id);
  const before = await list();
  const sequences = async () =>
    JSON.parse((await get(url, '/api/sequences')).body).sequences as Array<{ name: string }>;
  assert.equal((await sequences()).length, 2);
  // A run of long ago arrives (as a git pull would bring it), in a day folder of its own.
  const id = '20200101T000000000Z-0000abcd';
  const folder = join(repo, 'runs/good/2020/01/01', id);
  mkdirSync(folder, { recursive: true });
  const record = JSON.parse((await get(url, `/api/runs/${before[0]}`)).body).run as RunRecord;
  writeFileSync(join(folder, 'run.json'), JSON.stringify({ ...record, id, started_at: '2020-01-01T00:00:00.000Z' }));
  assert.deepEqual(await list(), [...before, id]);
  // And one into a day folder that exists already.
  const [, year, month, day] = /^(\d{4})(\d{2})(\d{2})/.exec(before.at(-1)!)!;
  const sameDay = `${year}${month}${day}T000000000Z-0000abce`;
  mkdirSync(join(repo, 'runs/good', year!, month!, day!, sameDay));
  writeFileSync(
    join(repo, 'runs/good', year!, month!, day!, sameDay, 'run.json'),
    JSON.stringify({ ...record, id: sameDay }),
  );
  assert.deepEqual(await list(), [...before, sameDay, id]);
  rmSync(folder, { recursive: true });
  assert.deepEqual(await list(), [...before, sameDay]);
  // A sequence's first run makes it known.
  mkdirSync(join(repo, 'runs/other/2020/01/01', id), { recursive: true });
  writeFileSync(
    join(repo, 'runs/other/2020/01/01', id, 'run.json'),
    JSON.stringify({ ...record, id, sequence: 'other' }),
  );
  assert.deepEqual(
    (await sequences()).map((s) => s.name),
    ['bad', 'good', 'other'],
  );
});

test('nothing outside the ledger is served: encoded dots, absolute paths, NUL, links out of runs/', async (t) => {
  const repo = await ledger(t);
  const url = await serve(t, repo);
  const [run] = JSON.parse((await get(url, '/api/runs?sequence=good&limit=1')).body).runs as RunRecord[];
  const folder = join(
    repo,
    'runs/good',
    run!.started_at.slice(0, 4),
    run!.started_at.slice(5, 7),
    run!.started_at.slice(8, 10),
  );
  // A run folder that is a link to a folder outside, holding a run.json; a log that is a link to /etc/passwd.
  const outside = join(repo, '..', `outside-${process.pid}`);
  mkdirSync(join(outside, 'steps'), { recursive: true });
  t.after(() => rmSync(outside, { recursive: true, force: true }));
  writeFileSync(
    join(outside, 'run.json'),
    JSON.stringify({ ...run, id: '20200101T000000000Z-0badc0de', secret: 'outside' }),
  );
  symlinkSync(outside, join(folder, '20200101T000000000Z-0badc0de'));
  const logs = join(folder, run!.id, 'logs');
  mkdirSync(logs, { recursive: true });
  rmSync(join(logs, '01-ok.log'), { force: true }); // its real log, replaced by a link out
  symlinkSync('/etc/passwd', join(logs, '01-ok.log'));
  const attempts = [
    '/api/runs/20200101T000000000Z-0badc0de',
    `/api/runs/${run!.id}/steps/1/log`,
    '/api/runs/..%2f..%2f..%2fetc%2fpasswd',
    '/api/runs/%2e%2e/%2e%2e/etc/passwd',
    '/api/runs/%252e%252e%252fetc%252fpasswd',
    '/api/../../etc/passwd',
    '/api//etc/passwd',
    '/api/runs/%00',
    `/api/runs/${run!.id}%00/steps/1/log`,
    `/api/runs/${run!.id}/steps/..%2f..%2f..%2f/log`,
  ];
  for (const path of attempts) {
    const reply = await get(url, path);
    assert.doesNotMatch(reply.body, /root:|outside/, path);
    assert.ok(
      reply.status === 404 || reply.status === 400 || reply.body === '',
      `${path}: ${reply.status} ${reply.body}`,
    );
  }
});

test('every response carries a strict CSP and nosniff; other hosts and methods are refused', async (t) => {
  const repo = pipelineRepo(t, DEFINITIONS);
  const url = await serve(t, repo);
  const reply = await get(url, '/api/sequences');
  assert.equal(reply.status, 200);
  assert.match(String(reply.headers['content-security-policy']), /default-src 'self'; script-src 'self'/);
  assert.doesNotMatch(String(reply.headers['content-security-policy']), /unsafe-inline|unsafe-eval/);
  assert.equal(reply.headers['x-content-type-options'], 'nosniff');
  // DNS rebinding: a name that resolves here but is not this server's.
  assert.equal((await get(url, '/api/sequences', { host: `evil.example:${new URL(url).port}` })).status, 421);
  assert.equal((await get(url, '/api/sequences', { host: `localhost:${new URL(url).port}` })).status, 200);
  assert.equal((await get(url, '/api/sequences', { host: 'localhost:1' })).status, 421);
  assert.equal((await get(url, '/api/sequences', { method: 'POST' })).status, 405);
  // Bound to every address, it answers to each of this machine's addresses, still not to others.
  const eth = Object.values(networkInterfaces())
    .flat()
    .find((entry) => entry && entry.family === 'IPv4' && !entry.internal)?.address;
  assert.equal(allowedHost(`${eth ?? '127.0.0.1'}:80`, '0.0.0.0', 80), true);
  assert.equal(allowedHost('evil.example:80', '0.0.0.0', 80), false);
  assert.equal(allowedHost(`${eth ?? '127.0.0.1'}:80`, '127.0.0.1', 80), eth === undefined);
  assert.equal((await get(url, '/etc/passwd')).status, 404);
  // The pages: one HTML file for / and /runs/ID, and its assets by exact name only.
  for (const page of ['/', '/runs/20261201T000000000Z-0badc0de']) {
    const html = await get(url, page);
    assert.equal(html.status, 200, page);
    assert.match(String(html.headers['content-type']), /^text\/html/);
    assert.doesNotMatch(html.body, /<script>|\son\w+=/, 'no inline script or handler');
  }
  for (const path of [
    '/runs/x',
    '/runs/..%2f..%2fpackage.json',
    '/assets/../server.js',
    '/assets/%2e%2e/api.js',
    '/assets/',
  ])
    assert.equal((await get(url, path)).status, 404, path);
  assert.match(String((await get(url, '/assets/app.js')).headers['content-type']), /^text\/javascript/);
});

test('etl ui: an edited schedule shows at the next call, with no restart', async (t) => {
  const repo = pipelineRepo(t, DEFINITIONS);
  const server = startCli(['ui', '--port', '0'], { cwd: repo });
  t.after(() => server.child.kill('SIGTERM'));
  const url = /(http:\/\/\S+)/.exec(await server.line(/^etl ui: serving .* \(127\.0\.0\.1: this machine only\)$/))![1]!;
  const schedule = async () =>
    (JSON.parse((await get(url, '/api/sequences')).body).sequences as Array<{ name: string; schedule?: string }>).find(
      (s) => s.name === 'good',
    )?.schedule;
  assert.equal(await schedule(), '0 3 * * *');
  assert.equal(await schedule(), '0 3 * * *');
  writeFileSync(
    join(repo, 'etl_sequences/good.json'),
    JSON.stringify({ ...DEFINITIONS.sequences.good, schedule: '30 4 * * 1' }),
  );
  assert.equal(await schedule(), '30 4 * * 1');
});

test('etl ui --open opens the printed URL with the system opener; bound to every address with --allow-run, it warns that the token is the only gate', async (t) => {
  const repo = pipelineRepo(t, DEFINITIONS);
  const bin = join(repo, 'fake-bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'xdg-open'), `#!/bin/sh\necho "$@" > "${join(repo, 'opened')}"\n`, { mode: 0o755 });
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  const opened = startCli(['ui', '--port', '0', '--open'], { cwd: repo, env });
  t.after(() => opened.child.kill('SIGTERM'));
  const url = /(http:\/\/\S+)/.exec(await opened.line(/^etl ui: serving/))![1]!;
  for (let i = 0; i < 100 && !existsSync(join(repo, 'opened')); i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(readFileSync(join(repo, 'opened'), 'utf8').trim(), url);

  const everywhere = startCli(['ui', '--port', '0', '--host', '0.0.0.0', '--allow-run'], { cwd: repo });
  t.after(() => everywhere.child.kill('SIGTERM'));
  const said = await everywhere.line(/^etl ui: serving/);
  assert.match(
    said,
    /0\.0\.0\.0: WARNING: anyone who can reach this address can read the ledger, logs included, and the token in the URL is all that stands between them and running or cancelling sequences/,
  );
});
