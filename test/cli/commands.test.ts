import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { COMMANDS as ALL_COMMANDS } from '../../src/cli/commands.js';
import { painter } from '../../src/cli/output.js';
import { copyFixture, fixture, ROOT, runCli, tempRepo } from '../helpers/repo.js';

// Every command there is, from the one list the CLI itself uses.
const COMMANDS = Object.keys(ALL_COMMANDS);

for (const name of COMMANDS) {
  test(`etl ${name} --help prints its usage and exits 0`, async () => {
    for (const args of [
      [name, '--help'],
      ['help', name],
      [name, '-h'],
    ]) {
      const result = await runCli(args);
      assert.equal(result.code, 0);
      assert.match(result.stdout, new RegExp(`^Usage: etl ${name}`));
    }
  });
}

test('etl --help lists every command; etl alone is a usage error', async () => {
  assert.ok(COMMANDS.length >= 15, `only ${COMMANDS.length} commands`);
  const help = await runCli(['--help']);
  assert.equal(help.code, 0);
  for (const name of COMMANDS) assert.match(help.stdout, new RegExp(`^  ${name} `, 'm'));
  const bare = await runCli([]);
  assert.equal(bare.code, 2);
  assert.match(bare.stderr, /Usage: etl <command>/);
});

test('--version prints the package version', async () => {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  for (const args of [['--version'], ['-V'], ['validate', '--version']]) {
    const result = await runCli(args);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, `${version}\n`);
  }
});

test('an unknown command is a usage error with a suggestion', async () => {
  const result = await runCli(['valdate']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /unknown command "valdate" \(did you mean "validate"\?\)/);
});

test('--repo works before or after the command, and -C too', async () => {
  const repo = fixture('seed-runnable');
  for (const args of [
    ['--repo', repo, 'validate'],
    ['validate', '--repo', repo],
    ['-C', repo, 'validate'],
    [`--repo=${repo}`, 'validate'],
  ]) {
    const result = await runCli(args, { cwd: '/' });
    assert.equal(result.code, 0, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
    assert.match(result.stdout, /1 valid sequence, 3 modules/);
  }
});

test('colour only on a terminal and never with NO_COLOR', () => {
  const tty = { isTTY: true } as NodeJS.WriteStream;
  const pipe = { isTTY: false } as NodeJS.WriteStream;
  assert.equal(painter(tty, {})('red', 'x'), '\x1b[31mx\x1b[0m');
  assert.equal(painter(tty, { NO_COLOR: '1' })('red', 'x'), 'x');
  assert.equal(painter(tty, { TERM: 'dumb' })('red', 'x'), 'x');
  assert.equal(painter(pipe, {})('red', 'x'), 'x');
});

test('no escape codes reach a pipe, even without NO_COLOR', async () => {
  const result = await runCli(['validate', '--repo', join(fixture('invalid'), 'unknown-module')], {
    env: { NO_COLOR: '' },
  });
  assert.ok(!(result.stdout + result.stderr).includes('\u001b['), 'no escape codes');
});

test('etl list shows steps, schedule, next run in the zone and description', async () => {
  const text = await runCli(['list']);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /^SEQUENCE\s+STEPS\s+SCHEDULE\s+NEXT RUN\s+DESCRIPTION$/m);
  assert.match(
    text.stdout,
    /^air-quality\s+4\s+17 6 \* \* \* \(Europe\/Madrid\)\s+\d{4}-\d\d-\d\d 06:17\s+Daily air-quality/m,
  );
  const json = JSON.parse((await runCli(['list', '--json'])).stdout) as Array<Record<string, unknown>>;
  assert.equal(json.length, 1);
  assert.equal(json[0]!.name, 'air-quality');
  assert.equal(json[0]!.steps, 4);
  assert.equal(json[0]!.timezone, 'Europe/Madrid');
  const next = new Date(String(json[0]!.next_run));
  assert.ok(next.getTime() > Date.now() && next.getTime() <= Date.now() + 86_400_000);
});

test('etl list reports invalid sequences on stderr, lists the rest, exits 2', async (t) => {
  const repo = tempRepo(t, {
    'modules.json': '{"x": {"cmd": "true"}}',
    'etl_sequences/good.yaml': 'description: fine\nsteps:\n  - module_name: x\n',
    'etl_sequences/bad.json': '[{"module_name": "x", "retries": "many"}]',
  });
  const result = await runCli(['list', '--json'], { cwd: repo });
  assert.equal(result.code, 2);
  assert.deepEqual(
    JSON.parse(result.stdout).map((s: { name: string }) => s.name),
    ['good'],
  );
  assert.match(result.stderr, /etl_sequences\/bad\.json:1:34: error: "retries" must be an integer or null/);
});

test('etl plan shows the exact argv with renamed flags, timeouts, retries and env', async (t) => {
  const repo = tempRepo(t, {
    'modules.json': JSON.stringify({
      extract: {
        cmd: "./bin/extract.sh --mode 'full load'",
        flags: { config: '--conf' },
        timeout: '2m',
        retries: 2,
        retry_delay: '5s',
        env: { A: 'module', B: 'module' },
      },
    }),
    'bin/extract.sh': { content: '#!/bin/sh\n', mode: 0o755 },
    'conf.json': '{}',
    'etl_sequences/daily.yaml':
      'env:\n  B: sequence\nsteps:\n  - module_name: extract\n    name: first\n    input: "sqlite:////tmp/x.db"\n    output: ""\n    conf: conf.json\n    timeout: 30s\n    env:\n      C: step\n',
  });
  const result = await runCli(['plan', 'daily', '--json'], { cwd: repo });
  assert.equal(result.code, 0, result.stderr);
  const plan = JSON.parse(result.stdout);
  const [step] = plan.steps;
  assert.deepEqual(step.argv, [
    './bin/extract.sh',
    '--mode',
    'full load',
    '--input',
    'sqlite:////tmp/x.db',
    '--conf',
    'conf.json',
  ]);
  assert.equal(step.command, join(repo, 'bin/extract.sh'));
  assert.equal(step.cwd, repo);
  assert.equal(step.timeout_ms, 30_000);
  assert.equal(step.retries, 2);
  assert.equal(step.retry_delay_ms, 5_000);
  assert.deepEqual(step.env, { A: 'module', B: 'sequence', C: 'step' });
  const text = await runCli(['plan', 'daily'], { cwd: repo });
  assert.match(
    text.stdout,
    /\$ \.\/bin\/extract\.sh --mode 'full load' --input sqlite:\/\/\/\/tmp\/x\.db --conf conf\.json/,
  );
  assert.match(text.stdout, /timeout 30s · 2 retries 5s apart · env A, B, C/);
});

test('etl plan refuses an invalid sequence with its errors and exit 2', async () => {
  const result = await runCli(['plan', 'daily', '--repo', join(fixture('invalid'), 'unknown-module')]);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, /daily\.yaml:7:18: error: unknown module "extractr"/);
  const none = await runCli(['plan']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /plan takes one sequence name, got 0/);
});

test('etl init scaffolds a repository that validates and plans at once', async (t) => {
  const dir = tempRepo(t);
  const result = await runCli(['init', 'pipelines'], { cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  const repo = join(dir, 'pipelines');
  for (const file of [
    'modules.json',
    'etl_sequences/hello.json',
    'modules/hello.sh',
    'runs/.gitkeep',
    '.gitignore',
    '.git',
  ]) {
    assert.ok(existsSync(join(repo, file)), file);
  }
  assert.equal(statSync(join(repo, 'modules/hello.sh')).mode & 0o111, 0o111);
  const validated = await runCli(['validate', '--strict'], { cwd: repo });
  assert.equal(validated.code, 0, validated.stdout);
  assert.equal((await runCli(['plan', 'hello'], { cwd: repo })).code, 0);
  const sequence = JSON.parse(readFileSync(join(repo, 'etl_sequences/hello.json'), 'utf8')) as { $schema: string };
  assert.match(sequence.$schema, /schemas\/sequence\.schema\.json$/);
});

test('etl init: "$schema" finds the schemas where npm install puts them (or where they are), work/ is ignored, and Next says what works', async (t) => {
  const dir = tempRepo(t);
  const fresh = await runCli(['init', 'pipelines', '--package', 'git+https://example.com/office/etl-ledger.git'], {
    cwd: dir,
  });
  assert.equal(fresh.code, 0, fresh.stderr);
  const repo = join(dir, 'pipelines');
  assert.equal(
    JSON.parse(readFileSync(join(repo, 'modules.json'), 'utf8')).$schema,
    './node_modules/etl-ledger/schemas/modules.schema.json',
  );
  // Nothing is installed yet: etl is not on PATH, and npx etl needs the install first.
  assert.match(
    fresh.stdout,
    /\nNext:\n {2}cd pipelines\n {2}npm install {2,}# installs etl-ledger from package\.json.*\n {2}npx etl validate\n {2}npx etl run hello /,
  );
  assert.doesNotMatch(fresh.stdout, /^Next: etl /m);
  const ignored = execFileSync('git', ['check-ignore', 'work/raw.csv', 'out/x.sqlite'], {
    cwd: repo,
    encoding: 'utf8',
  });
  assert.deepEqual(ignored.trim().split('\n'), ['work/raw.csv', 'out/x.sqlite']);

  // etl-ledger installed in a folder above (as npm puts it): "$schema" points at its schemas.
  const schemas = join(dir, 'node_modules/etl-ledger/schemas');
  mkdirSync(schemas, { recursive: true });
  for (const file of readdirSync(join(ROOT, 'schemas'))) copyFileSync(join(ROOT, 'schemas', file), join(schemas, file));
  const nested = await runCli(['init', 'inner'], { cwd: dir });
  assert.equal(nested.code, 0, nested.stderr);
  for (const file of ['modules.json', 'etl_sequences/hello.json']) {
    const path = join(dir, 'inner', file);
    const reference = JSON.parse(readFileSync(path, 'utf8')).$schema as string;
    assert.ok(existsSync(resolve(dirname(path), reference)), `${file}: ${reference}`);
  }
  assert.match(
    nested.stdout,
    /npm install --save-dev git\+https:\/\/github\.com\/OWNER\/etl-ledger\.git|npm install {2,}#/,
  );

  // Installed in the repository itself: nothing to install, npx etl works at once.
  const installed = tempRepo(t, { 'node_modules/etl-ledger/package.json': '{"name": "etl-ledger"}' });
  const ready = await runCli(['init'], { cwd: installed });
  assert.match(ready.stdout, /\nNext:\n {2}npx etl validate\n/);
});

test('etl init in a repository on another branch: etl-run.yml listens to that branch', async (t) => {
  const repo = tempRepo(t);
  execFileSync('git', ['init', '--quiet', '--initial-branch=trunk'], { cwd: repo });
  assert.equal((await runCli(['init'], { cwd: repo })).code, 0);
  assert.match(
    readFileSync(join(repo, '.github/workflows/etl-run.yml'), 'utf8'),
    /push:\n {4}branches:\n {6}- trunk\n/,
  );
});

test('etl init never overwrites: with a modules.json of its own, it is kept and no example is added', async (t) => {
  const repo = tempRepo(t, { 'modules.json': '{"mine": {"cmd": "true"}}' });
  const result = await runCli(['init', '--package', 'git+https://example.com/etl-ledger.git'], { cwd: repo });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /kept as they were:\n {2}modules\.json\n/);
  assert.equal(readFileSync(join(repo, 'modules.json'), 'utf8'), '{"mine": {"cmd": "true"}}');
  assert.equal(existsSync(join(repo, 'etl_sequences/hello.json')), false);
  assert.equal(existsSync(join(repo, 'modules/hello.sh')), false);
  assert.equal((await runCli(['validate'], { cwd: repo })).code, 0);
});

test('etl -C DIR init writes into DIR (never the current folder), and a new repository gets a package.json that installs etl-ledger', async (t) => {
  const home = tempRepo(t);
  const result = await runCli(
    ['-C', 'pipelines', 'init', '--package', 'git+https://example.com/office/etl-ledger.git'],
    { cwd: home },
  );
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(readdirSync(home), ['pipelines'], 'nothing written beside it, no git init of the current folder');
  const pkg = JSON.parse(readFileSync(join(home, 'pipelines/package.json'), 'utf8'));
  assert.deepEqual(pkg.devDependencies, { 'etl-ledger': 'git+https://example.com/office/etl-ledger.git' });
  assert.equal(pkg.private, true);
  assert.match(result.stderr, /run "npm install" to write package-lock\.json/);
  assert.ok(existsSync(join(home, 'pipelines/.git')));
});

test('etl init on an existing repository with a .gitignore and package.json merges what it must and says what it changed', async (t) => {
  const repo = tempRepo(t, {
    '.gitignore': 'node_modules/\n*.log\n',
    'package.json': '{"name": "office", "scripts": {"x": "y"}}\n',
    'README.md': 'ours\n',
  });
  execFileSync('git', ['init', '--quiet', '--initial-branch=main'], { cwd: repo });
  const result = await runCli(['init', '--package', 'github:office/etl-ledger'], { cwd: repo });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /changed:\n {2}\.gitignore\n {2}package\.json\n/);
  const ignore = readFileSync(join(repo, '.gitignore'), 'utf8');
  assert.ok(ignore.startsWith('node_modules/\n*.log\n# etl-ledger\n'), ignore);
  assert.equal(ignore.split('\n').filter((l) => l === 'node_modules/').length, 1, 'a line it has is not added twice');
  assert.match(ignore, /^runs\/\*\*\/\.lock$/m);
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
  assert.deepEqual(pkg.scripts, { x: 'y' });
  assert.equal(pkg.devDependencies['etl-ledger'], 'github:office/etl-ledger');
  const again = await runCli(['init'], { cwd: repo });
  assert.match(again.stdout, /^Nothing to change in the pipeline repository \./);
});

test("the seed's dummy sequence runs with Python modules that take --conf, set once with $flags", {
  skip: !hasPython() && 'python3 is not installed: the seed-python fixture needs it',
}, async (t) => {
  const repo = copyFixture(t, 'seed-python');
  const plan = await runCli(['plan', 'dummy_etl'], { cwd: repo });
  assert.match(
    plan.stdout,
    /python3 modules\/dummy_transformer\.py --input out\/dummy_raw\.csv --output out\/dummy_clean\.csv --conf transformer_config\.json/,
  );
  const result = await runCli(['run', 'dummy_etl', '--verbose'], { cwd: repo });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /dummy_loader: loaded 2 rows/);
  assert.equal(readFileSync(join(repo, 'out/dummy_clean.csv'), 'utf8'), 'CITY,PM25\nBUENOS AIRES,12\nCORDOBA,9\n');
});

function hasPython(): boolean {
  try {
    execFileSync('python3', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
