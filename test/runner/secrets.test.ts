// Secrets as a run, a plan and a dry run see them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pipelineRepo, runCli } from '../helpers/repo.js';

const DEFS = {
  modules: { ok: { cmd: './modules/ok.sh' } },
  sequences: { s: { secrets: ['DB_PASSWORD'], steps: [{ module_name: 'ok', input: 'postgres://etl:hunter22@db/x' }] } },
};

test('a declared secret that is not set warns; --strict refuses to run', async (t) => {
  const repo = pipelineRepo(t, DEFS);
  const warned = await runCli(['run', 's'], { cwd: repo, env: { DB_PASSWORD: '' } });
  assert.equal(warned.code, 0, warned.stderr);
  assert.match(warned.stderr, /etl run: warning: secret DB_PASSWORD is not set: its modules get no value/);
  const strict = await runCli(['run', 's', '--strict'], { cwd: repo, env: { DB_PASSWORD: '' } });
  assert.equal(strict.code, 2);
  assert.match(strict.stderr, /--strict: not running with warnings/);
  assert.equal(
    (await runCli(['history', '--json'], { cwd: repo })).stdout.match(/"id"/g)?.length,
    1,
    'the strict run recorded nothing',
  );
});

test('a secret shorter than 3 characters warns that it is not masked', async (t) => {
  const repo = pipelineRepo(t, DEFS);
  const result = await runCli(['run', 's'], { cwd: repo, env: { DB_PASSWORD: 'ab' } });
  assert.equal(result.code, 0);
  assert.match(result.stderr, /secret DB_PASSWORD is shorter than 3 characters: it is not masked/);
});

test('plan, plan --json and run --dry-run mask a secret inside argv, as run records it', async (t) => {
  const repo = pipelineRepo(t, DEFS);
  const env = { DB_PASSWORD: 'hunter22' };
  for (const args of [
    ['plan', 's'],
    ['plan', 's', '--json'],
    ['run', 's', '--dry-run'],
    ['run', 's', '--dry-run', '--json'],
  ]) {
    const result = await runCli(args, { cwd: repo, env });
    assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    assert.doesNotMatch(result.stdout + result.stderr, /hunter22/, args.join(' '));
    assert.match(result.stdout, /postgres:\/\/etl:\*\*\*@db\/x/, args.join(' '));
  }
});
