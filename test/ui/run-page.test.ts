// A run's page in a real browser (issue 21): where a step's log opens, how its words wrap,
// what it says of each step's time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchBrowser, NO_BROWSER, pageErrors, startUi } from '../helpers/browser.js';
import { pipelineRepo, runCli } from '../helpers/repo.js';

/** A run of `extract` (succeeds, with a long argv) then `load` (fails, printing to stderr). */
async function failedRun(t: import('node:test').TestContext): Promise<{ repo: string; id: string }> {
  const repo = pipelineRepo(t, {
    modules: { extract: { cmd: './modules/ok.sh' }, load: { cmd: './modules/fail.sh 4' } },
    sequences: {
      daily: [
        { module_name: 'extract', conf: 'conf/transform.json', input: 'data/air_quality_measurements.csv' },
        { module_name: 'load' },
      ],
    },
    files: { 'conf/transform.json': '{}', 'data/air_quality_measurements.csv': 'a\n' },
  });
  const ran = await runCli(['run', 'daily', '--json'], { cwd: repo });
  assert.equal(ran.code, 1, ran.stderr);
  return { repo, id: JSON.parse(ran.stdout).id };
}

test("a failed step's log is open when its run's page opens, as wide as the page on a desktop and on a phone; another step's opens on a click", {
  skip: NO_BROWSER,
  timeout: 60_000,
}, async (t) => {
  const { repo, id } = await failedRun(t);
  const { url } = await startUi(t, repo);
  const browser = await launchBrowser(t);
  for (const viewport of [
    { width: 1100, height: 700 },
    { width: 390, height: 844 },
  ]) {
    const page = await browser.newPage({ viewport });
    const errors = pageErrors(page);
    await page.goto(`${url}runs/${id}`);
    const log = page.locator('[data-log="step-2"] pre.log');
    await log.waitFor();
    assert.match((await log.textContent()) ?? '', /something went wrong/);
    const box = (await log.boundingBox())!;
    assert.ok(box.width >= 0.8 * viewport.width, `the log is ${box.width} px wide in a page of ${viewport.width}`);
    // Its two short lines are not broken word by word.
    assert.ok(box.height < 120, `the log of two short lines is ${box.height} px high`);
    assert.equal(
      await page.locator('[data-log="step-1"]').count(),
      0,
      'a step that succeeded: its log is shown on demand',
    );
    await page.click('tr[data-step="step-1"] button.show-log');
    await page.locator('[data-log="step-1"] pre.log').waitFor();
    assert.match((await page.textContent('[data-log="step-1"] pre.log')) ?? '', /ok\.sh --input/);
    // The same button hides it.
    await page.click('tr[data-step="step-1"] button.show-log');
    await page.locator('[data-log="step-1"]').waitFor({ state: 'detached' });
    assert.deepEqual(errors, []);
    await page.close();
  }
});
