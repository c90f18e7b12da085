import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveTemplate, templateProblems } from '../../src/definitions/template.js';
import { pipelineRepo, runCli } from '../helpers/repo.js';
import type { RunRecord } from '../../src/runner/records.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

test("templates resolve params and the tick, formatted in the sequence's zone across a DST change", () => {
  const values = { params: { region: 'south' }, tick: new Date('2026-03-29T04:00:00Z'), timezone: 'Europe/Madrid' };
  assert.equal(resolveTemplate('data/${params.region}/${tick:%Y-%m-%d}.csv', values), 'data/south/2026-03-29.csv');
  assert.equal(resolveTemplate('${tick:%H:%M %j %u %%}', values), '06:00 088 7 %');
  assert.equal(resolveTemplate('${tick}', values), '2026-03-29T04:00:00.000Z');
  // 04:00 UTC is midnight of the 29th in New York; a minute before, it is still the 28th there.
  assert.equal(resolveTemplate('${tick:%Y-%m-%d %H}', { ...values, timezone: 'America/New_York' }), '2026-03-29 00');
  assert.equal(
    resolveTemplate('${tick:%d}', { ...values, tick: new Date('2026-03-29T03:59:00Z'), timezone: 'America/New_York' }),
    '28',
  );
  assert.equal(resolveTemplate('plain/path.csv', values), 'plain/path.csv');
});

test('template mistakes are named, with a suggestion', () => {
  assert.deepEqual(templateProblems('${params.regoin}', ['region']), [
    'unknown param "regoin" in ${params.regoin} (did you mean "region"?); the sequence declares region',
  ]);
  assert.deepEqual(templateProblems('${tick:%Y-%q}', []), [
    'unknown format "%q" in ${tick:%Y-%q}: use %Y %m %d %H %M %S %j %u or %%',
  ]);
  assert.deepEqual(templateProblems('${date}', []), [
    'unknown template ${date}: use ${params.NAME}, ${tick} or ${tick:%Y-%m-%d}',
  ]);
  assert.deepEqual(templateProblems('data/${tick', []), ['"${" without its closing "}" in "data/${tick"']);
  assert.deepEqual(templateProblems('data/${params.x}', []), [
    'unknown param "x" in ${params.x}; the sequence declares no "params"',
  ]);
  assert.deepEqual(templateProblems('a/${params.region}/${tick:%Y}', ['region']), []);
});

test('params: located errors, defaults and --param, resolved values in argv, env and run.json', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { dump: { cmd: 'node modules/env-dump.mjs' } },
    sequences: {
      daily: {
        schedule: '0 6 * * *',
        timezone: 'Europe/Madrid',
        params: { region: { default: 'north' }, kind: { default: 'raw', description: 'what to load' } },
        steps: [{ module_name: 'dump', input: 'data/${params.region}/${tick:%Y-%m-%d}.csv', output: 'dump.json' }],
      },
      broken: {
        schedule: '0 6 * * *',
        params: { needed: {} },
        steps: [{ module_name: 'dump', output: 'out/${params.neded}' }],
      },
    },
  });
  const checked = await runCli(['validate', 'broken'], { cwd: repo });
  assert.equal(checked.code, 2);
  assert.match(
    checked.stdout + checked.stderr,
    /etl_sequences\/broken\.json:\d+:\d+: error: param "needed" has no default, and the sequence has a schedule/,
  );
  assert.match(
    checked.stdout + checked.stderr,
    /etl_sequences\/broken\.json:\d+:\d+: error: unknown param "neded" in \$\{params\.neded\} \(did you mean "needed"\?\)/,
  );

  const ran = await runCli(['run', 'daily', '--param', 'region=south', '--tick', '2026-11-30T05:00:00Z'], {
    cwd: repo,
  });
  assert.equal(ran.code, 0, ran.stderr);
  const dump = JSON.parse(readFileSync(join(repo, 'dump.json'), 'utf8'));
  assert.deepEqual(dump.argv.slice(-4), ['--input', 'data/south/2026-11-30.csv', '--output', 'dump.json']);
  assert.equal(dump.env.ETL_PARAM_REGION, 'south');
  assert.equal(dump.env.ETL_PARAM_KIND, 'raw');
  assert.equal(dump.env.ETL_TICK, '2026-11-30T05:00:00.000Z');
  const [run] = JSON.parse((await runCli(['history', 'daily', '--json'], { cwd: repo })).stdout) as RunRecord[];
  assert.deepEqual(run!.params, { region: 'south', kind: 'raw' });
  assert.equal(run!.tick, '2026-11-30T05:00:00.000Z');
  assert.equal(run!.trigger.tick, '2026-11-30T05:00:00.000Z');

  const unknown = await runCli(['run', 'daily', '--param', 'regoin=x'], { cwd: repo });
  assert.equal(unknown.code, 2);
  assert.match(
    unknown.stderr,
    /sequence "daily" has no param "regoin" \(did you mean "region"\?\); its params are region, kind/,
  );
});
