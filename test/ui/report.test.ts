// etl report: the static site's files, from a ledger made by real runs; and its refusals.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RunRecord } from '../../src/runner/records.js';
import { pipelineRepo, runCli } from '../helpers/repo.js';
import { writeRunRecords } from '../helpers/runs.js';

const DEFINITIONS = {
  modules: { ok: { cmd: './modules/ok.sh' }, fail: { cmd: './modules/fail.sh 4' } },
  sequences: { good: [{ module_name: 'ok' }], bad: [{ module_name: 'ok' }, { module_name: 'fail' }] },
};

test('etl report writes each page, the API answers and the logs of the newest N runs per sequence', async (t) => {
  const repo = pipelineRepo(t, DEFINITIONS);
  for (let i = 0; i < 3; i++) assert.equal((await runCli(['run', 'good'], { cwd: repo })).code, 0);
  assert.equal((await runCli(['run', 'bad'], { cwd: repo })).code, 1);
  const made = await runCli(['report', '--out', 'public/site', '--runs', '2'], { cwd: repo });
  assert.equal(made.code, 0, made.stderr);
  assert.equal(
    made.stdout,
    'etl report: 2 sequences, 3 runs, 7 pages written to public/site\n' +
      'etl report: serve the folder to read it (a browser refuses its data from file://), e.g. python3 -m http.server -d public/site\n',
  );
  const site = join(repo, 'public/site');
  const good = JSON.parse(readFileSync(join(site, 'data/sequences/good.json'), 'utf8')).runs as RunRecord[];
  assert.equal(good.length, 2);
  const [bad] = JSON.parse(readFileSync(join(site, 'data/sequences/bad.json'), 'utf8')).runs as RunRecord[];
  const page = readFileSync(join(site, 'runs', bad!.id, 'index.html'), 'utf8');
  assert.match(page, /<meta name="etl-report-root" content="\.\.\/\.\.\/">/);
  assert.match(page, /<meta name="etl-report-page" content="runs\/[0-9TZ]+-[0-9a-f]{8}">/);
  assert.match(page, /<meta http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'self';/);
  assert.match(page, /<script type="module" src="\.\.\/\.\.\/assets\/app\.js">/);
  assert.doesNotMatch(page, /(src|href)="\/[^/]/, 'no link from the server root');
  assert.match(readFileSync(join(site, `data/runs/${bad!.id}/steps/2.log`), 'utf8'), /something went wrong/);
  const one = JSON.parse(readFileSync(join(site, `data/runs/${bad!.id}.json`), 'utf8'));
  assert.equal(one.run.status, 'failed');
  assert.ok(existsSync(join(site, `data/runs/${bad!.id}/definitions.json`)));
  // The metrics chart's and the lineage links' answers, as the API gives them.
  assert.deepEqual(JSON.parse(readFileSync(join(site, 'data/sequences/good/metrics.json'), 'utf8')), { points: [] });
  assert.deepEqual(JSON.parse(readFileSync(join(site, `data/runs/${bad!.id}/lineage.json`), 'utf8')), { sources: [] });
  // The overview's strips and the board hold only runs the report has pages for.
  const sequences = JSON.parse(readFileSync(join(site, 'data/sequences.json'), 'utf8')).sequences;
  assert.deepEqual(
    sequences.map((s: { name: string; recent: unknown[] }) => [s.name, s.recent.length]),
    [
      ['bad', 1],
      ['good', 2],
    ],
  );
  assert.equal(JSON.parse(readFileSync(join(site, 'data/runs.json'), 'utf8')).runs.length, 3);
  assert.ok(existsSync(join(site, 'assets/vendor/uPlot.iife.min.js')));
  assert.deepEqual(readdirSync(join(repo, 'public')), ['site'], 'nothing left beside it');
});

test('etl report --runs takes what its help says (1 to 10000): 501 runs of a sequence, read a page of the API at a time', {
  timeout: 120_000,
}, async (t) => {
  const repo = pipelineRepo(t, DEFINITIONS);
  const ids = writeRunRecords(repo, 'good', 502);
  const made = await runCli(['report', '--out', 'site', '--runs', '501'], { cwd: repo });
  assert.equal(made.code, 0, made.stderr);
  assert.match(made.stdout, /^etl report: 2 sequences, 501 runs, /);
  const good = JSON.parse(readFileSync(join(repo, 'site/data/sequences/good.json'), 'utf8')).runs as RunRecord[];
  assert.deepEqual(
    good.map((r) => r.id),
    ids.slice(1).reverse(),
    'the newest 501, newest first, none twice',
  );
  for (const runs of ['0', '10001', '1.5']) {
    const wrong = await runCli(['report', '--out', 'site2', '--runs', runs], { cwd: repo });
    assert.equal(wrong.code, 2);
    assert.match(
      wrong.stderr,
      new RegExp(`--runs must be a number of runs \\(1 to 10000\\), got "${runs.replace('.', '\\.')}"`),
    );
  }
});

test('etl report refuses a file, a folder that is not a report, and a place it cannot write, leaving each as it was', {
  timeout: 60_000,
}, async (t) => {
  const repo = pipelineRepo(t, DEFINITIONS);
  assert.equal((await runCli(['run', 'good'], { cwd: repo })).code, 0);
  writeFileSync(join(repo, 'notes.txt'), 'mine');
  const file = await runCli(['report', '--out', 'notes.txt'], { cwd: repo });
  assert.equal(file.code, 2);
  assert.equal(
    file.stderr,
    'etl report: error: notes.txt is a file, not a folder: give a folder for the report [usage]\n',
  );
  const folder = await runCli(['report', '--out', 'modules'], { cwd: repo });
  assert.equal(folder.code, 2);
  assert.match(folder.stderr, /modules exists and is not an etl report/);
  assert.equal(readFileSync(join(repo, 'notes.txt'), 'utf8'), 'mine');
  assert.ok(existsSync(join(repo, 'modules/ok.sh')));
  for (const args of [['--runs', '0'], ['--runs', 'many'], []]) {
    const usage = await runCli(['report', ...(args.length ? ['--out', 'site', ...args] : [])], { cwd: repo });
    assert.equal(usage.code, 2, args.join(' '));
    assert.match(usage.stderr, /^etl report: error: (--runs must be a number of runs|report needs --out DIR)/);
  }
  // A place where nothing can be written (under /proc on Linux): an error, not a hang or a stack trace.
  if (process.platform === 'linux') {
    const refused = await runCli(['report', '--out', '/proc/etl-report'], { cwd: repo });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^etl report: error: cannot write the report in \/proc\/etl-report: /);
    assert.doesNotMatch(refused.stderr, /\n\s+at /);
  }
  // An earlier report is replaced whole by the next.
  assert.equal((await runCli(['report', '--out', 'site'], { cwd: repo })).code, 0);
  writeFileSync(join(repo, 'site/stale.html'), '');
  assert.equal((await runCli(['report', '--out', 'site'], { cwd: repo })).code, 0);
  assert.equal(existsSync(join(repo, 'site/stale.html')), false);
});
