// Malformed records in the ledger (null, {"steps": null}, a step {"index": 1}): every reader
// skips what it cannot use and says so once; none fails with an internal error.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join, relative } from 'node:path';
import { test, type TestContext } from 'node:test';
import { pipelineRepo, runCli, startCli } from '../helpers/repo.js';
import { findRunFolders } from '../helpers/runs.js';
import { uiServerOn } from '../helpers/ui-server.js';

/** Five runs of "good"; the newest four's records spoilt, each a different way. */
async function spoiltLedger(t: TestContext) {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: {
      good: {
        schedule: '0 3 * * *',
        steps: [{ module_name: 'ok', output: 'out.txt', skip_unchanged: true }, { module_name: 'ok' }],
      },
    },
  });
  for (let i = 0; i < 5; i++) assert.equal((await runCli(['run', 'good'], { cwd: repo })).code, 0);
  const [kept, badStep, badLine, noSteps, nothing] = findRunFolders(repo);
  const edit = (path: string, change: (record: Record<string, unknown>) => unknown) =>
    writeFileSync(path, JSON.stringify(change(JSON.parse(readFileSync(path, 'utf8')))));
  edit(join(badStep!, 'steps/01-ok.json'), () => ({ index: 1 }));
  edit(join(badLine!, 'run.json'), (run) => ({ ...run, steps: [{ index: 1 }] }));
  edit(join(noSteps!, 'run.json'), () => ({ steps: null }));
  writeFileSync(join(nothing!, 'run.json'), 'null');
  const rel = (path: string) => relative(repo, path);
  return {
    repo,
    kept: kept!,
    badStep: badStep!,
    spoilt: [
      rel(join(badStep!, 'steps/01-ok.json')),
      rel(join(badLine!, 'run.json')),
      rel(join(noSteps!, 'run.json')),
    ].concat(rel(join(nothing!, 'run.json'))),
    unusableRuns: [badLine!, noSteps!, nothing!].map((f) => f.split('/').at(-1)!),
  };
}

/** How many times stderr warned of each file. */
function warnings(stderr: string): Map<string, number> {
  const told = new Map<string, number>();
  for (const [, path] of stderr.matchAll(/warning: (\S+) (?:is|cannot)[^\n]*: skipped/g))
    told.set(path!, (told.get(path!) ?? 0) + 1);
  return told;
}

test('history, show, metrics, due, report, diff and run --skip-unchanged skip a malformed record and say so once', async (t) => {
  const { repo, kept, badStep, spoilt, unusableRuns } = await spoiltLedger(t);
  const keptId = kept.split('/').at(-1)!;
  const badStepId = badStep.split('/').at(-1)!;

  const history = await runCli(['history', '--json'], { cwd: repo });
  assert.equal(history.code, 0, history.stderr);
  assert.deepEqual(
    JSON.parse(history.stdout).map((r: { id: string }) => r.id),
    [badStepId, keptId],
  );
  assert.match(history.stderr, /run\.json is not a run record: must be object: skipped/);
  assert.match(history.stderr, /run\.json is not a run record: \/steps\/0 must have required property/);
  for (const count of warnings(history.stderr).values()) assert.equal(count, 1);

  for (const args of [
    ['history', 'good'],
    ['metrics', 'good'],
    ['due', '--now', '2099-01-01T03:00:30Z'],
    ['report', '--out', 'site'],
    ['show', badStepId],
    ['show', badStepId, '--json'],
    ['diff', badStepId, keptId],
    ['run', 'good', '--skip-unchanged'],
  ]) {
    const result = await runCli(args, { cwd: repo });
    assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    assert.doesNotMatch(result.stderr, /internal error|TypeError|at .*\.js/, args.join(' '));
    for (const [path, count] of warnings(result.stderr)) {
      assert.ok(spoilt.includes(path), `${args.join(' ')} warned of ${path}`);
      assert.equal(count, 1, `${args.join(' ')} warned of ${path} ${count} times`);
    }
  }
  const shown = await runCli(['show', badStepId], { cwd: repo });
  assert.match(shown.stderr, /steps\/01-ok\.json is not a step record: must have required property '\w+': skipped/);
  assert.match(shown.stdout, /1\. ok {2}succeeded/, 'its line in run.json is still shown');
  for (const id of unusableRuns) {
    const refused = await runCli(['show', id], { cwd: repo });
    assert.equal(refused.code, 2);
    assert.match(
      refused.stderr,
      new RegExp(
        `etl show: error: run ${id} cannot be read: runs/\\S+/run\\.json is not a run record: .+ \\[unreadable-run\\]\\n$`,
      ),
    );
  }
});

test("the UI's API answers 200 over a ledger with malformed records, and 404 for a run it cannot read", async (t) => {
  const { repo, unusableRuns, badStep } = await spoiltLedger(t);
  const url = await uiServerOn(t, repo);
  const get = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const { hostname, port } = new URL(url);
      request({ hostname, port, path }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
        .on('error', reject)
        .end();
    });
  const badStepId = badStep.split('/').at(-1)!;
  for (const path of [
    '/api/sequences',
    '/api/runs',
    '/api/runs?sequence=good',
    '/api/sequences/good/metrics',
    `/api/runs/${badStepId}`,
    `/api/runs/${badStepId}/lineage`,
    `/api/runs/${badStepId}/definitions`,
  ])
    assert.equal((await get(path)).status, 200, path);
  assert.equal(JSON.parse((await get('/api/runs')).body).runs.length, 2);
  for (const id of unusableRuns) assert.equal((await get(`/api/runs/${id}`)).status, 404);
});

test('etl schedule --catchup starts over a malformed newest record, and stops cleanly, its lock given back', {
  timeout: 60_000,
}, async (t) => {
  const { repo } = await spoiltLedger(t);
  const daemon = startCli(['schedule', '--catchup', 'last'], { cwd: repo });
  t.after(() => daemon.child.kill('SIGKILL'));
  await daemon.line(/etl schedule: 1 scheduled sequence,/);
  assert.ok(existsSync(join(repo, '.etl/schedule/daemon.lock')));
  daemon.child.kill('SIGTERM');
  const ended = await daemon.done;
  assert.equal(ended.code, 0, ended.stderr);
  assert.match(ended.stderr, /run\.json is not a run record: must be object: skipped/);
  assert.equal(existsSync(join(repo, '.etl/schedule/daemon.lock')), false);
});
