// The pages of `etl ui` in a real browser: Debian's chromium, driven by playwright-core.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { pipelineRepo, runCli, startCli } from '../helpers/repo.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Resolves once the condition holds; fails after 15 s. */
async function until(condition: () => Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + 15_000; !(await condition()); ) {
    if (Date.now() > deadline) throw new Error('the page did not change in 15 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test("the overview lists the sequences, shows hostile text as text, follows a run without a reload; a failed run's page shows its stderr", {
  skip: !existsSync(CHROMIUM) && `no browser at ${CHROMIUM} (.ci/run installs Debian's chromium)`,
  timeout: 60_000,
}, async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' }, fail: { cmd: './modules/fail.sh 4' } },
    sequences: {
      good: {
        description: 'loads <script>window.pwned = 1</script> "><img src=x onerror="window.pwned = 2">',
        schedule: '0 3 * * *',
        steps: [{ module_name: 'ok' }],
      },
      bad: [{ module_name: 'fail' }],
    },
  });
  const first = await runCli(['run', 'good'], { cwd: repo });
  assert.equal(first.code, 0, first.stdout + first.stderr);
  assert.equal((await runCli(['run', 'bad'], { cwd: repo })).code, 1);
  const server = startCli(['ui', '--port', '0'], { cwd: repo });
  t.after(() => server.child.kill('SIGTERM'));
  const url = /(http:\/\/\S+)/.exec(await server.line(/^etl ui: serving/))![1]!;

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
  await page.goto(url);
  await page.waitForSelector('tr[data-sequence="good"]');
  const rows = await page.$$('tr[data-sequence]');
  assert.deepEqual(await Promise.all(rows.map((row) => row.getAttribute('data-sequence'))), ['bad', 'good']);
  const description = await page.textContent('tr[data-sequence="good"] .description');
  assert.match(description ?? '', /<script>window\.pwned = 1<\/script> "><img src=x onerror=/, 'shown as text');
  assert.equal(await page.evaluate('window.pwned'), undefined, 'never run');
  assert.equal(await page.textContent('tr[data-sequence="bad"] .status'), 'failed');
  assert.equal(await page.textContent('[data-count="failed"]'), '1');

  // A run started now shows up in the strip and the counts, with no reload.
  const strip = 'tr[data-sequence="good"] .strip a';
  assert.equal((await page.$$(strip)).length, 1);
  assert.equal((await runCli(['run', 'good'], { cwd: repo })).code, 0);
  // (Asked from here: the page's CSP forbids the string evaluation waitForFunction would use.)
  await until(async () => (await page.$$(strip)).length === 2);
  await until(async () => (await page.textContent('[data-count="succeeded"]')) === '2');

  // The failed run's page, reached from its square in the strip: the failing step, its exit
  // code, its argv, and its log with the stderr.
  await page.click('tr[data-sequence="bad"] .strip a');
  await page.waitForSelector('tr[data-step="step-1"]');
  assert.match(page.url(), /\/runs\/\d{8}T\d{9}Z-[0-9a-f]{8}$/, 'a stable URL');
  assert.equal(await page.textContent('tr[data-step="step-1"] .status'), 'failed');
  assert.match((await page.textContent('tr[data-step="step-1"]')) ?? '', /exit 4/);
  assert.match((await page.textContent('tr[data-step="step-1"] .argv')) ?? '', /fail\.sh 4/);
  await page.click('tr[data-step="step-1"] button');
  await page.waitForSelector('tr[data-step="step-1"] pre.log');
  assert.match((await page.textContent('tr[data-step="step-1"] pre.log')) ?? '', /something went wrong/);
  await page.reload();
  await page.waitForSelector('tr[data-step="step-1"]');
  assert.deepEqual(errors, [], 'no script error, no CSP violation');
});
