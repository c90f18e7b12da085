// Validation runs on untrusted pull requests: a definition that links out of the repository
// is refused, never read; runs/ linking out is refused before anything runs.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { git, initRepo } from '../helpers/git.js';
import { pipelineRepo, runCli, tempRepo } from '../helpers/repo.js';

const OK = { modules: { ok: { cmd: './modules/ok.sh' } }, sequences: { s: [{ module_name: 'ok' }] } };

test('a sequence file linking outside the repository is refused with a located error, and its content never shows', async (t) => {
  const outside = tempRepo(t, { 'secret.json': '[{"module_name": "TOP-SECRET-VALUE"}]' });
  const repo = pipelineRepo(t, OK);
  symlinkSync(join(outside, 'secret.json'), join(repo, 'etl_sequences/leak.json'));
  symlinkSync('/etc/passwd', join(repo, 'etl_sequences/passwd.json'));
  const result = await runCli(['validate'], { cwd: repo });
  assert.equal(result.code, 2);
  assert.match(
    result.stdout + result.stderr,
    /etl_sequences\/leak\.json:1:1: error: the file is a symbolic link to something outside the repository: definitions are read only from inside it \[symlink-outside\]/,
  );
  assert.match(result.stdout + result.stderr, /etl_sequences\/passwd\.json:1:1: error: .*\[symlink-outside\]/);
  assert.doesNotMatch(result.stdout + result.stderr, /TOP-SECRET-VALUE|root:/);
  // The other sequences are still fine.
  assert.equal((await runCli(['run', 's'], { cwd: repo })).code, 0);
});

test('a modules.json linking outside the repository is refused; a link inside the repository is read', async (t) => {
  const outside = tempRepo(t, { 'modules.json': '{"ok": {"cmd": "./modules/ok.sh"}}' });
  const repo = pipelineRepo(t, OK);
  writeFileSync(join(repo, 'shared.json'), '[{"module_name": "ok"}]');
  symlinkSync('../shared.json', join(repo, 'etl_sequences/inside.json'));
  const modules = join(repo, 'modules.json');
  const result0 = await runCli(['validate', 'inside'], { cwd: repo });
  assert.equal(result0.code, 0, result0.stdout + result0.stderr);
  rmSync(modules);
  symlinkSync(join(outside, 'modules.json'), modules);
  const result = await runCli(['validate'], { cwd: repo });
  assert.equal(result.code, 2);
  assert.match(result.stdout + result.stderr, /modules\.json:1:1: error: .*\[symlink-outside\]/);
});

test('a run pins a symbolic link as git stores it (its target), not the content it points at', async (t) => {
  const repo = pipelineRepo(t, OK);
  writeFileSync(join(repo, 'shared.json'), '[{"module_name": "ok"}]');
  symlinkSync('../shared.json', join(repo, 'etl_sequences/linked.json'));
  initRepo(repo);
  const result = await runCli(['run', 'linked', '--json'], { cwd: repo });
  assert.equal(result.code, 0, result.stderr);
  const run = JSON.parse(result.stdout) as { definitions: { files: Record<string, string>; dirty: boolean } };
  assert.equal(
    run.definitions.files['etl_sequences/linked.json'],
    git(repo, 'rev-parse', 'HEAD:etl_sequences/linked.json'),
  );
  assert.equal(run.definitions.dirty, false);
});

test('runs/ as a symbolic link leaving the repository is refused before any module runs', async (t) => {
  const outside = tempRepo(t);
  const repo = pipelineRepo(t, {
    modules: { dump: { cmd: './modules/env-dump.mjs' } },
    sequences: { s: [{ module_name: 'dump', output: 'ran.json' }] },
  });
  mkdirSync(join(outside, 'elsewhere'));
  symlinkSync(join(outside, 'elsewhere'), join(repo, 'runs'));
  const result = await runCli(['run', 's'], { cwd: repo });
  assert.equal(result.code, 2);
  assert.match(
    result.stderr,
    /runs\/ is a symbolic link to .*, outside the repository: the ledger must live inside it \[runs-outside-repository\]/,
  );
  assert.equal(existsSync(join(repo, 'ran.json')), false, 'nothing ran');
  assert.deepEqual(readdirSync(join(outside, 'elsewhere')), [], 'nothing was written outside');
});

test('etl_sequences/ itself linked to a folder outside the repository: its files are refused, never read', async (t) => {
  const outside = tempRepo(t, { 'leak.json': '[{"module_name": "TOP-SECRET-VALUE"}]' });
  const repo = pipelineRepo(t, OK);
  rmSync(join(repo, 'etl_sequences'), { recursive: true });
  symlinkSync(outside, join(repo, 'etl_sequences'));
  const result = await runCli(['validate'], { cwd: repo });
  assert.equal(result.code, 2);
  assert.match(
    result.stdout,
    /etl_sequences\/leak\.json:1:1: error: the file is in a linked folder that leads to something outside the repository: definitions are read only from inside it \[symlink-outside\]/,
  );
  assert.doesNotMatch(result.stdout + result.stderr, /TOP-SECRET-VALUE/);
});
