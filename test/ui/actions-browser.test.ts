// `etl ui --allow-run` in a real browser (issue 21): Run now on a phone, with params; a link
// to the run each action started; what Re-run and Resume do, said beside them; a log line
// for every action.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunRecord } from '../../src/runner/records.js';
import { launchBrowser, NO_BROWSER, pageErrors, startUi, until } from '../helpers/browser.js';
import { pipelineRepo, runCli } from '../helpers/repo.js';

test('--allow-run: Run now on a phone, with params, links to the run it started; Re-run and Resume say what they do and link to theirs; etl ui logs each action', {
  skip: NO_BROWSER,
  timeout: 120_000,
}, async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' }, fail: { cmd: './modules/fail.sh 4' } },
    sequences: {
      daily: {
        params: { day: { default: 'monday' } },
        steps: [{ module_name: 'ok', output: 'work/${params.day}.csv' }],
      },
      bad: [{ module_name: 'ok' }, { module_name: 'fail' }],
    },
  });
  const failed = await runCli(['run', 'bad', '--json'], { cwd: repo });
  assert.equal(failed.code, 1);
  const failedId = (JSON.parse(failed.stdout) as RunRecord).id;
  const { url, server } = await startUi(t, repo, ['--allow-run']);
  const api = async (id: string) =>
    ((await (await fetch(`${new URL(url).origin}/api/runs/${id}`)).json()) as { run: RunRecord }).run;
  const page = await (await launchBrowser(t)).newPage({ viewport: { width: 390, height: 844 } });
  const errors = pageErrors(page);
  await page.goto(url);

  // Run now, seen on a phone, with a param.
  const row = page.locator('tr[data-sequence="daily"]');
  await row.locator('button.action-run').waitFor();
  assert.ok(await row.locator('button.action-run').isVisible(), 'Run now is on the page at 390 px');
  await row.locator('.run-params summary').click();
  await row.locator('textarea[name="params"]').fill('day=tuesday');
  await row.locator('button.action-run').click();
  const link = row.locator('a.new-run');
  await link.waitFor();
  const started = /run (\S+)/.exec((await link.textContent()) ?? '')![1]!;
  await link.click();
  await page.waitForURL(`**/runs/${started}`);
  assert.match((await page.textContent('h1')) ?? '', /^daily/);
  assert.deepEqual((await api(started)).params, { day: 'tuesday' });
  await server.line(new RegExp(`asked to run daily with day=tuesday: run ${started}$`));

  // A failed run: Re-run from step 2 and Resume at step 2, each saying what it does.
  await page.goto(`${url.replace(/\?.*$/, '')}runs/${failedId}`);
  await page.locator('button.action-rerun').waitFor();
  assert.equal(await page.textContent('button.action-rerun'), 'Re-run from step 2');
  assert.match(
    (await page.locator('.action-line', { has: page.locator('button.action-rerun') }).textContent()) ?? '',
    /a new run of the definitions as they are now, from step 2 on: the steps before it are not run/,
  );
  assert.match(
    (await page.locator('.action-line', { has: page.locator('button.action-resume') }).textContent()) ?? '',
    /takes this one up where it stopped: the steps before step 2 count as done by this run/,
  );
  await page.click('button.action-rerun');
  const rerun = /run (\S+)/.exec((await page.locator('a.new-run').first().textContent({ timeout: 30_000 })) ?? '')![1]!;
  await until(async () => (await api(rerun)).status !== 'running');
  assert.deepEqual((await api(rerun)).selection, { from: 2, only: null });
  await server.line(new RegExp(`asked to run bad from step 2: run ${rerun}$`));

  await page.click('button.action-resume');
  const resumeLine = page.locator('.action-line', { has: page.locator('button.action-resume') });
  await resumeLine.locator('a.new-run').waitFor();
  const resumed = /run (\S+)/.exec((await resumeLine.locator('a.new-run').textContent()) ?? '')![1]!;
  assert.equal((await api(resumed)).resumed_from, failedId);
  await server.line(new RegExp(`127\\.0\\.0\\.1 asked to run bad resuming run ${failedId}: run ${resumed}$`));
  assert.deepEqual(errors, []);
});
