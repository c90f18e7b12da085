// The overview's counts and the board's columns (issue 21): one set of words, one count.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { launchBrowser, NO_BROWSER, pageErrors, startUi, until } from '../helpers/browser.js';
import { pipelineRepo, runCli, startCli } from '../helpers/repo.js';

test('the board and the overview sort a cancelled run alike, in the same words, and the board says its runs are counted in all', {
  skip: NO_BROWSER,
  timeout: 60_000,
}, async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' }, fail: { cmd: './modules/fail.sh' }, wait: { cmd: './modules/wait.sh' } },
    sequences: { good: [{ module_name: 'ok' }], bad: [{ module_name: 'fail' }], slow: [{ module_name: 'wait' }] },
    files: { 'modules/wait.sh': { content: '#!/bin/sh\ntouch started\nsleep 60\n', mode: 0o755 } },
  });
  assert.equal((await runCli(['run', 'good'], { cwd: repo })).code, 0);
  assert.equal((await runCli(['run', 'bad'], { cwd: repo })).code, 1);
  const slow = startCli(['run', 'slow'], { cwd: repo });
  await until(async () => existsSync(join(repo, 'started')));
  slow.child.kill('SIGTERM');
  assert.equal((await slow.done).code, 143);

  const { url } = await startUi(t, repo);
  const page = await (await launchBrowser(t)).newPage();
  const errors = pageErrors(page);
  await page.goto(url);
  await page.waitForSelector('tr[data-sequence="slow"]');
  const counts: Record<string, string | null> = {};
  for (const count of await page.locator('[data-count]').all())
    counts[(await count.getAttribute('data-count'))!] = await count.locator('..').textContent();
  assert.deepEqual(counts, {
    running: '0 running',
    failed: '1 failed today',
    cancelled: '1 cancelled today',
    succeeded: '1 succeeded today',
  });

  await page.goto(`${url}board`);
  await page.waitForSelector('.card');
  assert.equal(await page.textContent('.board-caption'), 'The 3 newest runs, all sequences together, by state.');
  const columns: Record<string, number> = {};
  for (const column of await page.locator('[data-column]').all())
    columns[(await column.getAttribute('data-column'))!] = await column.locator('.card').count();
  assert.deepEqual(columns, { running: 0, failed: 1, cancelled: 1, succeeded: 1 });
  assert.equal(await page.textContent('[data-column="cancelled"] .card .status'), 'cancelled');
  assert.deepEqual(errors, []);
});
