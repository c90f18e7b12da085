// A sequence's concurrency: what `etl run` does while another run of it goes on.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pipelineRepo, runCli, startCli } from '../helpers/repo.js';
import { findRunFolders, readRunFolder } from '../helpers/runs.js';

function repoWith(t: Parameters<typeof pipelineRepo>[0], concurrency?: string): string {
  return pipelineRepo(t, {
    modules: { hold: { cmd: './modules/hold.sh' } },
    sequences: { s: { ...(concurrency ? { concurrency } : {}), steps: [{ module_name: 'hold', name: 'work' }] } },
  });
}

const runs = (repo: string) =>
  findRunFolders(repo)
    .sort()
    .map((folder) => readRunFolder(folder).run);

test('skip (the default): a second run exits 3 while the first goes on', async (t) => {
  const repo = repoWith(t);
  const first = startCli(['run', 's', '--verbose'], { cwd: repo });
  await first.line(/holding work/);
  const second = await runCli(['run', 's'], { cwd: repo });
  assert.equal(second.code, 3, second.stdout + second.stderr);
  writeFileSync(join(repo, 'go'), '');
  assert.equal((await first.done).code, 0);
});

test('queue: a second run waits for the first to end, then runs', async (t) => {
  const repo = repoWith(t, 'queue');
  const first = startCli(['run', 's', '--verbose'], { cwd: repo });
  await first.line(/holding work/);
  const second = startCli(['run', 's', '--verbose'], { cwd: repo });
  await second.line(/waiting for run \S+ of "s" \(pid \d+ on .*\): concurrency queue/);
  writeFileSync(join(repo, 'go'), '');
  assert.equal((await first.done).code, 0);
  const result = await second.done;
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const [a, b] = runs(repo);
  assert.deepEqual([a!.status, b!.status], ['succeeded', 'succeeded']);
  assert.ok(Date.parse(b!.started_at) >= Date.parse(a!.finished_at!), 'the second started after the first ended');
});

test('queue: Ctrl-C while a run waits its turn: nothing ran, exit 3, and the first goes on', async (t) => {
  const repo = repoWith(t, 'queue');
  const first = startCli(['run', 's', '--verbose'], { cwd: repo });
  await first.line(/holding work/);
  const second = startCli(['run', 's', '--verbose'], { cwd: repo });
  await second.line(/waiting for run \S+ of "s"/);
  second.child.kill('SIGINT');
  const result = await second.done;
  writeFileSync(join(repo, 'go'), '');
  assert.equal((await first.done).code, 0);
  assert.equal(result.code, 3, result.stdout + result.stderr);
  assert.match(result.stderr, /stopped while waiting for run \S+ to end; nothing ran/);
  assert.deepEqual(
    runs(repo).map((run) => run.status),
    ['succeeded'],
  );
});

test('cancel_previous: a second run cancels the first (recorded cancelled), then runs', async (t) => {
  const repo = repoWith(t, 'cancel_previous');
  const first = startCli(['run', 's', '--verbose'], { cwd: repo });
  await first.line(/holding work/);
  const second = startCli(['run', 's', '--verbose'], { cwd: repo });
  await second.line(/cancelling run \S+ of "s"/);
  assert.equal((await first.done).code, 143, 'the first was stopped as by SIGTERM');
  await second.line(/holding work/);
  writeFileSync(join(repo, 'go'), '');
  const result = await second.done;
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.deepEqual(
    runs(repo).map((r) => r.status),
    ['cancelled', 'succeeded'],
  );
});
