// Secrets as a run, a plan and a dry run see them.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pipelineRepo, runCli } from '../helpers/repo.js';
import { findRunFolders, readRunFolder } from '../helpers/runs.js';

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

test('a secret of exactly 3 characters is masked in argv and the log, without a warning', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { tell: { cmd: 'sh -c \'echo "pw=$DB_PASSWORD"\' tell' } },
    sequences: { s: { secrets: ['DB_PASSWORD'], steps: [{ module_name: 'tell', input: 'db/x7q' }] } },
  });
  const result = await runCli(['run', 's'], { cwd: repo, env: { DB_PASSWORD: 'x7q' } });
  assert.equal(result.code, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /shorter than/);
  const [folder] = findRunFolders(repo);
  const { steps } = readRunFolder(folder!);
  assert.deepEqual(steps[0]!.argv.slice(-2), ['--input', 'db/***']);
  const log = readFileSync(join(folder!, 'logs', readdirSync(join(folder!, 'logs'))[0]!), 'utf8');
  assert.equal(log, 'pw=***\n');
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

test('a secret inside a --param value is masked in run.json and everywhere it is shown, as in argv', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: {
      s: {
        secrets: ['SECRET_TOKEN'],
        params: { dst: {} },
        steps: [{ module_name: 'ok', output: '${params.dst}' }],
      },
    },
  });
  const env = { SECRET_TOKEN: 'hunter22' };
  for (const dst of ['work/hunter22.csv', 'other/hunter22.csv']) {
    const run = await runCli(['run', 's', '--param', `dst=${dst}`], { cwd: repo, env });
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stdout + run.stderr, /hunter22/);
  }
  const [older, newer] = findRunFolders(repo).map(readRunFolder);
  assert.deepEqual(older!.run.params, { dst: 'work/***.csv' });
  assert.deepEqual(newer!.run.params, { dst: 'other/***.csv' });
  assert.equal(newer!.steps[0]!.output, 'other/***.csv', 'as the step record has it');
  for (const args of [
    ['diff', older!.run.id, newer!.run.id],
    ['diff', older!.run.id, newer!.run.id, '--json'],
    ['show', newer!.run.id, '--json'],
    ['history', '--json'],
    ['run', 's', '--param', 'dst=work/hunter22.csv', '--dry-run', '--json'],
  ]) {
    const shown = await runCli(args, { cwd: repo, env });
    assert.equal(shown.code, 0, `${args.join(' ')}: ${shown.stderr}`);
    assert.doesNotMatch(shown.stdout + shown.stderr, /hunter22/, args.join(' '));
  }
  assert.match((await runCli(['diff', older!.run.id, newer!.run.id], { cwd: repo })).stdout, /work\/\*\*\*\.csv/);
  assert.equal((await runCli(['report', '--out', 'site'], { cwd: repo })).code, 0);
  assert.doesNotMatch(
    readdirSync(join(repo, 'site'), { recursive: true, encoding: 'utf8' })
      .filter((p) => p.endsWith('.json'))
      .map((p) => readFileSync(join(repo, 'site', p), 'utf8'))
      .join('\n'),
    /hunter22/,
  );
});

test('a run whose param was recorded with a secret masked resumes once the value is given again', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' }, fail: { cmd: './modules/fail.sh 4' } },
    sequences: {
      s: {
        secrets: ['SECRET_TOKEN'],
        params: { dst: {} },
        steps: [
          { module_name: 'ok', output: '${params.dst}' },
          { module_name: 'fail', input: '${params.dst}' },
        ],
      },
    },
  });
  const env = { SECRET_TOKEN: 'hunter22' };
  assert.equal((await runCli(['run', 's', '--param', 'dst=work/hunter22.csv'], { cwd: repo, env })).code, 1);
  const [failed] = findRunFolders(repo).map(readRunFolder);
  const bare = await runCli(['run', 's', '--resume', failed!.run.id], { cwd: repo, env });
  assert.equal(bare.code, 2);
  assert.match(
    bare.stderr,
    /param dst=work\/\*\*\*\.csv, recorded with a secret masked: give it again with --param dst=VALUE/,
  );
  const other = await runCli(['run', 's', '--resume', failed!.run.id, '--param', 'dst=else/x.csv'], { cwd: repo, env });
  assert.equal(other.code, 2);
  const again = await runCli(['run', 's', '--resume', failed!.run.id, '--param', 'dst=work/hunter22.csv'], {
    cwd: repo,
    env,
  });
  assert.equal(again.code, 1, again.stderr); // resumed at step 2, which fails again
  const resumed = findRunFolders(repo).map(readRunFolder).at(-1)!;
  assert.equal(resumed.run.resumed_from, failed!.run.id);
  assert.deepEqual(resumed.run.params, { dst: 'work/***.csv' });
});
