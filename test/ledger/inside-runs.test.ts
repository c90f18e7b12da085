// Records and logs committed as symbolic links: nothing whose real path is outside runs/ is
// read as a record, printed, served or copied into a report.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join, relative } from 'node:path';
import { test, type TestContext } from 'node:test';
import { git, initRepo } from '../helpers/git.js';
import { pipelineRepo, runCli } from '../helpers/repo.js';
import { findRunFolders, readRunFolder } from '../helpers/runs.js';
import { uiServerOn } from '../helpers/ui-server.js';

const TOKEN = 'AUTHORIZATION: basic eC1hY2Nlc3MtdG9rZW46Z2hzX3NlY3JldA==';

/** A repository with a CI token in .git/config (as actions/checkout leaves it) and two runs of "good". */
async function ledger(t: TestContext) {
  const repo = initRepo(
    pipelineRepo(t, {
      modules: { ok: { cmd: './modules/ok.sh' } },
      sequences: { good: [{ module_name: 'ok' }, { module_name: 'ok', name: 'second' }] },
    }),
  );
  git(repo, 'config', 'http.https://github.com/.extraheader', TOKEN);
  for (let i = 0; i < 2; i++) assert.equal((await runCli(['run', 'good'], { cwd: repo })).code, 0);
  const [older, newer] = findRunFolders(repo).map(readRunFolder);
  return { repo, older: older!, newer: newer! };
}

function get(url: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url);
    request({ hostname, port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    })
      .on('error', reject)
      .end();
  });
}

function allText(dir: string): string {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => readFileSync(join(entry.parentPath, entry.name), 'utf8'))
    .join('\n');
}

test('a log linked to .git/config or /etc/passwd is never printed by etl logs, served by etl ui, nor copied by etl report', async (t) => {
  const { repo, newer, older } = await ledger(t);
  const first = join(newer.folder, 'logs/01-ok.log');
  const second = join(newer.folder, 'logs/02-ok.log');
  rmSync(first);
  rmSync(second);
  // runs/good/YYYY/MM/DD/ID/logs: seven folders up is the repository.
  symlinkSync('../../../../../../../.git/config', first);
  symlinkSync('/etc/passwd', second);
  assert.match(readFileSync(first, 'utf8'), /extraheader/, 'the link does lead to the token');
  const id = newer.run.id;

  const all = await runCli(['logs', id], { cwd: repo });
  assert.equal(all.code, 0, all.stderr);
  assert.doesNotMatch(all.stdout, /extraheader|root:/);
  assert.match(all.stderr, /log of step 1 ok is a link out of runs\/: not printed/);
  const one = await runCli(['logs', id, '2'], { cwd: repo });
  assert.doesNotMatch(one.stdout, /root:/);
  assert.match(one.stderr, /link out of runs\//);
  // The older run's own logs are still printed.
  assert.match((await runCli(['logs', older.run.id, '1'], { cwd: repo })).stdout, /^ok\.sh/);

  const url = await uiServerOn(t, repo);
  for (const step of ['1', '2']) {
    const reply = await get(url, `/api/runs/${id}/steps/${step}/log`);
    assert.equal(reply.status, 200);
    assert.equal(reply.body, '', `step ${step}'s log is served as empty`);
  }
  assert.match((await get(url, `/api/runs/${older.run.id}/steps/1/log`)).body, /^ok\.sh/);

  const made = await runCli(['report', '--out', 'site'], { cwd: repo });
  assert.equal(made.code, 0, made.stderr);
  const site = allText(join(repo, 'site'));
  assert.doesNotMatch(site, /extraheader|eC1hY2Nlc3Mt|root:/);
  assert.match(site, /ok\.sh/, "the older run's logs are in the report");
});

test('a run.json or a step record linked to a file outside runs/ is not read as a record', async (t) => {
  const { repo, newer, older } = await ledger(t);
  // A record of the right shape, kept outside runs/, and the run's own files made links to it.
  const fake = { ...newer.run, sequence: 'good', error: 'read from outside runs/' };
  writeFileSync(join(repo, 'outside-run.json'), JSON.stringify(fake));
  writeFileSync(join(repo, 'outside-step.json'), JSON.stringify({ ...older.steps[0], name: 'from-outside' }));
  rmSync(join(newer.folder, 'run.json'));
  symlinkSync(relative(newer.folder, join(repo, 'outside-run.json')), join(newer.folder, 'run.json'));
  const record = join(older.folder, older.run.steps[0]!.record);
  rmSync(record);
  symlinkSync(relative(join(record, '..'), join(repo, 'outside-step.json')), record);

  const history = await runCli(['history', '--json'], { cwd: repo });
  assert.equal(history.code, 0, history.stderr);
  assert.deepEqual(
    JSON.parse(history.stdout).map((r: { id: string }) => r.id),
    [older.run.id],
  );
  const shown = await runCli(['show', older.run.id, '--json'], { cwd: repo });
  assert.equal(shown.code, 0, shown.stderr);
  assert.doesNotMatch(shown.stdout, /from-outside/);
  assert.equal(JSON.parse(shown.stdout).steps.length, 1, 'only the step record inside runs/');
  const refused = await runCli(['show', newer.run.id], { cwd: repo });
  assert.equal(refused.code, 2);
  assert.doesNotMatch(refused.stdout + refused.stderr, /read from outside/);
});
