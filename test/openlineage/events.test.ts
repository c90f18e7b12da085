// The parts of an OpenLineage event that are pure: run ids as name-based UUIDs, job namespaces
// from the repository, datasets from paths and URLs, the endpoint from ETL_OPENLINEAGE_URL, and
// the events of a run that is still going.
import assert from 'node:assert/strict';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { lineageEndpoint, openLineageTarget } from '../../src/openlineage/config.js';
import { datasetName } from '../../src/openlineage/datasets.js';
import { runEvents } from '../../src/openlineage/events.js';
import { jobNamespace, remoteName } from '../../src/openlineage/namespace.js';
import { nameUuid, runUuid, stepUuid } from '../../src/openlineage/uuid.js';
import type { RunRecord, StepRecord } from '../../src/runner/records.js';
import { git, initRepo } from '../helpers/git.js';
import { openLineageErrors } from '../helpers/openlineage.js';
import { runCli, tempRepo } from '../helpers/repo.js';

test('run ids become version 5 UUIDs: the RFC example, and the same id always gives the same UUID', () => {
  // uuid5(NAMESPACE_DNS, "www.example.com"), as Python's uuid module and every other library give it.
  assert.equal(
    nameUuid('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'),
    '2ed6657d-e927-568b-95e1-2665a8aea6a2',
  );
  const id = '20261202T000501954Z-ea86ee86';
  assert.equal(runUuid(id), runUuid(id));
  assert.match(runUuid(id), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(stepUuid(id, { role: 'step', index: 2 }), nameUuid(`${id}/2`));
  assert.equal(stepUuid(id, { role: 'on_failure', index: 1 }), nameUuid(`${id}/on_failure 1`));
  assert.notEqual(stepUuid(id, { role: 'step', index: 1 }), stepUuid(id, { role: 'on_failure', index: 1 }));
});

test('a remote names the repository as host/owner/name, however it is written; a local one names none', () => {
  for (const url of [
    'https://github.com/acme/pipelines.git',
    'https://x-access-token:ghs_secret@github.com/acme/pipelines',
    'git@github.com:acme/pipelines.git',
    'ssh://git@GitHub.com:22/acme/pipelines.git',
    'github.com:acme/pipelines/',
  ])
    assert.equal(remoteName(url), 'github.com/acme/pipelines', url);
  assert.equal(remoteName('https://gitlab.example/group/sub/repo.git'), 'gitlab.example/group/sub/repo');
  const bare = resolve('git/repo.git');
  for (const url of [bare, '../repo', pathToFileURL(bare).href, 'C:\\repos\\x'])
    assert.equal(remoteName(url), undefined, url);
});

test("the namespace: ETL_OPENLINEAGE_NAMESPACE, else GitHub Actions' repository, else the origin remote, else the folder", async (t) => {
  const repo = initRepo(tempRepo(t));
  const env = { PATH: process.env.PATH };
  assert.equal(await jobNamespace(repo, env), basename(repo));
  git(repo, 'remote', 'add', 'origin', 'git@github.com:acme/pipelines.git');
  assert.equal(await jobNamespace(repo, env), 'github.com/acme/pipelines');
  const actions = { ...env, GITHUB_REPOSITORY: 'acme/other', GITHUB_SERVER_URL: 'https://ghe.example' };
  assert.equal(await jobNamespace(repo, actions), 'ghe.example/acme/other');
  assert.equal(await jobNamespace(repo, { ...actions, ETL_OPENLINEAGE_NAMESPACE: ' prod ' }), 'prod');
});

/** A repository's root as the records know it: an absolute path, whatever this machine's are. */
const ROOT = resolve('pipelines');

test('datasets: a local path is a file by its absolute path; a URL its scheme and host, then its path, without credentials or query', () => {
  const cases: Array<[string, { namespace: string; name: string }]> = [
    ['work/raw.csv', { namespace: 'file', name: join(ROOT, 'work/raw.csv') }],
    ['/data/in.csv', { namespace: 'file', name: '/data/in.csv' }],
    ['file:///data/in.csv', { namespace: 'file', name: '/data/in.csv' }],
    ['s3://bucket/a/b.parquet', { namespace: 's3://bucket', name: 'a/b.parquet' }],
    ['gs://bucket/key', { namespace: 'gs://bucket', name: 'key' }],
    [
      'postgres://etl:***@db.example:5432/warehouse?sslmode=require',
      { namespace: 'postgres://db.example:5432', name: 'warehouse' },
    ],
    ['https://api.example/v1/rates.json?token=***', { namespace: 'https://api.example', name: 'v1/rates.json' }],
    ['https://api.example', { namespace: 'https://api.example', name: '/' }],
    ['sqlite:///out/x.db', { namespace: 'sqlite', name: '/out/x.db' }],
    // Not URLs the parser takes (a scheme inside, a port that is not a number): still no credentials or query.
    [
      'jdbc:postgresql://admin:hunter2pw@db.example:5432/wh?sslpassword=zzz',
      { namespace: 'jdbc', name: 'postgresql://db.example:5432/wh' },
    ],
    ['mysql://root:pa ss@db:xx/db', { namespace: 'mysql', name: 'db:xx/db' }],
    ['mysql://root:p@ss@db:xx/db#part', { namespace: 'mysql', name: 'db:xx/db' }],
  ];
  for (const [value, expected] of cases) assert.deepEqual(datasetName(value, ROOT), expected, value);
});

test('ETL_OPENLINEAGE_URL is the server: /api/v1/lineage is added unless given; off without URL or file', () => {
  assert.equal(lineageEndpoint('http://localhost:5000'), 'http://localhost:5000/api/v1/lineage');
  assert.equal(lineageEndpoint('https://marquez.example/base/'), 'https://marquez.example/base/api/v1/lineage');
  assert.equal(lineageEndpoint('https://m.example/api/v1/lineage'), 'https://m.example/api/v1/lineage');
  assert.equal(lineageEndpoint('https://m.example/x?tenant=a'), 'https://m.example/x/api/v1/lineage?tenant=a');
  assert.equal(openLineageTarget({}, '/w'), undefined);
  assert.deepEqual(openLineageTarget({ ETL_OPENLINEAGE_FILE: 'ol.jsonl', ETL_OPENLINEAGE_API_KEY: 'k' }, '/w'), {
    file: '/w/ol.jsonl',
  });
  assert.deepEqual(openLineageTarget({ ETL_OPENLINEAGE_URL: 'http://h:5000', ETL_OPENLINEAGE_API_KEY: 'k' }, '/w'), {
    endpoint: 'http://h:5000/api/v1/lineage',
    apiKey: 'k',
  });
});

test("a run still going has its START and its running steps' START only; a pending or skipped step none", () => {
  const run = {
    id: '20261202T000501954Z-ea86ee86',
    sequence: 's',
    status: 'running',
    trigger: { kind: 'schedule', actor: null, ci: null, tick: '2026-12-02T00:05:00.000Z' },
    runner_version: '0.1.0',
    started_at: '2026-12-02T00:05:01.954Z',
    finished_at: null,
    failed_step: null,
    error: null,
    steps: [],
  } as unknown as RunRecord;
  const step = (index: number, status: string, started_at: string | null) =>
    ({
      role: 'step',
      index,
      name: `n${index}`,
      status,
      started_at,
      finished_at: null,
      argv: ['x'],
      input: null,
      output: 'out.csv',
      config: null,
      attempts: [],
    }) as unknown as StepRecord;
  const events = runEvents(
    run,
    [step(1, 'running', '2026-12-02T00:05:02.000Z'), step(2, 'pending', null), step(3, 'skipped', null)],
    {
      namespace: 'ns',
      root: ROOT,
    },
  );
  assert.deepEqual(
    events.map((e) => `${e.eventType} ${e.job.name}`),
    ['START s', 'START s.n1'],
  );
  assert.equal(
    (events[0]!.run.facets.nominalTime as unknown as { nominalStartTime: string }).nominalStartTime,
    run.trigger.tick,
  );
  assert.deepEqual(events[1]!.outputs, [{ namespace: 'file', name: join(ROOT, 'out.csv') }]);
  for (const event of events) assert.deepEqual(openLineageErrors(event), []);
});

test('etl lineage --openlineage takes one run and no other output option', async (t) => {
  const repo = tempRepo(t);
  const json = await runCli(['lineage', '--openlineage', '--json', 'x'], { cwd: repo });
  assert.equal(json.code, 2);
  assert.match(json.stderr, /--openlineage prints JSON lines of its own: without --upstream or --json/);
  const none = await runCli(['lineage', '--openlineage'], { cwd: repo });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /lineage --openlineage takes one run, got 0/);
});
