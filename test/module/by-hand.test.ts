// The module helpers outside etl (a module run by hand while it is written), and the Python
// helpers kept the same as the Node ones.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { FLAG_VARIABLES, DEFAULT_FLAGS } from '../../src/definitions/interface-flags.js';
import { METRIC_NAME_PATTERN } from '../../src/definitions/patterns.js';
import { OUTPUT_KEY_PATTERN } from '../../src/definitions/template.js';
import * as moduleHelpers from '../../src/module/index.js';
import { fixture, ROOT, tempRepo } from '../helpers/repo.js';

/** A folder with the helper fixtures in modules/, etl_module.py beside them and etl-ledger installed. */
function workFolder(t: TestContext): string {
  const dir = tempRepo(t, { 'data/in.txt': 'a\nb\nc\n', 'data/empty.txt': '', 'conf/node.yaml': 'prefix: n-\n' });
  cpSync(fixture('module-helpers'), join(dir, 'modules'), { recursive: true });
  copyFileSync(join(ROOT, 'python/etl_module.py'), join(dir, 'modules/etl_module.py'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(ROOT, join(dir, 'node_modules/etl-ledger'));
  return dir;
}

/** The environment without what etl gives a module: as when it is run by hand. */
const byHand = (extra: Record<string, string> = {}) => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('ETL_'))),
  PYTHONDONTWRITEBYTECODE: '1',
  ...extra,
});

interface Ended {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cwd: string, argv: string[], env: Record<string, string> = {}): Promise<Ended> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { cwd, env: byHand(env) }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

const LANGUAGES = [
  { language: 'Node', program: ['node', 'modules/prefix.mjs'], tag: 'node' },
  { language: 'Python', program: ['python3', 'modules/prefix.py'], tag: 'python' },
];

for (const { language, program, tag } of LANGUAGES) {
  test(`${language}: run by hand, the helpers take --input, --output and --config (and --flag=value), and a flag without its value ends the module with 64`, async (t) => {
    const dir = workFolder(t);
    const done = await run(dir, [
      ...program,
      '--input=data/in.txt',
      '--output',
      'out/x.txt',
      '--config',
      'conf/node.yaml',
    ]);
    assert.equal(done.code, 0, done.stderr);
    assert.equal(done.stdout, `${tag}: wrote 3 lines to out/x.txt\n`, 'no debug line, no metric written');
    assert.equal(done.stderr, '');
    assert.equal(readFileSync(join(dir, 'out/x.txt'), 'utf8'), 'n-a\nn-b\nn-c\n');

    const last = await run(dir, [...program, '--output', 'out/x.txt', '--input']);
    assert.deepEqual(last, {
      code: 64,
      stdout: '',
      stderr: 'error: --input needs a value (a path), and it is the last word\n',
    });
    const followed = await run(dir, [...program, '--input', '--output', 'out/x.txt']);
    assert.deepEqual(followed, {
      code: 64,
      stdout: '',
      stderr: 'error: --input needs a value (a path), and is followed by the flag --output\n',
    });
    const twice = await run(dir, [...program, '--input', 'a', '--input', 'b']);
    assert.deepEqual(twice, { code: 64, stdout: '', stderr: 'error: --input is given twice ("a", "b")\n' });
    const none = await run(dir, [...program, '--input', 'data/in.txt']);
    assert.deepEqual(none, { code: 64, stdout: '', stderr: 'error: needs an input and an output\n' });
    const missing = await run(dir, [...program, '--input', 'data/nothing.txt', '--output', 'out/y.txt']);
    assert.equal(missing.code, 66, missing.stderr);
  });

  test(`${language}: the log level comes from ETL_LOG_LEVEL; warn hides progress, an unknown level is said and info is used`, async (t) => {
    const dir = workFolder(t);
    const args = [...program, '--input', 'data/empty.txt', '--output', 'out/e.txt'];
    const quiet = await run(dir, args, { ETL_LOG_LEVEL: 'warn' });
    assert.deepEqual(quiet, { code: 0, stdout: '', stderr: `warn: ${tag}: the input had no lines\n` });
    const loud = await run(dir, args, { ETL_LOG_LEVEL: 'loud' });
    assert.equal(loud.code, 0, loud.stderr);
    assert.equal(loud.stdout, `${tag}: wrote 0 lines to out/e.txt\n`);
    assert.equal(
      loud.stderr,
      `warn: ETL_LOG_LEVEL is "loud": expected debug, info, warn, error; using info\nwarn: ${tag}: the input had no lines\n`,
    );
    const debug = await run(dir, args, { ETL_LOG_LEVEL: 'DEBUG' });
    assert.match(debug.stdout, new RegExp(`^debug: ${tag}: step (undefined|None) \\(`, 'm'));
  });
}

test('a metric or output name the runner would not take ends the module, in Node and in Python', async (t) => {
  const dir = workFolder(t);
  const node = (code: string) => run(dir, ['node', '--input-type=module', '-e', code]);
  const python = (code: string) => run(join(dir, 'modules'), ['python3', '-c', code]);
  assert.deepEqual(await node("import { metric } from 'etl-ledger/module'; metric('rows read', 1);"), {
    code: 1,
    stdout: '',
    stderr: 'error: metric name "rows read" is not letters, digits, _ . - (a letter or _ first, 100 at most)\n',
  });
  assert.deepEqual(await python("import etl_module; etl_module.metric('rows read', 1)"), {
    code: 1,
    stdout: '',
    stderr: 'error: metric name "rows read" is not letters, digits, _ . - (a letter or _ first, 100 at most)\n',
  });
  assert.deepEqual(await node("import { output } from 'etl-ledger/module'; output('file.name', 'x');"), {
    code: 1,
    stdout: '',
    stderr: 'error: output name "file.name" is not letters, digits and _ (a letter or _ first)\n',
  });
  assert.deepEqual(await python("import etl_module; etl_module.output('file.name', 'x')"), {
    code: 1,
    stdout: '',
    stderr: 'error: output name "file.name" is not letters, digits and _ (a letter or _ first)\n',
  });
  // A name ending in a line break: Python's $ matches before it; the helper must not.
  for (const call of ["metric('rows\\n', 5)", "output('day\\n', 'x')"]) {
    const ended = await python(`import etl_module; etl_module.${call}`);
    assert.equal(ended.code, 1, `${call}: ${ended.stderr}`);
    assert.match(ended.stderr, /^error: (metric|output) name "(rows|day)\n" is not letters/);
  }
});

/** A Node name in Python's case: parseArgs is parse_args; ExitCode and LOG_LEVELS stay as they are. */
const pythonName = (name: string) =>
  /^[A-Z]/.test(name) ? name : name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

test('etl_module.py has the functions, exit codes, names and version of etl-ledger/module', () => {
  const python = JSON.parse(
    execFileSync(
      'python3',
      [
        '-B',
        '-c',
        `import json, etl_module as m
print(json.dumps({
  "all": m.__all__,
  "exit": {code.name: code.value for code in m.ExitCode},
  "flags": m.DEFAULT_FLAGS, "variables": m.FLAG_VARIABLES,
  "metric": m.METRIC_NAME_PATTERN, "output": m.OUTPUT_KEY_PATTERN, "levels": list(m.LOG_LEVELS),
}))`,
      ],
      { cwd: join(ROOT, 'python'), encoding: 'utf8', env: byHand() },
    ),
  );
  // Node's functions and values; Python's classes besides them are types in Node.
  const types = ['FailedStep', 'Logger', 'ModuleArgs', 'RunContext'];
  assert.deepEqual(
    Object.keys(moduleHelpers).map(pythonName).sort(),
    python.all.filter((name: string) => !types.includes(name)).sort(),
  );
  assert.deepEqual(
    python.exit,
    Object.fromEntries(
      Object.entries(moduleHelpers.ExitCode).map(([name, code]) => [pythonName(name).toUpperCase(), code]),
    ),
  );
  assert.deepEqual(python.flags, DEFAULT_FLAGS);
  assert.deepEqual(python.variables, FLAG_VARIABLES);
  assert.equal(python.metric, METRIC_NAME_PATTERN);
  assert.equal(python.output, OUTPUT_KEY_PATTERN);
  assert.deepEqual(python.levels, moduleHelpers.LOG_LEVELS);
  const version = /^version = "(.*)"$/m.exec(readFileSync(join(ROOT, 'python/pyproject.toml'), 'utf8'))?.[1];
  assert.equal(version, JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
});
