// etl init --python: the Python module helpers written into the new repository, where a module
// imports them.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, runCli, tempRepo, writeFiles } from '../helpers/repo.js';
import { onlyRun } from '../helpers/runs.js';

const GREET = `#!/usr/bin/env python3
import etl_module as etl

args = etl.parse_args()
conf = etl.read_config(args.config, default={"greeting": "hello"})
etl.metric("letters", len(conf["greeting"]))
etl.output("greeting", conf["greeting"])
etl.log.info(f"{conf['greeting']} from {etl.context().sequence}")
`;

test('etl init --python writes modules/etl_module.py (never over one of your own), and a Python module imports it', async (t) => {
  const dir = tempRepo(t);
  const spec = 'git+https://example.com/office/etl-ledger.git';
  const plain = await runCli(['init', 'plain', '--package', spec], { cwd: dir });
  assert.equal(plain.code, 0, plain.stderr);
  assert.ok(!existsSync(join(dir, 'plain/modules/etl_module.py')), 'only with --python');

  const result = await runCli(['init', 'pipes', '--python', '--package', spec], { cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^ {2}modules\/etl_module\.py$/m);
  const repo = join(dir, 'pipes');
  const helpers = readFileSync(join(ROOT, 'python/etl_module.py'), 'utf8');
  assert.equal(readFileSync(join(repo, 'modules/etl_module.py'), 'utf8'), helpers);

  writeFiles(repo, {
    'modules/greet.py': { content: GREET, mode: 0o755 },
    'conf/greet.json': '{ "greeting": "hi" }\n',
    'modules.json': JSON.stringify({ greet: { cmd: 'python3 modules/greet.py' } }),
    'etl_sequences/greet.json': JSON.stringify([{ module_name: 'greet', conf: 'conf/greet.json' }]),
    '.gitignore': `${readFileSync(join(repo, '.gitignore'), 'utf8')}__pycache__/\n`,
  });
  const run = await runCli(['run', 'greet'], { cwd: repo, env: { PYTHONDONTWRITEBYTECODE: '1' } });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const { steps } = onlyRun(repo);
  assert.deepEqual(steps[0]!.metrics, { letters: 2 });
  assert.deepEqual(steps[0]!.outputs, { greeting: 'hi' });

  // Your own copy, changed, is kept as it is.
  writeFileSync(join(repo, 'modules/etl_module.py'), `${helpers}\n# changed here\n`);
  const again = await runCli(['init', '--python'], { cwd: repo });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /kept as they were:[\s\S]*^ {2}modules\/etl_module\.py$/m);
  assert.match(readFileSync(join(repo, 'modules/etl_module.py'), 'utf8'), /# changed here\n$/);
});
