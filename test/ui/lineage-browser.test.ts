// What issue 15 adds to the pages, in a real browser: a sequence's metrics charted over its
// runs; a run's page with each step's metrics, what it read and wrote (linked to the step
// that wrote it), why it was skipped, and, with --allow-run, "Resume at step N".
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import type { RunRecord } from '../../src/runner/records.js';
import { initRepo } from '../helpers/git.js';
import { pipelineRepo, runCli, startCli } from '../helpers/repo.js';
import { CHROMIUM, NO_BROWSER, until } from '../helpers/browser.js';
import { staticServer } from '../helpers/static-server.js';

test('metrics are charted on the sequence page; a run page shows metrics, lineage links, skips, and resumes a failed run', {
  skip: NO_BROWSER,
  timeout: 90_000,
}, async (t) => {
  const repo = initRepo(
    pipelineRepo(t, {
      modules: { copy: { cmd: './modules/count.sh' } },
      sequences: {
        make: {
          skip_unchanged: true,
          steps: [
            { module_name: 'copy', name: 'raw', input: 'data/source.csv', output: 'work/raw.csv' },
            { module_name: 'copy', name: 'clean <b>x</b>', input: 'work/raw.csv', output: 'work/clean.csv' },
          ],
        },
      },
      files: {
        'data/source.csv': 'a\nb\n',
        '.gitignore': 'work/\nfail\n',
        // Copies, and counts the lines it copied; fails while a file "fail" exists (step 2 only).
        'modules/count.sh': {
          content: `#!/bin/sh
while [ $# -gt 0 ]; do case "$1" in --input) i="$2";; --output) o="$2";; esac; shift 2; done
if [ -e fail ] && [ "$ETL_STEP" = 2 ]; then echo "cannot clean" >&2; exit 5; fi
mkdir -p "$(dirname "$o")"
cp "$i" "$o"
echo "rows=$(wc -l < "$i")" >> "$ETL_METRICS"
`,
          mode: 0o755,
        },
      },
    }),
  );
  const run = async () => (await runCli(['run', 'make'], { cwd: repo })).code;
  assert.equal(await run(), 0);
  assert.equal(await run(), 0); // skipped: unchanged
  writeFileSync(join(repo, 'data/source.csv'), 'a\nb\nc\n');
  writeFileSync(join(repo, 'fail'), '');
  assert.equal(await run(), 1); // step 1 ran (3 rows), step 2 failed
  rmSync(join(repo, 'fail'));
  const history = JSON.parse((await runCli(['history', 'make', '--json'], { cwd: repo })).stdout) as RunRecord[];
  const [failed, skipped, first] = history;

  const server = startCli(['ui', '--port', '0', '--allow-run'], { cwd: repo });
  t.after(() => server.child.kill('SIGTERM'));
  const url = /(http:\/\/\S+)/.exec(await server.line(/^etl ui: serving/))![1]!;
  const base = url.replace(/\/?\?.*$/, '');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  await page.goto(url); // takes the token

  // The sequence page: a chart of "rows", a line per step that wrote it, drawn by uPlot.
  await page.goto(`${base}/sequences/make`);
  await page.waitForSelector('section.metrics figure.chart .uplot');
  assert.equal(await page.textContent('section.metrics figcaption'), 'Metric rows, per run');
  const legend = await page.textContent('section.metrics .u-legend');
  assert.match(legend ?? '', /1\. raw.*2\. clean <b>x<\/b>/s, 'in step order; a step name as text');

  // The skipped run: each step points at the run it stands for.
  await page.goto(`${base}/runs/${skipped!.id}`);
  await page.waitForSelector('tr[data-step="step-1"] .fact a');
  assert.equal(await page.textContent('tr[data-step="step-1"] .fact'), `unchanged since run ${first!.id}`);
  assert.equal(await page.getAttribute('tr[data-step="step-1"] .fact a', 'href'), `/runs/${first!.id}`);

  // The failed run: metrics, what each step read and wrote, step 2's input linked to step 1.
  await page.goto(`${base}/runs/${failed!.id}`);
  await page.waitForSelector('tr[data-step="step-2"] ul.lineage a.step-link');
  assert.match((await page.textContent('tr[data-step="step-1"] .metrics-line')) ?? '', /rows 3/);
  assert.match(
    (await page.textContent('tr[data-step="step-1"] ul.lineage')) ?? '',
    /read data\/source\.csv [0-9a-f]{12}wrote work\/raw\.csv [0-9a-f]{12}/,
  );
  assert.equal(await page.textContent('tr[data-step="step-2"] a.step-link'), 'step 1 (raw)');
  assert.equal(await page.getAttribute('tr[data-step="step-2"] a.step-link', 'href'), '#step-step-1');
  assert.match(
    (await page.textContent('tr[data-step="step-1"] .fact.muted')) ?? '',
    /ran: it is given something different/,
  );

  // Resume: a new run, at step 2, linked to the failed one.
  await page.click('button.action-resume');
  await until(async () => {
    const latest = JSON.parse((await runCli(['history', 'make', '--json'], { cwd: repo })).stdout) as RunRecord[];
    return latest.length === 4 && latest[0]!.status === 'succeeded';
  });
  const resumed = (JSON.parse((await runCli(['history', 'make', '--json'], { cwd: repo })).stdout) as RunRecord[])[0]!;
  assert.equal(resumed.resumed_from, failed!.id);
  await page.goto(`${base}/runs/${resumed.id}`);
  await page.waitForSelector(`a[href="/runs/${failed!.id}"]`);
  assert.match(
    (await page.textContent('tr[data-step="step-1"] .fact')) ?? '',
    new RegExp(`done by run ${failed!.id} \\(resumed\\)`),
  );

  // The static report: the same chart and links, from files.
  assert.equal((await runCli(['report', '--out', 'site'], { cwd: repo })).code, 0);
  const site = await staticServer(t, join(repo, 'site'), '/pipelines/');
  await page.goto(`${site}sequences/make/`);
  await page.waitForSelector('section.metrics figure.chart .uplot');
  await page.goto(`${site}runs/${failed!.id}/`);
  await page.waitForSelector('tr[data-step="step-2"] ul.lineage a.step-link');
  assert.equal(await page.getAttribute('tr[data-step="step-2"] a.step-link', 'href'), '#step-step-1');
  await page.goto(`${site}runs/${resumed.id}/`);
  await page.waitForSelector(`a[href$="runs/${failed!.id}/"]`);
  assert.deepEqual(errors, []);
});
