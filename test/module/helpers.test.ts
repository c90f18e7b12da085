// The module helpers, etl-ledger/module (Node) and etl_module.py (Python), in modules run by
// `etl run`: the renamed flags they are given, a YAML and a JSON conf, metrics and outputs in
// the run's records and used by a later step, and a bad conf said where it is wrong.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { initRepo } from '../helpers/git.js';
import { fixture, pipelineRepo, ROOT, runCli } from '../helpers/repo.js';
import { assertValidRecords, log, onlyRun } from '../helpers/runs.js';

const MODULES = {
  // Both rename flags: the helpers read the names the runner passes (ETL_FLAG_*).
  node_prefix: { cmd: 'node modules/prefix.mjs', flags: { input: '-i', config: '--conf' } },
  py_prefix: { cmd: 'python3 modules/prefix.py --shout', flags: { output: '--out', config: '-c' } },
};

const FILES = {
  '.gitignore': 'node_modules/\nwork/\n__pycache__/\n',
  'data/in.txt': 'a\nb\nc\n',
  'conf/node.yaml': "# the Node step's conf\nprefix: n-\n",
  'conf/python.json': '{ "prefix": "p-" }\n',
  'conf/bad.json': '{\n  "prefix": "n-"\n  "more": 1\n}\n',
  'conf/bad.yaml': 'prefix: [n-\nmore: 1\n',
  'conf/twice.json': '{\n  "prefix": "a",\n  "prefix": "b"\n}\n',
};

/**
 * A git repository with the helper fixtures as modules: etl_module.py beside them, as `etl init
 * --python` puts it, and etl-ledger in node_modules, as `npm install` puts it.
 */
function helpersRepo(t: TestContext, sequences: Record<string, unknown>): string {
  const repo = pipelineRepo(t, { modules: MODULES, sequences, files: FILES });
  cpSync(fixture('module-helpers'), join(repo, 'modules'), { recursive: true });
  copyFileSync(join(ROOT, 'python/etl_module.py'), join(repo, 'modules/etl_module.py'));
  mkdirSync(join(repo, 'node_modules'));
  symlinkSync(ROOT, join(repo, 'node_modules/etl-ledger'));
  return initRepo(repo);
}

const hasPyYaml = (() => {
  try {
    execFileSync('python3', ['-c', 'import yaml'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

test('a Node and a Python module written with the helpers run in a sequence: renamed flags, YAML and JSON confs, metrics and outputs a later step uses', async (t) => {
  const repo = helpersRepo(t, {
    helpers: {
      params: { region: { default: 'north' } },
      steps: [
        {
          name: 'node',
          module_name: 'node_prefix',
          input: 'data/in.txt',
          output: 'work/node.txt',
          conf: 'conf/node.yaml',
          env: { ETL_LOG_LEVEL: 'debug' },
        },
        {
          name: 'python',
          module_name: 'py_prefix',
          input: '${steps.node.outputs.file}',
          output: 'work/python.txt',
          conf: 'conf/python.json',
          env: { ETL_LOG_LEVEL: 'debug' },
        },
        // No conf (the module's default), its output named by what the step before wrote.
        {
          name: 'last',
          module_name: 'node_prefix',
          input: '${steps.python.outputs.file}',
          output: 'work/${steps.python.outputs.rows}-rows.txt',
        },
      ],
    },
  });
  const result = await runCli(['run', 'helpers', '--param', 'region=south'], { cwd: repo });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.equal(readFileSync(join(repo, 'work/node.txt'), 'utf8'), 'n-a\nn-b\nn-c\n');
  assert.equal(readFileSync(join(repo, 'work/python.txt'), 'utf8'), 'P-N-A\nP-N-B\nP-N-C\n');
  assert.equal(readFileSync(join(repo, 'work/3-rows.txt'), 'utf8'), 'P-N-A\nP-N-B\nP-N-C\n');

  const { folder, run, steps } = onlyRun(repo);
  assertValidRecords(run, steps);
  assert.deepEqual(
    steps.map((step) => step.argv.slice(1)),
    [
      ['modules/prefix.mjs', '-i', 'data/in.txt', '--output', 'work/node.txt', '--conf', 'conf/node.yaml'],
      [
        'modules/prefix.py',
        '--shout',
        '--input',
        'work/node.txt',
        '--out',
        'work/python.txt',
        '-c',
        'conf/python.json',
      ],
      ['modules/prefix.mjs', '-i', 'work/python.txt', '--output', 'work/3-rows.txt'],
    ],
  );
  assert.deepEqual(
    steps.map((step) => step.metrics),
    [
      { rows: 3, prefix: 'n-', region: 'south' },
      { rows: 3, prefix: 'p-', region: 'south' },
      { rows: 3, prefix: '', region: 'south' },
    ],
  );
  assert.deepEqual(steps[0]!.outputs, { file: 'work/node.txt', rows: '3', summary: 'first: n-a\nlast: n-c' });
  assert.deepEqual(steps[1]!.outputs, { file: 'work/python.txt', rows: '3', summary: 'first: P-N-A\nlast: P-N-C' });

  // The level from ETL_LOG_LEVEL: debug where the step says so, info (the default) elsewhere.
  assert.match(
    log(folder, steps[0]!),
    /^debug: node: step 1 \(node\) of helpers, attempt 1, region south, role step$/m,
  );
  assert.match(log(folder, steps[0]!), /^node: wrote 3 lines to work\/node\.txt$/m);
  assert.match(
    log(folder, steps[1]!),
    /^debug: python: step 2 \(python\) of helpers, attempt 1, region south, role step$/m,
  );
  assert.match(log(folder, steps[1]!), /^python: wrote 3 lines to work\/python\.txt$/m);
  assert.doesNotMatch(log(folder, steps[2]!), /debug:/);
});

test('a conf that is not valid JSON or YAML ends the module with exit 78 and a message that says where, in Node and in Python', async (t) => {
  const bad = (name: string, module: string, conf: string, env?: Record<string, string>) => ({
    name,
    module_name: module,
    input: 'data/in.txt',
    output: `work/${name}.txt`,
    conf,
    continue_on: 'failure',
    ...(env ? { env } : {}),
  });
  const repo = helpersRepo(t, {
    bad: [
      bad('node_json', 'node_prefix', 'conf/bad.json'),
      bad('node_yaml', 'node_prefix', 'conf/bad.yaml'),
      bad('node_twice', 'node_prefix', 'conf/twice.json'),
      bad('py_json', 'py_prefix', 'conf/bad.json'),
      bad('py_yaml', 'py_prefix', 'conf/bad.yaml'),
      bad('py_twice', 'py_prefix', 'conf/twice.json'),
      // A Python without PyYAML: a valid YAML conf it cannot read says so.
      bad('py_no_pyyaml', 'py_prefix', 'conf/node.yaml', { PYTHONPATH: 'modules/no-pyyaml' }),
      bad('py_yaml_ok', 'py_prefix', 'conf/node.yaml'),
    ],
  });
  const result = await runCli(['run', 'bad'], { cwd: repo });
  assert.equal(result.code, 0, result.stdout + result.stderr); // went on after each failure
  const { folder, run, steps } = onlyRun(repo);
  assertValidRecords(run, steps);
  const ended = Object.fromEntries(
    steps.map((step) => [step.name, { code: step.attempts.at(-1)!.exit_code, log: log(folder, step).trim() }]),
  );
  const expected: Record<string, { code: number; log: RegExp }> = {
    node_json: { code: 78, log: /^error: conf\/bad\.json:3:3: invalid JSON: expected "," or "}", found "\\""$/ },
    node_yaml: { code: 78, log: /^error: conf\/bad\.yaml:\d+:\d+: invalid YAML: / },
    node_twice: { code: 78, log: /^error: conf\/twice\.json:3:3: duplicate key "prefix"/ },
    py_json: { code: 78, log: /^error: conf\/bad\.json:3:3: invalid JSON: Expecting ',' delimiter$/ },
    py_yaml: hasPyYaml
      ? { code: 78, log: /^error: conf\/bad\.yaml:\d+:\d+: invalid YAML: / }
      : { code: 78, log: /needs PyYAML/ },
    py_twice: { code: 78, log: /^error: conf\/twice\.json:1:1: duplicate key "prefix" in the object that starts here/ },
    py_no_pyyaml: {
      code: 78,
      log: /^error: conf\/node\.yaml: a YAML conf needs PyYAML in Python \(pip install pyyaml\), which is not installed here: install it, or write the conf as JSON$/,
    },
    py_yaml_ok: hasPyYaml ? { code: 0, log: /^python: wrote 3 lines/ } : { code: 78, log: /needs PyYAML/ },
  };
  for (const [name, { code, log: pattern }] of Object.entries(expected)) {
    assert.equal(ended[name]!.code, code, `${name}: ${ended[name]!.log}`);
    assert.match(ended[name]!.log, pattern, name);
    assert.doesNotMatch(ended[name]!.log, /\n\s+at |Traceback/, `${name}: no stack trace`);
  }
  if (hasPyYaml) assert.deepEqual(steps.at(-1)!.metrics, { rows: 3, prefix: 'n-', region: 'none' });
  else t.diagnostic('PyYAML is not installed: the Python module reading a valid YAML conf was checked to say so');
});
