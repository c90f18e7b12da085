// Files a run depends on beyond the sequence, modules.json and the module's own program:
// conf files and a module's `depends`. Pinned, watched by `etl changed`, in the path filters.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { expandGlobs } from '../../src/definitions/depends.js';
import { globToRegExp } from '../../src/definitions/glob.js';
import { changedSequences } from '../../src/review/changed.js';
import type { RunRecord } from '../../src/runner/records.js';
import { git, initRepo } from '../helpers/git.js';
import { pipelineRepo, runCli, tempRepo } from '../helpers/repo.js';

const DEFINITIONS = {
  modules: {
    ok: { cmd: './modules/ok.sh', depends: ['lib/**/*.py', 'sql/[xy].sql'] },
    plain: { cmd: './modules/ok.sh' },
  },
  sequences: {
    s: [{ module_name: 'ok', conf: 'conf/s.json' }],
    t: [{ module_name: 'plain', conf: './conf/t.json' }],
    u: [{ module_name: 'plain' }],
  },
  files: {
    'conf/s.json': '{}\n',
    'conf/t.json': '{}\n',
    'lib/a.py': 'a\n',
    'lib/deep/b.py': 'b\n',
    'lib/readme.md': 'r\n',
    'sql/x.sql': 'x\n',
    'sql/long.sql': 'l\n',
  },
};

test('globs: ** spans folders, * stays within one name, ? and + repeat the character before them', () => {
  assert.ok(globToRegExp('lib/**').test('lib/a/b/c.py'));
  assert.ok(globToRegExp('lib/**/*.py').test('lib/a.py'));
  assert.ok(globToRegExp('lib/**/*.py').test('lib/x/y/a.py'));
  assert.ok(!globToRegExp('lib/*.py').test('lib/x/a.py'));
  assert.ok(globToRegExp('sql/[xy].sql').test('sql/x.sql'));
  assert.ok(!globToRegExp('sql/[xy].sql').test('sql/xy.sql'));
  assert.ok(globToRegExp('sql/v1+.sql').test('sql/v111.sql'));
  assert.ok(!globToRegExp('sql/x?.sql').test('sql/xy.sql'), '? is not "any one character"');
  assert.ok(!globToRegExp('a.b').test('aXb'), 'a dot is a dot');
});

test('expandGlobs finds the matching files and never walks .git, runs or node_modules', (t) => {
  const repo = tempRepo(t, {
    'lib/a.py': '',
    'lib/x/b.py': '',
    'runs/lib/c.py': '',
    'node_modules/lib/d.py': '',
    'top.py': '',
  });
  assert.deepEqual(expandGlobs(repo, ['lib/**/*.py']), ['lib/a.py', 'lib/x/b.py']);
  assert.deepEqual(expandGlobs(repo, ['**/*.py']), ['lib/a.py', 'lib/x/b.py', 'top.py']);
});

test('a run pins its conf files and the files its modules depend on; an uncommitted conf edit makes it dirty', async (t) => {
  const repo = initRepo(pipelineRepo(t, DEFINITIONS));
  writeFileSync(join(repo, 'conf/s.json'), '{"edited": true}\n');
  const result = await runCli(['run', 's', '--json'], { cwd: repo });
  assert.equal(result.code, 0, result.stderr);
  const run = JSON.parse(result.stdout) as RunRecord;
  assert.deepEqual(Object.keys(run.definitions.files).sort(), [
    'conf/s.json',
    'etl_sequences/s.json',
    'lib/a.py',
    'lib/deep/b.py',
    'modules.json',
    'modules/ok.sh',
    'sql/x.sql',
  ]);
  assert.equal(run.definitions.dirty, true, 'the conf file differs from the commit');
  assert.equal(run.definitions.files['conf/s.json'], git(repo, 'hash-object', 'conf/s.json'));
});

test('etl changed reports a committed conf change and a change to a file a module depends on', async (t) => {
  const repo = initRepo(pipelineRepo(t, DEFINITIONS));
  const base = git(repo, 'rev-parse', 'HEAD');
  writeFileSync(join(repo, 'conf/t.json'), '{"v": 2}\n');
  git(repo, 'commit', '--quiet', '-am', 'conf of t');
  assert.deepEqual(await changedSequences(repo, base), [
    { name: 't', file: 'etl_sequences/t.json', reasons: ['conf file conf/t.json changed'] },
  ]);
  const second = git(repo, 'rev-parse', 'HEAD');
  mkdirSync(join(repo, 'lib/new'), { recursive: true });
  writeFileSync(join(repo, 'lib/new/c.py'), 'c\n');
  writeFileSync(join(repo, 'lib/readme.md'), 'not a dependency\n');
  git(repo, 'add', '-A');
  git(repo, 'commit', '--quiet', '-m', 'lib');
  assert.deepEqual(await changedSequences(repo, second), [
    { name: 's', file: 'etl_sequences/s.json', reasons: ['lib/new/c.py changed (module "ok" depends on it)'] },
  ]);
});

test("the generated push workflow's path filter lists the conf files and depends patterns", async (t) => {
  const repo = pipelineRepo(t, DEFINITIONS);
  const result = await runCli(['workflows', 'generate'], { cwd: repo });
  assert.equal(result.code, 0, result.stderr);
  const workflow = readFileSync(join(repo, '.github/workflows/etl-run.yml'), 'utf8');
  for (const path of ['conf/s.json', 'conf/t.json', 'lib/**/*.py', 'sql/[xy].sql'])
    assert.ok(workflow.includes(`      - '${path}'\n`), path);
  assert.ok(workflow.indexOf("'sql/[xy].sql'") < workflow.indexOf("'!runs/**'"), 'the exclusion comes last');
});

test('etl changed, the pins and the path filter read depends as GitHub does: [ab], + and ! included', async (t) => {
  const repo = initRepo(
    pipelineRepo(t, {
      modules: {
        sql: { cmd: './modules/ok.sh', depends: ['./sql/[ab].sql', 'lib/**', '!lib/**/*_test.py', 'lib/keep_test.py'] },
        plain: { cmd: './modules/ok.sh' },
      },
      sequences: {
        s: [{ module_name: 'sql' }],
        p: {
          params: { region: { default: 'north' } },
          steps: [{ module_name: 'plain', conf: 'conf/${params.region}[1].json' }],
        },
      },
      files: {
        'sql/a.sql': 'a\n',
        'sql/c.sql': 'c\n',
        'lib/x.py': 'x\n',
        'lib/deep/x_test.py': 't\n',
        'lib/keep_test.py': 'k\n',
        'conf/north[1].json': '{}\n',
      },
    }),
  );
  const base = git(repo, 'rev-parse', 'HEAD');
  writeFileSync(join(repo, 'sql/a.sql'), 'a2\n');
  writeFileSync(join(repo, 'sql/c.sql'), 'c2\n');
  writeFileSync(join(repo, 'lib/deep/x_test.py'), 't2\n');
  writeFileSync(join(repo, 'conf/north[1].json'), '{"v": 2}\n');
  git(repo, 'commit', '--quiet', '-am', 'edits');
  assert.deepEqual(await changedSequences(repo, base), [
    { name: 'p', file: 'etl_sequences/p.json', reasons: ['conf file conf/north[1].json changed'] },
    { name: 's', file: 'etl_sequences/s.json', reasons: ['sql/a.sql changed (module "sql" depends on it)'] },
  ]);
  const second = git(repo, 'rev-parse', 'HEAD');
  writeFileSync(join(repo, 'lib/keep_test.py'), 'k2\n');
  git(repo, 'commit', '--quiet', '-am', 're-included by the pattern after the "!"');
  assert.deepEqual(
    (await changedSequences(repo, second)).map((c) => c.reasons),
    [['lib/keep_test.py changed (module "sql" depends on it)']],
  );

  const run = JSON.parse((await runCli(['run', 's', '--json'], { cwd: repo })).stdout) as RunRecord;
  assert.deepEqual(
    Object.keys(run.definitions.files)
      .filter((f) => /^(sql|lib)\//.test(f))
      .sort(),
    ['lib/keep_test.py', 'lib/x.py', 'sql/a.sql'],
  );

  assert.equal((await runCli(['workflows', 'generate'], { cwd: repo })).code, 0);
  const workflow = readFileSync(join(repo, '.github/workflows/etl-run.yml'), 'utf8');
  // As GitHub reads it: "./" would match nothing there, a conf's "[" would be a class, and a
  // "!" in one list for every module would take back other modules' files.
  for (const path of ['sql/[ab].sql', 'lib/**', 'lib/keep_test.py', 'conf/*\\[1\\].json'])
    assert.ok(workflow.includes(`      - '${path}'\n`), `${path} in\n${workflow}`);
  assert.ok(!workflow.includes("_test.py'\n      - '!"), 'no depends negation in the shared filter');
  assert.ok(!workflow.includes("'!lib/"));
});
