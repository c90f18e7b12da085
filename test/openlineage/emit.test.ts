// OpenLineage events of real runs (the etl bin as a child process), sent to a loopback HTTP
// server or a JSON-lines file, each checked against the spec's JSON Schema; and what a
// lineage server that is down or refuses does to a run: nothing but a warning.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import type { OpenLineageEvent } from '../../src/openlineage/events.js';
import { openLineageErrors, parseEvents, sorted } from '../helpers/openlineage.js';
import { pipelineRepo, runCli, startCli } from '../helpers/repo.js';
import { onlyRun } from '../helpers/runs.js';
import { receiver } from '../helpers/webhook-receiver.js';

const KEY = 'ol-key-very-secret-123';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function pipeline(t: TestContext) {
  return pipelineRepo(t, {
    modules: {
      copy: { cmd: './modules/copy.sh' },
      count: { cmd: './modules/count.sh' },
      envdump: { cmd: './modules/env-dump.mjs' },
      fail: { cmd: './modules/fail.sh 3' },
      forever: { cmd: './modules/forever.sh' },
    },
    sequences: {
      s: [
        { name: 'extract', module_name: 'copy', input: 'data/in.csv', output: 'work/raw.csv' },
        { name: 'load', module_name: 'count', input: 'work/raw.csv', output: 's3://bucket/out/raw.csv' },
        { name: 'env', module_name: 'envdump', output: 'work/env.json' },
      ],
      f: {
        steps: [
          { name: 'extract', module_name: 'copy', input: 'data/in.csv', output: 'work/raw.csv' },
          { name: 'boom', module_name: 'fail' },
          { name: 'after', module_name: 'count' },
        ],
        on_failure: [{ name: 'notify', module_name: 'count' }],
      },
      c: [{ name: 'wait', module_name: 'forever', output: 'work/pids.json' }],
      outer: [
        { name: 'first', module_name: 'count' },
        { name: 'sub', call: 'inner' },
      ],
      inner: [{ name: 'env', module_name: 'envdump', output: 'work/inner-env.json' }],
    },
    files: {
      'data/in.csv': 'a,b\n1,2\n',
      'modules/count.sh': { content: '#!/bin/sh\necho "rows=3" >> "$ETL_METRICS"\n', mode: 0o755 },
    },
  });
}

/** The environment of a run that sends its events to `url`, in a namespace of the test's. */
const sending = (url: string, extra: Record<string, string> = {}) => ({
  ...process.env,
  ETL_OPENLINEAGE_URL: url,
  ETL_OPENLINEAGE_API_KEY: KEY,
  ETL_OPENLINEAGE_NAMESPACE: 'github.com/acme/pipelines',
  ...extra,
});

/** A facet's fields, as the test expects them. */
const facet = <T>(facets: Record<string, unknown> | undefined, name: string) => facets?.[name] as T;

const summary = (events: OpenLineageEvent[]) => events.map((e) => `${e.eventType} ${e.job.name}`);

function assertValid(events: OpenLineageEvent[]) {
  for (const event of events) assert.deepEqual(openLineageErrors(event), [], JSON.stringify(event));
}

test('a run posts START and COMPLETE for itself and each step to /api/v1/lineage, valid against the spec, with the key as a bearer token', async (t) => {
  const server = await receiver<OpenLineageEvent>(t);
  const repo = pipeline(t);
  const result = await runCli(['run', 's'], { cwd: repo, env: sending(server.url) });
  assert.equal(result.code, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /OpenLineage/);
  const events = server.received.map((r) => r.body);
  assert.deepEqual(summary(events), [
    'START s',
    'START s.extract',
    'COMPLETE s.extract',
    'START s.load',
    'COMPLETE s.load',
    'START s.env',
    'COMPLETE s.env',
    'COMPLETE s',
  ]);
  assertValid(events);
  for (const { path, headers } of server.received) {
    assert.equal(path, '/hooks/T0KEN/api/v1/lineage');
    assert.equal(headers.authorization, `Bearer ${KEY}`);
    assert.equal(headers['content-type'], 'application/json');
  }

  const { run, steps } = onlyRun(repo);
  const [start, extractStart, extractEnd, , loadEnd] = events as [OpenLineageEvent, ...OpenLineageEvent[]];
  assert.deepEqual(start.job.namespace, 'github.com/acme/pipelines');
  assert.match(start.run.runId, UUID);
  assert.equal(start.eventTime, run.started_at);
  assert.equal(events.at(-1)!.eventTime, run.finished_at);
  assert.equal(events.at(-1)!.run.runId, start.run.runId, 'one run id from START to COMPLETE');
  assert.equal(facet<{ name: string }>(start.run.facets, 'processing_engine').name, 'etl-ledger');
  // A step's run is its own, with the sequence's run as its parent (and root).
  assert.notEqual(extractStart!.run.runId, start.run.runId);
  assert.equal(extractStart!.run.runId, extractEnd!.run.runId);
  assert.deepEqual(facet<{ run: unknown; job: unknown; root: unknown }>(extractEnd!.run.facets, 'parent').run, {
    runId: start.run.runId,
  });
  assert.deepEqual(facet<{ job: unknown }>(extractEnd!.run.facets, 'parent').job, {
    namespace: 'github.com/acme/pipelines',
    name: 's',
  });
  assert.equal(extractStart!.eventTime, steps[0]!.started_at);
  assert.equal(extractEnd!.eventTime, steps[0]!.finished_at);

  // Local paths: "file" datasets by absolute path, the content hash as the version facet when the step ended.
  const sha = (path: string) =>
    createHash('sha256')
      .update(readFileSync(join(repo, path)))
      .digest('hex');
  assert.deepEqual(extractStart!.inputs, [{ namespace: 'file', name: join(repo, 'data/in.csv') }]);
  const input = extractEnd!.inputs[0]!;
  assert.equal(input.name, join(repo, 'data/in.csv'));
  assert.equal(facet<{ datasetVersion: string }>(input.facets, 'version').datasetVersion, sha('data/in.csv'));
  const output = extractEnd!.outputs[0]!;
  assert.equal(output.name, join(repo, 'work/raw.csv'));
  assert.equal(facet<{ datasetVersion: string }>(output.facets, 'version').datasetVersion, sha('work/raw.csv'));
  assert.equal(facet<{ sha256: string; kind: string }>(output.facets, 'etlLedger_content').kind, 'file');
  assert.deepEqual(
    { ...facet<object>(output.outputFacets, 'outputStatistics'), _producer: 0, _schemaURL: 0 },
    { size: 8, fileCount: 1, _producer: 0, _schemaURL: 0 },
  );
  // A URL as given (its scheme and host, then its path), never read: no content facets.
  assert.deepEqual(loadEnd!.outputs, [{ namespace: 's3://bucket', name: 'out/raw.csv' }]);
  // The step's metrics.
  assert.deepEqual(facet<{ metrics: unknown }>(loadEnd!.run.facets, 'etlLedger_metrics').metrics, { rows: 3 });

  // The key is the runner's: a module does not get it, and it is in no record or event.
  const moduleEnv = JSON.parse(readFileSync(join(repo, 'work/env.json'), 'utf8')) as { env: Record<string, string> };
  assert.equal(moduleEnv.env.ETL_OPENLINEAGE_API_KEY, undefined);
  assert.doesNotMatch(JSON.stringify(events) + result.stdout + result.stderr, new RegExp(KEY));

  // etl lineage --openlineage prints the same events from the ledger.
  const printed = await runCli(['lineage', '--openlineage', 's@latest'], { cwd: repo, env: sending(server.url) });
  assert.equal(printed.code, 0, printed.stderr);
  const again = parseEvents(printed.stdout);
  assertValid(again);
  assert.deepEqual(sorted(again), sorted(events));
  assert.equal(server.received.length, 8, 'printing sends nothing');
});

test('a failing step sends FAIL with the error message facet, the run FAIL with its error; skipped steps send nothing; a handler step is its own job', async (t) => {
  const server = await receiver<OpenLineageEvent>(t);
  const repo = pipeline(t);
  const result = await runCli(['run', 'f'], { cwd: repo, env: sending(server.url) });
  assert.equal(result.code, 1);
  const events = server.received.map((r) => r.body);
  assertValid(events);
  assert.deepEqual(summary(events), [
    'START f',
    'START f.extract',
    'COMPLETE f.extract',
    'START f.boom',
    'FAIL f.boom',
    'START f.on_failure.notify',
    'COMPLETE f.on_failure.notify',
    'FAIL f',
  ]);
  const failed = facet<{ message: string; programmingLanguage: string }>(events[4]!.run.facets, 'errorMessage');
  assert.equal(failed.message, 'step 2 (boom) failed: exited with code 3');
  assert.equal(failed.programmingLanguage, 'SHELL');
  const { run } = onlyRun(repo);
  const runError = facet<{ message: string }>(events.at(-1)!.run.facets, 'errorMessage');
  assert.equal(runError.message, run.error);
  assert.ok(run.error);

  const printed = await runCli(['lineage', '--openlineage', 'f@latest'], { cwd: repo, env: sending(server.url) });
  assert.deepEqual(sorted(parseEvents(printed.stdout)), sorted(events));
});

test('a cancelled run sends ABORT for the step that was running and for the run', async (t) => {
  const server = await receiver<OpenLineageEvent>(t);
  const repo = pipeline(t);
  const cli = startCli(['run', 'c', '--verbose', '--kill-grace', '500ms'], { cwd: repo, env: sending(server.url) });
  await cli.line(/forever\.sh started/);
  cli.child.kill('SIGTERM');
  const result = await cli.done;
  assert.equal(result.code, 143, result.stderr);
  const events = server.received.map((r) => r.body);
  assertValid(events);
  assert.deepEqual(summary(events), ['START c', 'START c.wait', 'ABORT c.wait', 'ABORT c']);
  assert.match(
    facet<{ message: string }>(events[2]!.run.facets, 'errorMessage').message,
    /^step 1 \(wait\) was cancelled: it /,
  );
});

test("a sequence run by a call step has the calling step's run as its parent, and sends with the runner's key", async (t) => {
  const server = await receiver<OpenLineageEvent>(t);
  const repo = pipeline(t);
  const result = await runCli(['run', 'outer'], { cwd: repo, env: sending(server.url) });
  assert.equal(result.code, 0, result.stderr);
  const events = server.received.map((r) => r.body);
  assertValid(events);
  assert.deepEqual(summary(events), [
    'START outer',
    'START outer.first',
    'COMPLETE outer.first',
    'START outer.sub',
    'START inner',
    'START inner.env',
    'COMPLETE inner.env',
    'COMPLETE inner',
    'COMPLETE outer.sub',
    'COMPLETE outer',
  ]);
  const sub = events[3]!;
  type Parent = { run: { runId: string }; job: { name: string }; root?: unknown };
  for (const inner of [events[4]!, events[7]!]) {
    const parent = facet<Parent>(inner.run.facets, 'parent');
    assert.equal(parent.run.runId, sub.run.runId, 'the inner run belongs to the step that called it');
    assert.equal(parent.job.name, 'outer.sub');
  }
  const innerStep = facet<Parent>(events[5]!.run.facets, 'parent');
  assert.equal(innerStep.run.runId, events[4]!.run.runId);
  assert.equal(innerStep.root, undefined, 'the root is further up than the inner run knows');
  for (const { headers } of server.received) assert.equal(headers.authorization, `Bearer ${KEY}`);
  const moduleEnv = JSON.parse(readFileSync(join(repo, 'work/inner-env.json'), 'utf8')) as {
    env: Record<string, string>;
  };
  assert.equal(moduleEnv.env.ETL_OPENLINEAGE_API_KEY, undefined, "the inner run's modules do not get the key either");
});

test('a lineage server that answers 500 never fails the run: said once, by host, with how many events it missed', async (t) => {
  const server = await receiver<OpenLineageEvent>(t, [500]);
  const repo = pipeline(t);
  const result = await runCli(['run', 's'], { cwd: repo, env: sending(server.url) });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(server.received.length, 8, 'each event is still tried');
  const warnings = result.stderr.split('\n').filter((line) => /OpenLineage/.test(line));
  assert.equal(warnings.length, 1, result.stderr);
  assert.match(
    warnings[0]!,
    /^etl run: warning: 8 of 8 OpenLineage events not sent to 127\.0\.0\.1:\d+: HTTP 500 \(the first failure\); the run is not affected$/,
  );
  assert.doesNotMatch(result.stderr, /T0KEN/, 'the path (which may hold a token) is not shown');
  assert.equal(onlyRun(repo).run.status, 'succeeded');
});

test('a lineage server that is down never fails the run either', async (t) => {
  const repo = pipeline(t);
  const port = await closedPort();
  const result = await runCli(['run', 's'], { cwd: repo, env: sending(`http://127.0.0.1:${port}`) });
  assert.equal(result.code, 0, result.stderr);
  const warnings = result.stderr.split('\n').filter((line) => /OpenLineage/.test(line));
  assert.deepEqual(warnings, [
    `etl run: warning: 8 of 8 OpenLineage events not sent to 127.0.0.1:${port}: ECONNREFUSED (the first failure); the run is not affected`,
  ]);
});

test('a lineage server that never answers is given up on after one POST times out, and the run still ends', async (t) => {
  const server = await receiver<OpenLineageEvent>(t, ['hang']);
  const repo = pipeline(t);
  const result = await runCli(['run', 's'], { cwd: repo, env: sending(server.url) });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(server.received.length, 1, 'no more after the first went unanswered');
  assert.match(
    result.stderr,
    /8 of 8 OpenLineage events not sent to 127\.0\.0\.1:\d+: no answer within 5s, so no more were sent/,
  );
});

test('ETL_OPENLINEAGE_FILE appends each event as a line of JSON: the events etl lineage --openlineage prints', async (t) => {
  const repo = pipeline(t);
  const env = { ...process.env, ETL_OPENLINEAGE_FILE: 'lineage/events.jsonl', ETL_OPENLINEAGE_NAMESPACE: 'ns' };
  assert.equal((await runCli(['run', 's'], { cwd: repo, env })).code, 0);
  const file = join(repo, 'lineage/events.jsonl');
  const events = parseEvents(readFileSync(file, 'utf8'));
  assertValid(events);
  assert.equal(events.length, 8);
  assert.equal(events[0]!.job.namespace, 'ns');
  const printed = await runCli(['lineage', '--openlineage', 's@latest'], { cwd: repo, env });
  assert.deepEqual(sorted(parseEvents(printed.stdout)), sorted(events));
  assert.equal((await runCli(['run', 's'], { cwd: repo, env })).code, 0);
  assert.equal(parseEvents(readFileSync(file, 'utf8')).length, 16, 'appended');

  const wrong = await runCli(['run', 's'], { cwd: repo, env: { ...env, ETL_OPENLINEAGE_FILE: 'data/in.csv/x.jsonl' } });
  assert.equal(wrong.code, 0, 'a file that cannot be written never fails the run');
  const warnings = wrong.stderr.split('\n').filter((line) => /OpenLineage/.test(line));
  assert.equal(warnings.length, 1, wrong.stderr);
  assert.match(
    warnings[0]!,
    /8 of 8 OpenLineage events not written to \S*data\/in\.csv\/x\.jsonl: ENOTDIR; the run is not affected/,
  );
});

test('a bad ETL_OPENLINEAGE_URL stops the run before it starts, naming the variable and the host only', async (t) => {
  const repo = pipeline(t);
  const cases: Array<[string, RegExp]> = [
    [
      'ftp://lineage.example/x',
      /ETL_OPENLINEAGE_URL is a ftp: URL \(to lineage\.example\): expected http:\/\/ or https:\/\//,
    ],
    [
      'https://user:pa55word@lineage.example/',
      /ETL_OPENLINEAGE_URL \(to lineage\.example\) has a user name or password in it .*give the key in ETL_OPENLINEAGE_API_KEY/,
    ],
    ['lineage.example:5000', /ETL_OPENLINEAGE_URL has no http:\/\/ or https:\/\/ in front/],
  ];
  for (const [url, message] of cases) {
    const result = await runCli(['run', 's'], { cwd: repo, env: { ...process.env, ETL_OPENLINEAGE_URL: url } });
    assert.equal(result.code, 2, url);
    assert.match(result.stderr, message);
    assert.doesNotMatch(result.stderr, /pa55word|at .*\.js:\d+/);
    assert.equal(existsSync(join(repo, 'runs')), false, 'nothing ran');
  }
});

/** A loopback port nothing listens on (taken, then let go). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
