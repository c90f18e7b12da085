import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PARAM_VALUE_SCOPE, resolveTemplate, templateProblems } from '../../src/definitions/template.js';
import { git, initRepo } from '../helpers/git.js';
import { pipelineRepo, runCli, writeFiles } from '../helpers/repo.js';
import type { RunRecord } from '../../src/runner/records.js';
import { existsSync, readFileSync } from 'node:fs';
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
  assert.deepEqual(templateProblems('${date()}', []), [
    'unknown template ${date()}: use ${params.NAME}, ${tick} or ${tick:%Y-%m-%d}, and $$ for a literal "$"',
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

test('no "$" template is passed through: variables and half-made formats are refused, $$ is a "$"', () => {
  const values = { params: { region: 'south' }, tick: new Date('2026-03-29T04:00:00Z'), timezone: 'UTC' };
  for (const [text, problem] of [
    ['${HOME}/x', /^\$\{HOME\} is not expanded: nothing is read from the environment here/],
    ['$HOME/x', /^\$HOME is not expanded/],
    ['run-$ETL_RUN_ID', /^\$ETL_RUN_ID is not expanded: .*ETL_RUN_ID, which it is given,/],
    ['${tick:%}', /^a lone "%" ends \$\{tick:%\}: write %% for a "%"$/],
    ['${tick:%Y%}', /^a lone "%" ends/],
    ['${tick:}', /^\$\{tick:\} has no format/],
  ] as const) {
    const problems = templateProblems(text, ['region']);
    assert.equal(problems.length, 1, `${text}: ${problems.join('; ')}`);
    assert.match(problems[0]!, problem);
    assert.throws(
      () => resolveTemplate(text, values),
      (error: Error) => problem.test(error.message),
    );
  }
  assert.deepEqual(templateProblems('${params.region}', PARAM_VALUE_SCOPE), [
    "${params.region} cannot be used here: a param's value may use the tick, not another param",
  ]);
  // "$$" is a "$"; a "$" that starts no variable is one too.
  assert.deepEqual(templateProblems('cost $$HOME ^a$ $1 ${tick:%%}', []), []);
  assert.equal(resolveTemplate('cost $$HOME ^a$ $1 ${tick:%%}', values), 'cost $HOME ^a$ $1 %');
});

test('env values, param defaults and conf: templates expanded or refused at their line, and a missing conf stops the run before any step', async (t) => {
  const repo = pipelineRepo(t, {
    modules: {
      dump: { cmd: 'node modules/env-dump.mjs', env: { TEST_MODULE: 'year ${tick:%Y}', TEST_LITERAL: '$$HOME' } },
      wrong: { cmd: './modules/ok.sh', env: { TEST_PARAM: '${params.region}', TEST_HOME: '$HOME' } },
      touch: { cmd: './modules/copy.sh' },
    },
    sequences: {
      good: {
        params: { region: { default: 'north' }, day: { default: '${tick:%Y-%m-%d}' } },
        env: { TEST_SEQUENCE: '${params.region}-${params.day}' },
        steps: [{ module_name: 'dump', output: 'dump.json', env: { TEST_STEP: '${tick}' } }],
      },
      bad: {
        params: { region: { default: '${params.REGION}' }, REGION: { default: 'x' } },
        env: { TEST_RUN: '${ETL_RUN_ID}', TEST_PERCENT: '${tick:%}' },
        steps: [{ module_name: 'wrong', name: 'load ${params.region}', env: { TEST_HOME: '${HOME}' } }],
      },
      conf: {
        params: { region: { default: 'north' } },
        steps: [
          { module_name: 'dump', output: 'first.json' },
          { module_name: 'dump', output: 'second.json', conf: 'conf/${params.region}.json' },
        ],
      },
    },
  });
  const checked = await runCli(['validate', '--format', 'json'], { cwd: repo });
  assert.equal(checked.code, 2);
  const got = (JSON.parse(checked.stdout) as Array<{ file: string; line: number; code: string; message: string }>).map(
    (i) => `${i.file}:${i.line} ${i.code} ${i.message.slice(0, 30)}`,
  );
  assert.deepEqual(got, [
    'etl_sequences/bad.json:4 unknown-template ${params.REGION} cannot be use',
    'etl_sequences/bad.json:6 duplicate-param params "region" and "REGION" w',
    'etl_sequences/bad.json:11 unknown-template ${ETL_RUN_ID} is not expanded:',
    'etl_sequences/bad.json:12 unknown-template a lone "%" ends ${tick:%}: wri',
    "etl_sequences/bad.json:17 unknown-template a step's name is not expanded,",
    'etl_sequences/bad.json:19 unknown-template ${HOME} is not expanded: nothi',
    'modules.json:12 unknown-template ${params.region} cannot be use',
    'modules.json:13 unknown-template $HOME is not expanded: nothing',
  ]);

  const ran = await runCli(['run', 'good', '--tick', '2026-11-30T05:00:00Z'], { cwd: repo });
  assert.equal(ran.code, 0, ran.stderr);
  const { env } = JSON.parse(readFileSync(join(repo, 'dump.json'), 'utf8'));
  assert.equal(env.TEST_MODULE, 'year 2026');
  assert.equal(env.TEST_LITERAL, '$HOME');
  assert.equal(env.TEST_SEQUENCE, 'north-2026-11-30');
  assert.equal(env.TEST_STEP, '2026-11-30T05:00:00.000Z');
  assert.equal(env.ETL_PARAM_DAY, '2026-11-30');
  // A value given to the run is a value, not a template (a resume gives the resolved ones back).
  const given = await runCli(['run', 'good', '--param', 'day=$$TODAY'], { cwd: repo });
  assert.equal(given.code, 0, given.stderr);
  assert.equal(JSON.parse(readFileSync(join(repo, 'dump.json'), 'utf8')).env.ETL_PARAM_DAY, '$$TODAY');

  // The conf that ${params.region} names is missing: refused at its line before step 1 runs.
  const missing = await runCli(['run', 'conf'], { cwd: repo });
  assert.equal(missing.code, 2);
  assert.match(
    missing.stderr,
    /etl_sequences\/conf\.json:\d+:\d+: error: step 2 \(dump\) of "conf": conf "conf\/\$\{params\.region\}\.json" is "conf\/north\.json" for this run, which does not exist in the repository \[missing-conf\]/,
  );
  assert.equal(existsSync(join(repo, 'first.json')), false);
  assert.equal(existsSync(join(repo, 'runs/conf')), false);
  const other = await runCli(['run', 'conf', '--param', 'region=south', '--dry-run'], { cwd: repo });
  assert.equal(other.code, 2);
  assert.match(other.stderr, /is "conf\/south\.json" for this run/);
});

test('a backfill goes on past a tick whose templated conf is missing: each tick checks its own', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: {
      daily: { schedule: '0 6 * * *', steps: [{ module_name: 'ok', conf: 'conf/${tick:%Y-%m-%d}.json' }] },
    },
    files: { 'conf/2026-10-21.json': '{}\n' },
  });
  const result = await runCli(['backfill', 'daily', '--from', '2026-10-20', '--to', '2026-10-21'], { cwd: repo });
  assert.equal(result.code, 1, result.stdout + result.stderr);
  assert.match(
    result.stdout,
    /^2026-10-20T06:00:00\.000Z .*"conf\/2026-10-20\.json" for this run, which does not exist/m,
  );
  assert.match(result.stdout, /^2026-10-21T06:00:00\.000Z {2}succeeded/m);
});

test('pr-plan says that a run now would stop on its templated conf, and plans the other sequences', async (t) => {
  const repo = initRepo(
    pipelineRepo(t, {
      modules: { ok: { cmd: './modules/ok.sh' } },
      sequences: { other: [{ module_name: 'ok' }] },
    }),
  );
  const base = git(repo, 'rev-parse', 'HEAD');
  writeFiles(repo, {
    'etl_sequences/daily.json': JSON.stringify({ steps: [{ module_name: 'ok', conf: 'conf/${tick:%Y}.json' }] }),
    'etl_sequences/other.json': JSON.stringify([{ module_name: 'ok', output: 'x' }]),
  });
  git(repo, 'add', '-A');
  git(repo, 'commit', '--quiet', '-m', 'daily');
  const result = await runCli(['pr-plan', '--base', base], { cwd: repo });
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stdout,
    /`daily`[\s\S]*A run now would stop before its first step: .*does not exist in the repository/,
  );
  assert.match(result.stdout, /`other`[\s\S]*ok\.sh --output x/);
});
