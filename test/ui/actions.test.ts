// `etl ui --allow-run`: runs started and cancelled from the page, and only from it.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import type { RunRecord } from '../../src/runner/records.js';
import { pipelineRepo, startCli } from '../helpers/repo.js';

const DEFINITIONS = {
  modules: { ok: { cmd: './modules/ok.sh' }, nap: { cmd: './modules/sleep.sh 30' } },
  sequences: { good: [{ module_name: 'ok' }], long: [{ module_name: 'ok' }, { module_name: 'nap' }] },
};

function call(
  url: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: unknown },
) {
  const { hostname, port } = new URL(url);
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ hostname, port, path, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end(options.body === undefined ? undefined : JSON.stringify(options.body));
  });
}

async function until<T>(what: () => Promise<T | undefined>): Promise<T> {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
    const found = await what();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('timed out');
}

test('--allow-run: a run and a cancel from the page with its token and origin; refused otherwise, and absent without the flag', {
  timeout: 60_000,
}, async (t) => {
  const repo = pipelineRepo(t, DEFINITIONS);
  const readOnly = startCli(['ui', '--port', '0'], { cwd: repo });
  t.after(() => readOnly.child.kill('SIGTERM'));
  const plain = /(http:\/\/\S+)/.exec(await readOnly.line(/^etl ui: serving/))![1]!;
  assert.equal(JSON.parse((await call(plain, '/api/config', {})).body).allow_run, false);
  const origin = (url: string) => new URL(url).origin;
  const post = { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: origin(plain) } };
  assert.equal(
    (await call(plain, '/api/actions/run', { ...post, body: { sequence: 'good' } })).status,
    404,
    'no write endpoint',
  );

  const server = startCli(['ui', '--port', '0', '--allow-run'], { cwd: repo });
  t.after(() => server.child.kill('SIGTERM'));
  const printed = /(http:\/\/\S+)/.exec(await server.line(/^etl ui: serving/))![1]!;
  const token = new URL(printed).searchParams.get('token')!;
  assert.ok(token.length >= 32, 'a long random token in the printed URL');
  const url = printed.replace(/\?.*$/, '');
  const headers = { 'Content-Type': 'application/json', Origin: origin(url), 'X-Etl-Token': token };
  const refused = [
    { method: 'POST', headers: { ...headers, 'X-Etl-Token': '' } },
    // The token with its last character changed (to one it is not).
    {
      method: 'POST',
      headers: { ...headers, 'X-Etl-Token': `${token.slice(0, -1)}${token.endsWith('x') ? 'y' : 'x'}` },
    },
    { method: 'POST', headers: { ...headers, Origin: 'http://evil.example' } },
    { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Etl-Token': token } }, // no Origin
  ];
  for (const attempt of refused)
    assert.equal((await call(url, '/api/actions/run', { ...attempt, body: { sequence: 'good' } })).status, 403);
  assert.equal((await call(url, '/api/actions/run', { headers })).status, 405);
  assert.equal(
    (await call(url, '/api/actions/run', { method: 'POST', headers, body: { sequence: '../x' } })).status,
    400,
  );
  // Resume takes a whole run id, and not with a step to start from.
  for (const body of [
    { sequence: 'good', resume: '--force' },
    { sequence: 'good', resume: '../runs' },
    { sequence: 'good', resume: '20261201T000000000Z-0000000a', from: 2 },
    // Params are names and text: nothing else reaches the command line.
    { sequence: 'good', params: { '--force x': 'y' } },
    { sequence: 'good', params: { day: 3 } },
    { sequence: 'good', params: ['day=1'] },
  ]) {
    const answer = await call(url, '/api/actions/run', { method: 'POST', headers, body });
    assert.equal(answer.status, 400, JSON.stringify(body));
  }
  // What a request said is logged quoted: a line break in a value cannot forge a log line.
  const forged = { sequence: 'good', params: { day: 'a\n10.0.0.1 asked to run good: run X' } };
  await call(url, '/api/actions/run', { method: 'POST', headers, body: forged }); // refused: good has no param day
  await server.line(/asked to run good with day="a\\n10\.0\.0\.1 asked to run good: run X": /);
  const runs = async (sequence: string) =>
    JSON.parse((await call(url, `/api/runs?sequence=${sequence}`, {})).body).runs as RunRecord[];
  assert.deepEqual(await runs('good'), [], 'nothing ran on a refused request');

  assert.equal(
    (await call(url, '/api/actions/run', { method: 'POST', headers, body: { sequence: 'good' } })).status,
    202,
  );
  await until(async () => ((await runs('good'))[0]?.status === 'succeeded' ? true : undefined));
  assert.equal((await runs('good'))[0]!.trigger.kind, 'ui', 'recorded as started from the UI');
  // A sequence that is not defined: not found, and no run is started.
  const nosuch = await call(url, '/api/actions/run', { method: 'POST', headers, body: { sequence: 'nosuch' } });
  assert.equal(nosuch.status, 404, nosuch.body);
  assert.match(JSON.parse(nosuch.body).error, /no sequence "nosuch" in etl_sequences\//);

  assert.equal(
    (await call(url, '/api/actions/run', { method: 'POST', headers, body: { sequence: 'long' } })).status,
    202,
  );
  const running = await until(async () => {
    const [run] = await runs('long');
    return run?.status === 'running' && run.steps[1]?.status === 'running' ? run : undefined;
  });
  const cancel = await call(url, '/api/actions/cancel', { method: 'POST', headers, body: { run: running.id } });
  assert.equal(cancel.status, 202, cancel.body);
  await until(async () => ((await runs('long'))[0]?.status === 'cancelled' ? true : undefined));
  const again = await call(url, '/api/actions/cancel', { method: 'POST', headers, body: { run: running.id } });
  assert.equal(again.status, 409, 'a run that is not running is not cancelled');
});
