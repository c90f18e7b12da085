// Reads never write: every read command and every GET of the UI's API leaves each byte of the
// repository as it was, a run whose runner was killed included (shown abandoned, recorded so
// only when reaped). Root writes through a read-only mode, so the check is on the bytes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import type { RunRecord } from '../../src/runner/records.js';
import { git, initRepo } from '../helpers/git.js';
import { pipelineRepo, runCli, startCli } from '../helpers/repo.js';
import { findRunFolders } from '../helpers/runs.js';

/** Every file under `dir` (the git directory too) with its content's hash and its mtime. */
function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() && !entry.isSymbolicLink()) continue;
    const path = join(entry.parentPath, entry.name);
    const hash = entry.isFile() ? createHash('sha256').update(readFileSync(path)).digest('hex') : 'link';
    files.set(relative(dir, path), `${hash} ${statSync(path, { throwIfNoEntry: false })?.mtimeMs}`);
  }
  return files;
}

function changes(before: Map<string, string>, after: Map<string, string>): string[] {
  const paths = new Set([...before.keys(), ...after.keys()]);
  return [...paths].filter((p) => before.get(p) !== after.get(p)).sort();
}

function get(url: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request(new URL(path, url), (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    })
      .on('error', reject)
      .end();
  });
}

test('every read command and every GET of the UI changes no byte of the repository, a run whose runner died included; etl ledger reap records it', {
  timeout: 120_000,
}, async (t) => {
  const repo = pipelineRepo(t, {
    modules: {
      ok: { cmd: './modules/ok.sh' },
      fail: { cmd: './modules/fail.sh' },
      nap: { cmd: './modules/sleep.sh 30' },
    },
    sequences: {
      good: [{ module_name: 'ok', output: 'out.txt' }],
      bad: [{ module_name: 'fail' }],
      hang: [{ module_name: 'nap' }],
    },
  });
  initRepo(repo);
  assert.equal((await runCli(['run', 'good', '--commit'], { cwd: repo })).code, 0);
  assert.equal((await runCli(['run', 'good', '--commit'], { cwd: repo })).code, 0);
  assert.equal((await runCli(['run', 'bad', '--commit'], { cwd: repo })).code, 1);
  // A runner killed while its step runs: its run.json says running, its lock names a dead process.
  const runner = startCli(['run', 'hang'], { cwd: repo, detached: true });
  await runner.line(/nap/);
  const [hangFolder] = findRunFolders(repo).filter((f) => f.includes('/runs/hang/'));
  runner.child.kill('SIGKILL');
  await runner.done;
  const onDisk = () => JSON.parse(readFileSync(join(hangFolder!, 'run.json'), 'utf8')) as RunRecord;
  assert.equal(onDisk().status, 'running');
  const hang = onDisk().id;
  git(repo, 'status', '--porcelain'); // git refreshes its index once; a read command must not need to

  const before = snapshot(repo);
  const reads = [
    ['history'],
    ['history', '--json'],
    ['history', 'hang', '--status', 'abandoned'],
    ['show', hang],
    ['show', 'good@latest', '--json'],
    ['logs', 'bad@latest'],
    ['logs', hang],
    ['diff', 'good@latest~1', 'good@latest'],
    ['metrics', 'good'],
    ['lineage', 'out.txt'],
    ['log'],
    ['status'],
    ['due'],
    ['list'],
    ['plan', 'good'],
    ['validate'],
  ];
  for (const args of reads) {
    const result = await runCli(args, { cwd: repo });
    assert.ok(result.code === 0 || (args[0] === 'status' && result.code === 1), `${args.join(' ')}: ${result.stderr}`);
  }
  // Shown abandoned, as the reap will record it.
  const shown = await runCli(['history', 'hang', '--json'], { cwd: repo });
  assert.equal((JSON.parse(shown.stdout) as RunRecord[])[0]!.status, 'abandoned');

  const server = startCli(['ui', '--port', '0'], { cwd: repo });
  t.after(() => server.child.kill('SIGTERM'));
  const url = /(http:\/\/\S+)/.exec(await server.line(/^etl ui: serving/))![1]!;
  for (const path of [
    '/',
    '/api/sequences',
    '/api/runs',
    '/api/runs?sequence=hang',
    `/api/runs/${hang}`,
    `/api/runs/${hang}/steps/1/log`,
    `/api/runs/${hang}/definitions`,
    `/api/runs/${hang}/lineage`,
    '/api/sequences/good/metrics',
    '/api/schedule',
    `/runs/${hang}`,
  ])
    assert.equal(await get(url, path), 200, path);
  server.child.kill('SIGTERM');
  await server.done;

  assert.deepEqual(changes(before, snapshot(repo)), [], 'no byte changed');
  assert.equal(onDisk().status, 'running');

  // An explicit moment: etl ledger reap records it, once.
  const reaped = await runCli(['ledger', 'reap'], { cwd: repo });
  assert.equal(reaped.code, 0, reaped.stderr);
  assert.match(
    reaped.stdout,
    /^abandoned runs\/hang\/\S+: the runner \(pid \d+ on .+\) stopped without finishing the run/m,
  );
  assert.equal(onDisk().status, 'abandoned');
  const again = await runCli(['ledger', 'reap', 'hang'], { cwd: repo });
  assert.equal(again.stdout, 'no run of hang left behind by a runner that is gone\n');
  const wrong = await runCli(['ledger', 'reap', '--push'], { cwd: repo });
  assert.equal(wrong.code, 2);
});
