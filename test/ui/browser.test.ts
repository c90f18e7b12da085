// The pages of `etl ui` in a real browser: Debian's chromium, driven by playwright-core.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { pipelineRepo, runCli, startCli } from '../helpers/repo.js';
import { CHROMIUM, NO_BROWSER, until } from '../helpers/browser.js';
import { staticServer } from '../helpers/static-server.js';
import { writeRunRecords } from '../helpers/runs.js';

test("the overview lists the sequences, shows hostile text as text, follows a run without a reload; a failed run's page shows its stderr", {
  skip: NO_BROWSER,
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
  assert.equal(await page.locator('button.action').count(), 0, 'no action without --allow-run');
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
  // A failed step's log is open from the start.
  await page.waitForSelector('[data-log="step-1"] pre.log');
  assert.match((await page.textContent('[data-log="step-1"] pre.log')) ?? '', /something went wrong/);
  await page.reload();
  await page.waitForSelector('tr[data-step="step-1"]');
  assert.deepEqual(errors, [], 'no script error, no CSP violation');
});

test("a sequence's page pages through 2,000 runs to the oldest, and filters by status", {
  skip: NO_BROWSER,
  timeout: 120_000,
}, async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: { many: [{ module_name: 'ok' }] },
  });
  // The newest run was for a tick (etl schedule's), the one before it was not.
  const ids = writeRunRecords(repo, 'many', 2000, (run, i) =>
    i === 1999 ? { ...run, trigger: { ...run.trigger, tick: '2025-03-25T06:00:00.000Z' } } : run,
  );
  const server = startCli(['ui', '--port', '0'], { cwd: repo });
  t.after(() => server.child.kill('SIGTERM'));
  const url = /(http:\/\/\S+)/.exec(await server.line(/^etl ui: serving/))![1]!;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.after(() => browser.close());
  const page = await browser.newPage();
  await page.goto(`${url}sequences/many`);
  await page.waitForSelector('tr[data-run]');
  assert.equal(await page.locator('tr[data-run]').count(), 50);
  while (await page.$('button.older')) {
    const shown = await page.locator('tr[data-run]').count();
    await page.click('button.older');
    await until(async () => (await page.locator('tr[data-run]').count()) > shown);
  }
  const rows = page.locator('tr[data-run]');
  assert.equal(await rows.count(), 2000);
  assert.equal(await rows.last().getAttribute('data-run'), ids[0], 'the oldest run, last');
  assert.equal(await rows.first().getAttribute('data-run'), ids.at(-1), 'the newest, first');
  // A run for a tick says which; one without a tick says nothing of it.
  assert.equal(
    await rows.first().locator('.tick time').getAttribute('datetime'),
    '2025-03-25T06:00:00.000Z',
    "the newest run's tick",
  );
  assert.match((await rows.first().locator('.tick').textContent()) ?? '', /^for the tick of /);
  assert.equal(await rows.nth(1).locator('.tick').count(), 0);
  await page.selectOption('select', 'failed');
  await until(
    async () =>
      (await page.locator('tr[data-run]').count()) === 50 && !(await page.$('tr[data-run] .status.s-succeeded')),
  );
  assert.equal(await page.textContent('tr[data-run] .status'), 'failed');
  assert.equal(await page.locator('.chart canvas').count(), 1, 'the step durations, charted');
  // A range of days (UTC, both ends included): runs were hourly from 2025-01-01.
  await page.selectOption('select', '');
  await page.fill('input[name="since"]', '2025-01-02');
  await page.fill('input[name="until"]', '2025-01-03');
  await until(async () => (await page.locator('tr[data-run]').count()) === 48);
  assert.equal(await page.locator('tr[data-run]').last().getAttribute('data-run'), ids[24]);
  assert.equal(await page.locator('tr[data-run]').first().getAttribute('data-run'), ids[71]);
});

test("a truncated log says so, and the runner's marker of where output was dropped stands out", {
  skip: NO_BROWSER,
  timeout: 60_000,
}, async (t) => {
  const repo = pipelineRepo(t, {
    modules: { loud: { cmd: './modules/loud.sh' } },
    sequences: { loud: [{ module_name: 'loud' }] },
    files: { 'modules/loud.sh': { content: '#!/bin/sh\nseq 1 5000\n', mode: 0o755 } },
  });
  assert.equal((await runCli(['run', 'loud', '--log-limit', '2048'], { cwd: repo })).code, 0);
  const server = startCli(['ui', '--port', '0'], { cwd: repo });
  t.after(() => server.child.kill('SIGTERM'));
  const url = /(http:\/\/\S+)/.exec(await server.line(/^etl ui: serving/))![1]!;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.after(() => browser.close());
  const page = await browser.newPage();
  await page.goto(url);
  await page.click('tr[data-sequence="loud"] .strip a');
  await page.click('tr[data-step="step-1"] button.show-log');
  await page.waitForSelector('pre.log mark');
  assert.match(
    (await page.textContent('.log-view .notice')) ?? '',
    /printed 23893 bytes; the log keeps the first and last/,
  );
  assert.match((await page.textContent('pre.log mark')) ?? '', /^\[etl-ledger: \d+ bytes of output dropped here/);
  const text = (await page.textContent('pre.log')) ?? '';
  assert.match(text, /^1\n2\n/);
  assert.match(text, /4999\n5000\n?$/);
});

test('with --allow-run, "Run now" on the overview starts a run that appears without a reload', {
  skip: NO_BROWSER,
  timeout: 60_000,
}, async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: { good: [{ module_name: 'ok' }] },
  });
  const server = startCli(['ui', '--port', '0', '--allow-run'], { cwd: repo });
  t.after(() => server.child.kill('SIGTERM'));
  const url = /(http:\/\/\S+)/.exec(await server.line(/^etl ui: serving/))![1]!;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.after(() => browser.close());
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForSelector('tr[data-sequence="good"] button.action-run');
  assert.doesNotMatch(page.url(), /token/, 'the token leaves the address bar');
  await page.click('tr[data-sequence="good"] button.action-run');
  await until(async () => (await page.locator('tr[data-sequence="good"] .strip a').count()) === 1);
  await until(async () => (await page.textContent('tr[data-sequence="good"] .status')) === 'succeeded');
  // The same page opened without the token (another tab, a pasted link) has no buttons.
  const other = await browser.newContext();
  const stranger = await other.newPage();
  await stranger.goto(url.replace(/\?.*$/, ''));
  await stranger.waitForSelector('tr[data-sequence="good"]');
  assert.equal(await stranger.locator('button.action').count(), 0);
});

test('a running step\'s log is followed on its page as it grows, from the overview\'s "in progress", with no reload; keys alone reach it', {
  skip: NO_BROWSER,
  timeout: 60_000,
}, async (t) => {
  const repo = pipelineRepo(t, {
    modules: { slow: { cmd: './modules/slow.sh' } },
    sequences: { slow: [{ module_name: 'slow' }] },
    files: {
      'modules/slow.sh': {
        content: '#!/bin/sh\necho first line\nwhile [ ! -f go ]; do sleep 0.05; done\necho second line >&2\n',
        mode: 0o755,
      },
    },
  });
  const server = startCli(['ui', '--port', '0'], { cwd: repo });
  t.after(() => server.child.kill('SIGTERM'));
  const url = /(http:\/\/\S+)/.exec(await server.line(/^etl ui: serving/))![1]!;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.after(() => browser.close());
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForSelector('tr[data-sequence="slow"]');
  const run = startCli(['run', 'slow'], { cwd: repo });
  t.after(() => run.child.kill('SIGTERM'));
  await page.waitForSelector('section[aria-label="in progress"] a');
  assert.equal(await page.textContent('[data-count="running"]'), '1');
  // By keyboard: Tab to the running run's link, Enter.
  for (let i = 0; i < 10; i++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate("document.activeElement?.closest('section')?.getAttribute('aria-label')");
    if (focused === 'in progress') break;
  }
  await page.keyboard.press('Enter');
  await page.waitForSelector('tr[data-step="step-1"] button.show-log');
  await page.focus('tr[data-step="step-1"] button.show-log');
  await page.keyboard.press('Enter');
  await until(async () => /first line/.test((await page.textContent('pre.log')) ?? ''));
  await page.evaluate('window.kept = 1');
  writeFileSync(join(repo, 'go'), '');
  await until(async () => /first line\nsecond line/.test((await page.textContent('pre.log')) ?? ''));
  await until(async () => (await page.textContent('h1 .status')) === 'succeeded');
  assert.equal(await page.evaluate('window.kept'), 1, 'the same page, not reloaded');
  assert.equal((await run.done).code, 0);
});

test('etl report: the same pages from a static server under a sub-path, with no server, no live updates and no actions', {
  skip: NO_BROWSER,
  timeout: 60_000,
}, async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' }, evil: { cmd: './modules/evil.sh' } },
    sequences: {
      good: {
        description: 'loads <script>window.pwned = 1</script> "><img src=x onerror="window.pwned = 2">',
        steps: [{ module_name: 'ok' }, { module_name: 'ok', name: '<img src=x onerror="window.pwned = 3">' }],
      },
      bad: [{ module_name: 'evil' }],
    },
    files: {
      'modules/evil.sh': {
        content:
          '#!/bin/sh\necho \'<script>window.pwned = 4</script> "><img src=x onerror="window.pwned = 5">\' >&2\nexit 3\n',
        mode: 0o755,
      },
    },
  });
  for (let i = 0; i < 3; i++) assert.equal((await runCli(['run', 'good'], { cwd: repo })).code, 0);
  assert.equal((await runCli(['run', 'bad'], { cwd: repo })).code, 1);
  const made = await runCli(['report', '--out', 'site', '--runs', '2'], { cwd: repo });
  assert.equal(made.code, 0, made.stderr);
  assert.match(made.stdout, /2 sequences, 3 runs/);
  const url = await staticServer(t, join(repo, 'site'), '/pipelines/');

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
  await page.goto(url);
  await page.waitForSelector('tr[data-sequence="good"]');
  assert.match((await page.textContent('nav')) ?? '', /static report of .*: no live updates, no actions/);
  assert.equal(await page.textContent('tr[data-sequence="bad"] .status'), 'failed');
  assert.equal(await page.locator('tr[data-sequence="good"] .strip a').count(), 2, 'the runs the report holds');
  assert.equal(await page.locator('button.action').count(), 0);

  await page.click('a[href$="board/"]');
  await page.waitForSelector('[data-column="failed"] .card');
  assert.equal(await page.locator('[data-column="succeeded"] .card').count(), 2);

  await page.goto(`${url}sequences/good/`);
  await page.waitForSelector('tr[data-run]');
  assert.equal(await page.locator('tr[data-run]').count(), 2);
  assert.match((await page.textContent('table.grid thead')) ?? '', /<img src=x onerror=/, 'a step name shown as text');
  await page.selectOption('select', 'failed');
  await page.waitForSelector('text=No runs.');

  await page.goto(url);
  await page.click('tr[data-sequence="bad"] .strip a');
  await page.waitForSelector('tr[data-step="step-1"]');
  assert.match(page.url(), /\/pipelines\/runs\/\d{8}T\d{9}Z-[0-9a-f]{8}\/$/);
  await page.waitForSelector('[data-log="step-1"] pre.log');
  assert.match(
    (await page.textContent('[data-log="step-1"] pre.log')) ?? '',
    /<script>window\.pwned = 4<\/script> "><img src=x onerror=/,
    "a module's output shown as text",
  );
  await page.click('button.show-definitions');
  await page.waitForSelector('details.pinned');
  assert.equal(await page.evaluate('window.pwned'), undefined, 'nothing injected ran');
  assert.deepEqual(errors, [], 'no script error, no CSP violation');

  // A second report replaces the first whole; a folder that is not a report is never replaced.
  assert.equal((await runCli(['report', '--out', 'site', '--runs', '1'], { cwd: repo })).code, 0);
  const refused = await runCli(['report', '--out', 'modules'], { cwd: repo });
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /modules exists and is not an etl report/);
  assert.ok(existsSync(join(repo, 'modules/ok.sh')));
});
