import assert from 'node:assert/strict';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { changedSequences } from '../../src/review/changed.js';
import { cloneOf, git, initRepo, pipelineWithRemote } from '../helpers/git.js';
import { pipelineRepo, runCli } from '../helpers/repo.js';

const DEFINITIONS = {
  modules: {
    extract: { cmd: './modules/ok.sh' },
    transform: { cmd: 'sh modules/flaky.sh 0' },
    load: { cmd: './modules/env-dump.mjs' },
  },
  sequences: {
    a: [{ module_name: 'extract' }, { module_name: 'transform' }],
    b: { steps: [{ module_name: 'load', output: 'x.json' }], on_failure: { module_name: 'extract' } },
    c: [{ module_name: 'load', output: 'y.json' }],
  },
};

function commitAll(repo: string, message: string): string {
  git(repo, 'add', '-A');
  git(repo, 'commit', '--quiet', '-m', message);
  return git(repo, 'rev-parse', 'HEAD');
}

const names = async (repo: string, base: string, head = 'HEAD') =>
  (await changedSequences(repo, base, { head })).map((c) => c.name);

test('a sequence file edit, rename and deletion', async (t) => {
  const repo = initRepo(pipelineRepo(t, DEFINITIONS));
  const base = git(repo, 'rev-parse', 'HEAD');
  writeFileSync(join(repo, 'etl_sequences/a.json'), JSON.stringify([{ module_name: 'extract' }]));
  renameSync(join(repo, 'etl_sequences/b.json'), join(repo, 'etl_sequences/b2.json'));
  rmSync(join(repo, 'etl_sequences/c.json'));
  commitAll(repo, 'edit a, rename b, delete c');
  const changed = await changedSequences(repo, base);
  assert.deepEqual(changed, [
    { name: 'a', file: 'etl_sequences/a.json', reasons: ['sequence file changed'] },
    { name: 'b2', file: 'etl_sequences/b2.json', reasons: ['sequence file changed'] },
  ]);
});

test('a modules.json edit touching one module changes only the sequences that use it (on_failure too)', async (t) => {
  const repo = initRepo(pipelineRepo(t, DEFINITIONS));
  const base = git(repo, 'rev-parse', 'HEAD');
  writeFileSync(
    join(repo, 'modules.json'),
    JSON.stringify({ ...DEFINITIONS.modules, extract: { cmd: './modules/ok.sh', timeout: '5m' } }, null, 2),
  );
  commitAll(repo, 'extract gets a timeout');
  const changed = await changedSequences(repo, base);
  assert.deepEqual(
    changed.map((c) => [c.name, c.reasons]),
    [
      ['a', ['module "extract" changed in modules.json']],
      ['b', ['module "extract" changed in modules.json']],
    ],
  );
  // Reformatting modules.json without changing a module changes nothing.
  const again = git(repo, 'rev-parse', 'HEAD');
  writeFileSync(
    join(repo, 'modules.json'),
    JSON.stringify({ ...DEFINITIONS.modules, extract: { cmd: './modules/ok.sh', timeout: '5m' } }),
  );
  commitAll(repo, 'reformat');
  assert.deepEqual(await names(repo, again), []);
});

test('a module script edit changes the sequences that run it, a program or an interpreter argument', async (t) => {
  const repo = initRepo(pipelineRepo(t, DEFINITIONS));
  const base = git(repo, 'rev-parse', 'HEAD');
  writeFileSync(join(repo, 'modules/flaky.sh'), '#!/bin/sh\necho changed\n');
  commitAll(repo, 'edit flaky.sh');
  assert.deepEqual(
    (await changedSequences(repo, base)).map((c) => [c.name, c.reasons]),
    [['a', ['module file modules/flaky.sh changed']]],
  );
  const next = git(repo, 'rev-parse', 'HEAD');
  writeFileSync(join(repo, 'modules/env-dump.mjs'), '#!/usr/bin/env node\n');
  commitAll(repo, 'edit env-dump.mjs');
  assert.deepEqual(await names(repo, next), ['b', 'c']);
  assert.deepEqual(await names(repo, base), ['a', 'b', 'c']);
  // Files outside the definitions (data, docs, the ledger) change nothing.
  const later = git(repo, 'rev-parse', 'HEAD');
  writeFileSync(join(repo, 'README.md'), 'docs\n');
  commitAll(repo, 'docs');
  assert.deepEqual(await names(repo, later), []);
});

test('a sequence that calls a changed one (at any depth) is changed too, saying which', async (t) => {
  const repo = initRepo(
    pipelineRepo(t, {
      modules: DEFINITIONS.modules,
      sequences: {
        a: [{ module_name: 'extract' }],
        b: { steps: [{ module_name: 'extract' }], on_failure: { call: 'a' } },
        top: [{ call: 'b' }],
        other: [{ module_name: 'extract' }],
      },
    }),
  );
  const base = git(repo, 'rev-parse', 'HEAD');
  writeFileSync(join(repo, 'etl_sequences/a.json'), JSON.stringify([{ module_name: 'transform' }]));
  commitAll(repo, 'edit a');
  assert.deepEqual(await changedSequences(repo, base), [
    { name: 'a', file: 'etl_sequences/a.json', reasons: ['sequence file changed'] },
    { name: 'b', file: 'etl_sequences/b.json', reasons: ['sequence "a" it calls changed'] },
    { name: 'top', file: 'etl_sequences/top.json', reasons: ['sequence "b" it calls changed'] },
  ]);
});

test('--json prints a one-line array for a CI matrix; an all-zero base (first push) means everything', async (t) => {
  const repo = initRepo(pipelineRepo(t, DEFINITIONS));
  const result = await runCli(['changed', '--base', '0000000000000000000000000000000000000000', '--json'], {
    cwd: repo,
  });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, '["a","b","c"]\n');
  const none = await runCli(['changed', '--base', 'HEAD', '--json'], { cwd: repo });
  assert.equal(none.stdout, '[]\n');
  const typo = await runCli(['changed', '--base', 'no-such-ref'], { cwd: repo });
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /--base "no-such-ref" is not a commit of this repository/);
});

test('in a shallow clone without the base commit, every sequence counts as changed', async (t) => {
  const { repo, remote } = pipelineWithRemote(t, DEFINITIONS);
  const base = git(repo, 'rev-parse', 'HEAD');
  writeFileSync(join(repo, 'etl_sequences/a.json'), '[{"module_name": "extract"}]');
  commitAll(repo, 'edit a');
  git(repo, 'push', '--quiet', 'origin', 'main');
  const shallow = cloneOf(t, remote, 1);
  const changed = await changedSequences(shallow, base);
  assert.deepEqual(
    changed.map((c) => c.name),
    ['a', 'b', 'c'],
  );
  assert.deepEqual(changed[1]!.reasons, [
    `base ${base.slice(0, 12)} not in this clone (a force push or a shallow clone)`,
  ]);
});

test('a base a force push dropped: an error, or every sequence with --missing-base all', async (t) => {
  const { repo, remote } = pipelineWithRemote(t, DEFINITIONS);
  writeFileSync(join(repo, 'etl_sequences/a.json'), '[{"module_name": "extract"}]');
  commitAll(repo, 'edit a');
  git(repo, 'push', '--quiet', 'origin', 'main');
  const dropped = git(repo, 'rev-parse', 'HEAD');
  git(repo, 'reset', '--quiet', '--hard', 'HEAD~1');
  writeFileSync(join(repo, 'etl_sequences/b.json'), '[{"module_name": "extract"}]');
  commitAll(repo, 'edit b instead');
  git(remote, 'config', 'receive.denyNonFastForwards', 'false');
  git(repo, 'push', '--quiet', '--force', 'origin', 'main');
  const clone = cloneOf(t, remote);
  const refused = await runCli(['changed', '--base', dropped], { cwd: clone });
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, new RegExp(`--base "${dropped}" is not a commit of this repository`));
  const all = await runCli(['changed', '--base', dropped, '--missing-base', 'all', '--json'], { cwd: clone });
  assert.equal(all.code, 0, all.stderr);
  assert.deepEqual(JSON.parse(all.stdout), ['a', 'b', 'c']);
  assert.equal((await runCli(['changed', '--base', dropped, '--missing-base', 'some'], { cwd: clone })).code, 2);
});

test('etl log reads run history from the trailers of the ledger commits', async (t) => {
  const repo = initRepo(pipelineRepo(t, DEFINITIONS));
  assert.equal((await runCli(['run', 'a', '--commit'], { cwd: repo })).code, 0);
  assert.equal((await runCli(['run', 'c', '--commit-progress'], { cwd: repo })).code, 0);
  const log = await runCli(['log', '--json'], { cwd: repo });
  const runs = JSON.parse(log.stdout) as Array<{ sequence: string; status: string; duration: string }>;
  assert.deepEqual(
    runs.map((r) => [r.sequence, r.status]),
    [
      ['c', 'succeeded'],
      ['a', 'succeeded'],
    ],
    'one line per run, progress commits folded',
  );
  const only = JSON.parse((await runCli(['log', 'a', '--json'], { cwd: repo })).stdout) as unknown[];
  assert.equal(only.length, 1);
  const text = await runCli(['log'], { cwd: repo });
  assert.match(text.stdout, /^RUN\s+SEQUENCE\s+STATUS\s+STARTED\s+DURATION\s+FAILED STEP\s+COMMIT$/m);
});

test('etl log --limit reads history only as far as it needs: a lost older commit does not hide the newest runs', async (t) => {
  const repo = initRepo(pipelineRepo(t, DEFINITIONS));
  for (let i = 0; i < 4; i++) assert.equal((await runCli(['run', 'c', '--commit'], { cwd: repo })).code, 0);
  // The oldest ledger commit's object goes missing (a broken clone, a bad disk): git log
  // fails when it gets there. Reading the whole history first used to show nothing at all.
  const oldest = git(repo, 'log', '--format=%H', '-4').split('\n')[3]!;
  rmSync(join(repo, '.git/objects', oldest.slice(0, 2), oldest.slice(2)));
  const log = await runCli(['log', '--limit', '2', '--json'], { cwd: repo });
  assert.equal(log.code, 0, log.stderr);
  const runs = JSON.parse(log.stdout) as Array<{ commit: string }>;
  assert.deepEqual(
    runs.map((r) => r.commit),
    git(repo, 'log', '--format=%H', '-2').split('\n'),
  );
});

test('--commit-progress commits at the start and after each step, then the end', async (t) => {
  const repo = initRepo(pipelineRepo(t, DEFINITIONS));
  assert.equal((await runCli(['run', 'a', '--commit-progress'], { cwd: repo })).code, 0);
  const statuses = git(repo, 'log', '--format=%(trailers:key=Etl-Status,valueonly)', '-4').split('\n').filter(Boolean);
  assert.deepEqual(statuses, ['succeeded', 'running', 'running', 'running']);
  assert.match(git(repo, 'log', '--format=%s', '-4').split('\n')[3]!, /^etl\(a\): running \(0\/2 steps done\)/);
  assert.equal(git(repo, 'status', '--porcelain'), '');
});

test('--at COMMIT plans and runs the definitions of an older commit, recorded in this repository', async (t) => {
  const repo = initRepo(pipelineRepo(t, DEFINITIONS));
  const old = git(repo, 'rev-parse', 'HEAD');
  writeFileSync(join(repo, 'etl_sequences/c.json'), JSON.stringify([{ module_name: 'extract', name: 'new-step' }]));
  commitAll(repo, 'c changes');
  const plan = await runCli(['plan', 'c', '--at', old, '--json'], { cwd: repo });
  assert.equal(plan.code, 0, plan.stderr);
  assert.deepEqual(
    JSON.parse(plan.stdout).steps.map((s: { module: string }) => s.module),
    ['load'],
  );
  const result = await runCli(['run', 'c', '--at', old.slice(0, 10), '--json'], { cwd: repo });
  assert.equal(result.code, 0, result.stderr);
  const run = JSON.parse(result.stdout);
  assert.equal(run.definitions.commit, old);
  assert.equal(run.definitions.dirty, false);
  assert.deepEqual(
    run.steps.map((s: { module: string }) => s.module),
    ['load'],
  );
  const show = await runCli(['show', 'c@latest'], { cwd: repo });
  assert.match(show.stdout, new RegExp(`commit   ${old}`));
  // Its module wrote y.json into the checkout: kept, and said where (a plan wrote nothing).
  const kept = /kept in (\S+) \(y\.json\)/.exec(result.stderr);
  assert.ok(kept, result.stderr);
  assert.equal(git(repo, 'worktree', 'list').split('\n').length, 2, 'only the checkout that holds an output stays');
  git(repo, 'worktree', 'remove', '--force', kept[1]!);
  const bad = await runCli(['run', 'c', '--at', 'nope'], { cwd: repo });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /"nope" is not a commit of this repository/);
});

test('a crashed run is marked abandoned and committed by the next run with --commit', async (t) => {
  const repo = initRepo(
    pipelineRepo(t, {
      modules: { forever: { cmd: './modules/forever.mjs' }, ok: { cmd: './modules/ok.sh' } },
      sequences: { s: [{ module_name: 'ok' }, { module_name: 'forever', output: 'pids.json' }] },
    }),
  );
  git(repo, 'add', '-A');
  const { startCli, isRunning } = await import('../helpers/repo.js');
  const first = startCli(['run', 's', '--verbose'], { cwd: repo });
  await first.line(/forever\.mjs started/);
  first.child.kill('SIGKILL');
  await first.done;
  const { readFileSync } = await import('node:fs');
  const pids = JSON.parse(readFileSync(join(repo, 'pids.json'), 'utf8'));
  t.after(() => {
    for (const pid of [pids.child, pids.grandchild]) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
  });
  assert.equal((await runCli(['run', 's', '--only', '1', '--commit'], { cwd: repo })).code, 0);
  assert.deepEqual(
    git(repo, 'log', '--format=%(trailers:key=Etl-Status,valueonly)', '-2').split('\n').filter(Boolean),
    ['succeeded', 'abandoned'],
  );
});
