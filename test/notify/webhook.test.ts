// Webhooks against a loopback server: what is sent and when, retries, a server that hangs or
// refuses, and secrets never sent.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { deliverWebhooks, type WebhookPayload } from '../../src/notify/webhook.js';
import { pipelineRepo, runCli } from '../helpers/repo.js';
import { receiver } from '../helpers/webhook-receiver.js';

const SECRET = 'hunter2-very-secret';

const sample: WebhookPayload = {
  text: 'etl: s failed',
  event: 'failed',
  sequence: 's',
  run_id: 'r',
  status: 'failed',
  started_at: '',
  finished_at: null,
  duration_ms: null,
  failed_step: null,
  error: null,
  log_tail: null,
  previous_status: null,
  links: {},
};

test('etl run --webhook: a failure is posted with its step, exit code and log tail, secrets masked; a recovery once; a success after a success not at all', async (t) => {
  const hook = await receiver(t);
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' }, leak: { cmd: './modules/leak.sh' } },
    sequences: { s: { secrets: ['API_TOKEN'], steps: [{ module_name: 'ok' }, { module_name: 'leak', name: 'load' }] } },
    files: {
      'modules/leak.sh': {
        content: '#!/bin/sh\necho "using $API_TOKEN"\necho "load failed: table missing" >&2\nexit "${EXIT:-4}"\n',
        mode: 0o755,
      },
    },
  });
  const env = { ...process.env, API_TOKEN: SECRET };
  const failed = await runCli(['run', 's', '--webhook', hook.url], { cwd: repo, env });
  assert.equal(failed.code, 1);
  assert.match(failed.stderr, /told webhook 127\.0\.0\.1:\d+ \(failed\)/);
  assert.equal(hook.received.length, 1);
  const { headers, body } = hook.received[0]!;
  assert.equal(headers['content-type'], 'application/json');
  assert.equal(body.event, 'failed');
  assert.equal(body.sequence, 's');
  assert.equal(body.status, 'failed');
  assert.deepEqual(body.failed_step, {
    index: 2,
    name: 'load',
    module: 'leak',
    exit_code: 4,
    ending: 'exited with code 4',
  });
  assert.match(body.text, /^etl: s failed at step 2 \(load\): it exited with code 4 \(run \d{8}T\d{9}Z-[0-9a-f]{8}\)$/);
  assert.match(body.log_tail!, /using \*\*\*\nload failed: table missing/);
  assert.doesNotMatch(JSON.stringify(hook.received), new RegExp(SECRET));

  const recovered = await runCli(['run', 's', '--webhook', hook.url], { cwd: repo, env: { ...env, EXIT: '0' } });
  assert.equal(recovered.code, 0);
  assert.equal(hook.received.length, 2);
  assert.equal(hook.received[1]!.body.event, 'recovered');
  assert.equal(hook.received[1]!.body.previous_status, 'failed');
  assert.match(hook.received[1]!.body.text, /^etl: s succeeded again \(run \S+\), after a failed run$/);
  assert.equal((await runCli(['run', 's', '--webhook', hook.url], { cwd: repo, env: { ...env, EXIT: '0' } })).code, 0);
  assert.equal(hook.received.length, 2, 'nothing to tell');
});

test('a failed step with run is posted with its program as module and its command as written, secrets masked', async (t) => {
  const hook = await receiver(t);
  const repo = pipelineRepo(t, {
    modules: {},
    sequences: { s: { secrets: ['API_TOKEN'], steps: [{ name: 'load', run: `sh -c 'exit 6' ${SECRET}` }] } },
  });
  const failed = await runCli(['run', 's', '--webhook', hook.url], {
    cwd: repo,
    env: { ...process.env, API_TOKEN: SECRET },
  });
  assert.equal(failed.code, 1);
  assert.deepEqual(hook.received[0]!.body.failed_step, {
    index: 1,
    name: 'load',
    module: 'sh',
    run: "sh -c 'exit 6' ***",
    exit_code: 6,
    ending: 'exited with code 6',
  });
  assert.doesNotMatch(JSON.stringify(hook.received), new RegExp(SECRET));
});

test('a webhook that refuses never fails the run: a warning names its host, not its path (its token)', async (t) => {
  const hook = await receiver(t, [400]);
  const repo = pipelineRepo(t, {
    modules: { fail: { cmd: './modules/fail.sh 4' } },
    sequences: { s: [{ module_name: 'fail' }] },
  });
  const result = await runCli(['run', 's', '--webhook', hook.url], { cwd: repo });
  assert.equal(result.code, 1, 'the run failed, and only that');
  assert.equal(hook.received.length, 1, 'a refusal is not retried');
  assert.match(result.stderr, /webhook 127\.0\.0\.1:\d+ not told after 1 attempts: HTTP 400/);
  assert.doesNotMatch(result.stderr, /T0KEN/);
  const wrong = await runCli(['run', 's', '--webhook', 'ftp://example.org/x'], { cwd: repo });
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /--webhook: a webhook is an http\(s\) URL, got a ftp: URL \(to example\.org\)/);
});

test('deliveries are retried with backoff on 5xx and 429, and given up on a server that hangs', async (t) => {
  const flaky = await receiver(t, [503, 429, 200]);
  const [delivered] = await deliverWebhooks([flaky.url], sample, { backoffMs: 10 });
  assert.deepEqual(delivered, { url: flaky.url, ok: true, attempts: 3 });
  const hanging = await receiver(t, ['hang']);
  const started = Date.now();
  const [given] = await deliverWebhooks([hanging.url], sample, { timeoutMs: 200, retries: 1, backoffMs: 10 });
  assert.deepEqual(given, { url: hanging.url, ok: false, attempts: 2, error: 'timed out' });
  assert.ok(Date.now() - started < 2000);
  // A port nobody listens on any more.
  const gone = createServer();
  await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
  const closed = `http://127.0.0.1:${(gone.address() as AddressInfo).port}/`;
  await new Promise((resolve) => gone.close(resolve));
  const [unreachable] = await deliverWebhooks([closed], sample, { retries: 0 });
  assert.deepEqual(unreachable, { url: closed, ok: false, attempts: 1, error: 'ECONNREFUSED' });
});

test('a webhook URL with a user name or password is refused at start, by host; a redirect or a refusal is not retried', async (t) => {
  const hook = await receiver(t);
  const repo = pipelineRepo(t, {
    modules: { fail: { cmd: './modules/fail.sh 4' } },
    sequences: { s: { schedule: '* * * * *', steps: [{ module_name: 'fail' }] } },
  });
  const port = new URL(hook.url).port;
  const withUser = `http://user:pw-s3cret@127.0.0.1:${port}/ok?token=abc`;
  for (const args of [
    ['run', 's', '--webhook', withUser],
    ['schedule', '--webhook', hook.url, '--webhook', withUser],
  ]) {
    const refused = await runCli(args, { cwd: repo });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, new RegExp(`the webhook to 127\\.0\\.0\\.1:${port} has a user name or password`));
    assert.doesNotMatch(refused.stderr, /pw-s3cret|token=abc|user:pw|T0KEN/);
    assert.equal(refused.stdout, '');
  }
  assert.match(
    (await runCli(['run', 's', '--webhook', hook.url, '--webhook', withUser], { cwd: repo })).stderr,
    /--webhook \(the 2nd\): /,
  );
  assert.equal(hook.received.length, 0, 'nothing was run or posted');
  const bare = await runCli(['run', 's', '--webhook', 'hooks.example.org/T0KEN'], { cwd: repo });
  assert.match(
    bare.stderr,
    /--webhook: a webhook is an http\(s\) URL, got one without http:\/\/ or https:\/\/ in front/,
  );
  assert.doesNotMatch(bare.stderr, /T0KEN/);
  // A host and port without a scheme: a URL parser takes "hooks.example.org:" for one.
  const hostPort = await runCli(['run', 's', '--webhook', 'hooks.example.org:8080/T0KEN'], { cwd: repo });
  assert.match(
    hostPort.stderr,
    /--webhook: a webhook is an http\(s\) URL, got one without http:\/\/ or https:\/\/ in front/,
  );

  // A redirect is an answer: said with the host it points to, never followed or asked again.
  const moved = await receiver(t, [{ status: 302, location: 'https://elsewhere.example/new?token=zzz' }]);
  const redirected = await runCli(['run', 's', '--webhook', moved.url], { cwd: repo });
  assert.equal(redirected.code, 1, 'the run failed, and only that');
  assert.equal(moved.received.length, 1);
  assert.match(
    redirected.stderr,
    /webhook 127\.0\.0\.1:\d+ not told after 1 attempts: HTTP 302 \(redirected to elsewhere\.example: give the webhook's final URL\)/,
  );
  assert.doesNotMatch(redirected.stderr, /T0KEN|token=zzz/);

  // The library, given such a URL anyway: one attempt, and its answer names no credential.
  const [given] = await deliverWebhooks([withUser], sample, { backoffMs: 10 });
  assert.equal(given!.ok, false);
  assert.equal(given!.attempts, 1);
  assert.doesNotMatch(given!.error!, /pw-s3cret|token=abc/);
  const [notFound] = await deliverWebhooks([(await receiver(t, [404])).url], sample, { backoffMs: 10 });
  assert.deepEqual([notFound!.attempts, notFound!.error], [1, 'HTTP 404']);
});
