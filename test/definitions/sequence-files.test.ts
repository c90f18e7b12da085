// What a sequence depends on is worked out once (src/definitions/sequence-files.ts): a run's
// pins, the push workflow's path filter and `etl changed` must all name the same files.
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { sequenceFiles } from '../../src/definitions/sequence-files.js';
import { changedSequences } from '../../src/review/changed.js';
import type { RunRecord } from '../../src/runner/records.js';
import { git, initRepo } from '../helpers/git.js';
import { pipelineRepo, runCli } from '../helpers/repo.js';

const SCRIPT = { content: '#!/bin/sh\nexit 0\n', mode: 0o755 };

// Everything outside modules/: the workflow's fixed entries (modules/**) do not cover it.
const DEFINITIONS = {
  modules: {
    extract: { cmd: './bin/extract.sh' },
    clean: { cmd: 'sh ./scripts/clean.sh --strict', depends: ['sql/**/*.sql', '!sql/drafts/**'] },
  },
  sequences: {
    s: { steps: [{ module_name: 'extract', conf: 'conf/s.json' }, { module_name: 'clean' }] },
  },
  files: {
    'bin/extract.sh': SCRIPT,
    'scripts/clean.sh': SCRIPT,
    'conf/s.json': '{}\n',
    'sql/daily.sql': 'select 1;\n',
    'sql/drafts/idea.sql': 'select 2;\n',
  },
};

test('the resolver names each file a sequence depends on, with its kind and module', () => {
  const modules = DEFINITIONS.modules as Record<string, unknown>;
  const files = sequenceFiles(
    { file: 'etl_sequences/s.json', steps: DEFINITIONS.sequences.s.steps },
    (name) => modules[name],
  );
  assert.deepEqual(files, [
    { kind: 'sequence-file', path: 'etl_sequences/s.json' },
    { kind: 'modules-file', path: 'modules.json' },
    { kind: 'module-command', path: 'bin/extract.sh', module: 'extract' },
    { kind: 'module-argument', path: 'scripts/clean.sh', module: 'clean' },
    { kind: 'depends-glob', path: 'sql/**/*.sql', module: 'clean' },
    { kind: 'depends-glob', path: '!sql/drafts/**', module: 'clean' },
    { kind: 'conf', path: 'conf/s.json' },
  ]);
});

test('unvalidated data, as etl changed reads it at a commit, gives what it can and never throws', () => {
  const files = sequenceFiles({ file: 'etl_sequences/x.json', steps: [null, 3, { conf: '/abs.json' }, {}] }, () => 7);
  assert.deepEqual(
    files.map((f) => f.kind),
    ['sequence-file', 'modules-file'],
  );
  const odd = sequenceFiles({ file: 'etl_sequences/y.json', steps: [{ module_name: 'm' }] }, () => ({
    cmd: 'python3 ../outside.py ./a/../lib/x.py "unclosed',
    depends: 'not a list',
  }));
  assert.deepEqual(odd.slice(2), [], 'a cmd that cannot be split names no file');
  const normal = sequenceFiles({ file: 'etl_sequences/y.json', steps: [{ module_name: 'm' }] }, () => ({
    cmd: 'python3 ../outside.py ./a/../lib/x.py /abs/y.py',
  }));
  assert.deepEqual(normal.slice(2), [{ kind: 'module-argument', path: 'lib/x.py', module: 'm' }]);
});

test('the pins, the path filter and etl changed agree: each file the sequence depends on is in all three', async (t) => {
  const repo = initRepo(pipelineRepo(t, DEFINITIONS));

  const run = await runCli(['run', 's', '--json'], { cwd: repo });
  assert.equal(run.code, 0, run.stderr);
  const pinned = Object.keys((JSON.parse(run.stdout) as RunRecord).definitions.files).sort();
  assert.deepEqual(pinned, [
    'bin/extract.sh',
    'conf/s.json',
    'etl_sequences/s.json',
    'modules.json',
    'scripts/clean.sh',
    'sql/daily.sql',
  ]);

  const generated = await runCli(['workflows', 'generate'], { cwd: repo });
  assert.equal(generated.code, 0, generated.stderr);
  const workflow = readFileSync(join(repo, '.github/workflows/etl-run.yml'), 'utf8');
  for (const filter of ['etl_sequences/**', 'modules.json', 'bin/extract.sh', 'scripts/clean.sh', 'conf/s.json'])
    assert.ok(workflow.includes(`      - '${filter}'\n`), `${filter} in the path filter:\n${workflow}`);
  assert.ok(workflow.includes("      - 'sql/**/*.sql'\n"), 'the depends glob is in the path filter');
  git(repo, 'add', '-A');
  git(repo, 'commit', '--quiet', '-m', 'workflows');

  const reasons: Record<string, string> = {
    'bin/extract.sh': 'module file bin/extract.sh changed',
    'scripts/clean.sh': 'module file scripts/clean.sh changed',
    'conf/s.json': 'conf file conf/s.json changed',
    'sql/daily.sql': 'sql/daily.sql changed (module "clean" depends on it)',
    'etl_sequences/s.json': 'sequence file changed',
  };
  for (const file of pinned.filter((f) => f !== 'modules.json')) {
    const before = git(repo, 'rev-parse', 'HEAD');
    appendFileSync(join(repo, file), file.endsWith('.json') ? ' \n' : '\n');
    git(repo, 'commit', '--quiet', '-am', `edit ${file}`);
    assert.deepEqual(
      await changedSequences(repo, before),
      [{ name: 's', file: 'etl_sequences/s.json', reasons: [reasons[file]] }],
      `after editing ${file}`,
    );
  }
  // What a "!" takes back is in none of the three.
  const before = git(repo, 'rev-parse', 'HEAD');
  appendFileSync(join(repo, 'sql/drafts/idea.sql'), '\n');
  git(repo, 'commit', '--quiet', '-am', 'a draft');
  assert.deepEqual(await changedSequences(repo, before), []);
});

test("a step's run: its program given with a path and its scripts, never a word with a template", () => {
  const files = sequenceFiles(
    {
      file: 'etl_sequences/r.json',
      steps: [
        { run: './bin/fetch.sh --day ${tick:%Y-%m-%d}' },
        { run: 'python3 scripts/x.py scripts/${params.region}.py --flag' },
        { run: 'python3 scripts/x.py' },
        { run: 'sh -c "exit 1"' },
        { run: 'sh "unclosed' },
        { run: 7 },
      ],
    },
    () => undefined,
  );
  assert.deepEqual(files.slice(2), [
    { kind: 'run-command', path: 'bin/fetch.sh' },
    { kind: 'run-argument', path: 'scripts/x.py' },
  ]);
});

test('the files a run step runs are pinned, in the path filter, and named by etl changed', async (t) => {
  const repo = initRepo(
    pipelineRepo(t, {
      modules: {},
      sequences: { r: { steps: [{ run: './bin/fetch.sh' }, { run: 'sh scripts/clean.sh --strict' }] } },
      files: { 'bin/fetch.sh': SCRIPT, 'scripts/clean.sh': SCRIPT },
    }),
  );
  const run = await runCli(['run', 'r', '--json'], { cwd: repo });
  assert.equal(run.code, 0, run.stderr);
  const pinned = Object.keys((JSON.parse(run.stdout) as RunRecord).definitions.files).sort();
  assert.deepEqual(pinned, ['bin/fetch.sh', 'etl_sequences/r.json', 'modules.json', 'scripts/clean.sh']);
  const generated = await runCli(['workflows', 'generate'], { cwd: repo });
  assert.equal(generated.code, 0, generated.stderr);
  const workflow = readFileSync(join(repo, '.github/workflows/etl-run.yml'), 'utf8');
  for (const filter of ['bin/fetch.sh', 'scripts/clean.sh'])
    assert.ok(workflow.includes(`      - '${filter}'\n`), `${filter} in the path filter:\n${workflow}`);
  git(repo, 'add', '-A');
  git(repo, 'commit', '--quiet', '-m', 'workflows');
  const before = git(repo, 'rev-parse', 'HEAD');
  appendFileSync(join(repo, 'scripts/clean.sh'), '\n');
  git(repo, 'commit', '--quiet', '-am', 'edit the script');
  assert.deepEqual(await changedSequences(repo, before), [
    { name: 'r', file: 'etl_sequences/r.json', reasons: ["file scripts/clean.sh changed (a step's run runs it)"] },
  ]);
});
