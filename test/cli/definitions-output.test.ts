// What validate, list, plan and run --dry-run say: counts that add up, every problem in one
// pass, files that are not read, steps that will not run.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { git, initRepo } from '../helpers/git.js';
import { pipelineRepo, runCli } from '../helpers/repo.js';

const DEFS = {
  modules: { ok: { cmd: './modules/ok.sh' }, handler: { cmd: './modules/ok.sh' } },
  sequences: {
    good: {
      steps: [
        { module_name: 'ok', name: 'one' },
        { module_name: 'ok', name: 'two', input: 'a.csv' },
      ],
      on_failure: { module_name: 'handler' },
    },
    broken: [{ module_name: 'nope' }],
  },
};

test('validate counts only valid sequences, and list leaves the invalid ones out', async (t) => {
  const repo = pipelineRepo(t, DEFS);
  const validate = await runCli(['validate'], { cwd: repo });
  assert.equal(validate.code, 2);
  assert.match(validate.stdout, /1 error \(1 valid sequence, 2 modules\)/);
  const list = await runCli(['list', '--json'], { cwd: repo });
  assert.deepEqual(
    (JSON.parse(list.stdout) as Array<{ name: string }>).map((s) => s.name),
    ['good'],
  );
});

test('a file with a schema error still gets its other problems reported, in the same pass', async (t) => {
  const repo = pipelineRepo(t, {
    ...DEFS,
    sequences: { mixed: [{ module_name: 'okk', retries: '3', conf: 'conf/missing.json' }] },
  });
  const result = await runCli(['validate', '--format', 'json'], { cwd: repo });
  const codes = (JSON.parse(result.stdout) as Array<{ code: string }>).map((i) => i.code).sort();
  assert.deepEqual(codes, ['missing-conf', 'unknown-module', 'wrong-type']);
});

test('a schema error hides none of the semantic errors of its file: schedule, time zone, params, module command', async (t) => {
  const repo = pipelineRepo(t, {
    modules: {
      ok: { cmd: './modules/ok.sh' },
      gone: { cmd: './modules/gone.sh', retries: '3', env: { BAD: 'a\u0000b' } },
    },
    sequences: {
      mixed: {
        schedule: '@daily',
        timezone: 'Mars/Olympus_Mons',
        params: { region: { description: 'no default, and a schedule' } },
        steps: [{ module_name: 'ok', retries: '3', input: '${params.regio}' }, { module_name: 'gone' }],
      },
    },
  });
  const result = await runCli(['validate', '--format', 'json'], { cwd: repo });
  assert.equal(result.code, 2);
  const got = (JSON.parse(result.stdout) as Array<{ file: string; line: number; code: string }>).map(
    (i) => `${i.file}:${i.line} ${i.code}`,
  );
  assert.deepEqual(got, [
    'etl_sequences/mixed.json:2 invalid-cron',
    'etl_sequences/mixed.json:3 unknown-timezone',
    'etl_sequences/mixed.json:5 param-without-default',
    'etl_sequences/mixed.json:12 wrong-type',
    'etl_sequences/mixed.json:13 unknown-template',
    'modules.json:6 missing-command',
    'modules.json:7 wrong-type',
    'modules.json:9 nul-character',
  ]);
});

test('files in etl_sequences/ that are not read get a warning: wrong case, a near-miss extension, a subfolder', async (t) => {
  const repo = pipelineRepo(t, DEFS);
  mkdirSync(join(repo, 'etl_sequences/sub'));
  writeFileSync(join(repo, 'etl_sequences/sub/nested.json'), '[]');
  writeFileSync(join(repo, 'etl_sequences/upper.JSON'), '[]');
  writeFileSync(join(repo, 'etl_sequences/typo.jsn'), '[]');
  writeFileSync(join(repo, 'etl_sequences/README.md'), 'notes');
  const result = await runCli(['validate', '--format', 'json'], { cwd: repo });
  const warnings = (JSON.parse(result.stdout) as Array<{ file: string; code: string; message: string }>).filter(
    (i) => i.code === 'ignored-file',
  );
  assert.deepEqual(
    warnings.map((w) => w.file),
    ['etl_sequences/sub', 'etl_sequences/typo.jsn', 'etl_sequences/upper.JSON'],
  );
  assert.match(warnings[1]!.message, /did you mean \.json\?/);
  assert.match(warnings[2]!.message, /must be lower case \(\.json\)/);
});

test('a CRLF #! line is a validation error that says why; a missing interpreter at run time says so', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { crlf: { cmd: './modules/crlf.sh' }, lost: { cmd: './modules/lost.sh' } },
    sequences: { a: [{ module_name: 'crlf' }], b: [{ module_name: 'lost' }] },
    files: {
      'modules/crlf.sh': { content: '#!/bin/sh\r\necho hi\r\n', mode: 0o755 },
      'modules/lost.sh': { content: '#!/nonexistent/interpreter\necho hi\n', mode: 0o755 },
    },
  });
  const validate = await runCli(['validate', 'a'], { cwd: repo });
  assert.equal(validate.code, 2);
  assert.match(validate.stdout, /ends with a carriage return \(Windows line endings\).*\[crlf-shebang\]/);
  const run = await runCli(['run', 'b', '--json'], { cwd: repo });
  assert.equal(run.code, 1);
  assert.match(JSON.parse(run.stdout).error, /ENOENT \(the program exists: the interpreter its #! line names does not/);
});

test('run --only STEP --dry-run shows the other steps as skipped; --dry-run --json prints the plan on stdout', async (t) => {
  const repo = pipelineRepo(t, DEFS);
  const dry = await runCli(['run', 'good', '--only', '2', '--dry-run'], { cwd: repo });
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /1\. one: skipped/);
  assert.match(dry.stdout, /2\. two \(module ok\)\n\s+\$ \.\/modules\/ok\.sh --input a\.csv/);
  const json = await runCli(['run', 'good', '--from', 'two', '--dry-run', '--json'], { cwd: repo });
  assert.equal(json.code, 0);
  const plan = JSON.parse(json.stdout) as { sequence: string; steps: unknown[]; selection: { from: number } };
  assert.equal(plan.sequence, 'good');
  assert.equal(plan.steps.length, 2);
  assert.deepEqual(plan.selection, { from: 2, only: null });
});

test('commands run from a subfolder find the repository above, as git does', async (t) => {
  const repo = pipelineRepo(t, DEFS);
  const result = await runCli(['run', 'good'], { cwd: join(repo, 'modules') });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /record: \.\.\/runs\/good\//);
});

test('pr-plan lists the on_failure steps and the sequences a change deletes', async (t) => {
  const repo = initRepo(
    pipelineRepo(t, { ...DEFS, sequences: { ...DEFS.sequences, broken: [{ module_name: 'ok' }] } }),
  );
  const base = git(repo, 'rev-parse', 'HEAD');
  git(repo, 'rm', '--quiet', 'etl_sequences/broken.json');
  writeFileSync(
    join(repo, 'etl_sequences/good.json'),
    JSON.stringify({ ...DEFS.sequences.good, description: 'changed' }),
  );
  git(repo, 'commit', '--quiet', '-am', 'change');
  const result = await runCli(['pr-plan', '--base', base], { cwd: repo });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /On failure:\n\n1\. `\.\/modules\/ok\.sh`/);
  assert.match(result.stdout, /#### Deleted: `broken`/);
});

test('cron-too-frequent is said where GitHub schedules are made, not by every command; "$github": {"schedules": false} silences it', async (t) => {
  const repo = initRepo(
    pipelineRepo(t, {
      modules: { ok: { cmd: './modules/ok.sh' } },
      sequences: { often: { schedule: '* * * * *', steps: [{ module_name: 'ok' }] } },
    }),
  );
  const warning = /cron-too-frequent/;
  for (const args of [['list'], ['plan', 'often'], ['run', 'often'], ['due', '--now', '2026-12-01T10:00:00Z']]) {
    const result = await runCli(args, { cwd: repo });
    assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    assert.doesNotMatch(result.stdout + result.stderr, warning, args.join(' '));
  }
  const validate = await runCli(['validate'], { cwd: repo });
  assert.equal(validate.code, 0);
  assert.match(validate.stdout, warning);
  const annotations = await runCli(['validate', '--format', 'github'], { cwd: repo });
  assert.match(annotations.stdout, /^::warning file=etl_sequences\/often\.json,line=2.*cron-too-frequent/m);
  const generate = await runCli(['workflows', 'generate'], { cwd: repo });
  assert.equal(generate.code, 0, generate.stderr);
  assert.match(generate.stderr, warning);
  assert.match(readFileSync(join(repo, '.github/workflows/etl-schedule.yml'), 'utf8'), /- cron: '\* \* \* \* \*'/);
  assert.match((await runCli(['workflows', 'check'], { cwd: repo })).stderr, warning);

  // A repository whose schedules run on its own server says so once.
  const modules = JSON.parse(readFileSync(join(repo, 'modules.json'), 'utf8'));
  writeFileSync(join(repo, 'modules.json'), JSON.stringify({ $github: { schedules: false }, ...modules }));
  const quiet = await runCli(['validate', '--strict'], { cwd: repo });
  assert.equal(quiet.code, 0, quiet.stdout);
  assert.doesNotMatch(quiet.stdout, warning);
  const regenerated = await runCli(['workflows', 'generate'], { cwd: repo });
  assert.doesNotMatch(regenerated.stderr, warning);
  const schedule = readFileSync(join(repo, '.github/workflows/etl-schedule.yml'), 'utf8');
  assert.doesNotMatch(schedule, /- cron:/);
  assert.match(schedule, /no cron triggers: the schedules run elsewhere/);
  writeFileSync(join(repo, 'modules.json'), JSON.stringify({ $github: { schedule: false }, ...modules }));
  const typo = await runCli(['validate'], { cwd: repo });
  assert.equal(typo.code, 2);
  assert.match(typo.stdout, /unknown-key/);
});
