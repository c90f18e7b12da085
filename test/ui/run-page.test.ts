// A run's page in a real browser (issue 21): where a step's log opens, how its words wrap,
// what it says of each step's time.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatDuration } from '../../src/definitions/duration.js';
import type { RunRecord } from '../../src/runner/records.js';
import { launchBrowser, NO_BROWSER, pageErrors, startUi, until } from '../helpers/browser.js';
import { pipelineRepo, runCli, startCli } from '../helpers/repo.js';
import { findRunFolders, readRunFolder } from '../helpers/runs.js';

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
    // The steps table fits its box: nothing to scroll sideways, on a phone too.
    const overflow = await page
      .locator('table.steps')
      .evaluate((table) => table.getBoundingClientRect().width - table.parentElement!.getBoundingClientRect().width);
    assert.ok(overflow <= 0.5, `the steps table is ${overflow} px wider than its box at ${viewport.width} px`);
    assert.deepEqual(errors, []);
    await page.close();
  }
});

/** The words of an element's text that the browser broke across two lines (run in the page: no DOM types here). */
// biome-ignore lint/suspicious/noExplicitAny: a DOM element, in the page
const brokenWords = (element: any): string[] => {
  const broken: string[] = [];
  const texts = element.ownerDocument.createTreeWalker(element, 4 /* text nodes */);
  for (let node = texts.nextNode(); node; node = texts.nextNode()) {
    let at = 0;
    for (const word of String(node.textContent).split(' ')) {
      const range = element.ownerDocument.createRange();
      range.setStart(node, at);
      range.setEnd(node, at + word.length);
      const tops = new Set([...range.getClientRects()].map((r: { top: number }) => Math.round(r.top)));
      if (tops.size > 1) broken.push(word);
      at += word.length + 1;
    }
  }
  return broken;
};

test('the pages put spaces between their words, leave out an empty duration, and break argv and paths only between words', {
  skip: NO_BROWSER,
  timeout: 60_000,
}, async (t) => {
  const repo = pipelineRepo(t, {
    modules: { wait: { cmd: './modules/wait.sh' }, extract: { cmd: './modules/ok.sh' } },
    sequences: {
      slow: [
        { module_name: 'wait', conf: 'conf/transform.json', input: 'data/air_quality_measurements.csv' },
        { module_name: 'extract' },
      ],
    },
    files: {
      'conf/transform.json': '{}',
      'data/air_quality_measurements.csv': 'a\n',
      'modules/wait.sh': { content: '#!/bin/sh\nwhile [ ! -f go ]; do sleep 0.05; done\n', mode: 0o755 },
    },
  });
  const { url } = await startUi(t, repo);
  const browser = await launchBrowser(t);
  const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
  const errors = pageErrors(page);
  await page.goto(url);
  await page.waitForSelector('tr[data-sequence="slow"]');
  const run = startCli(['run', 'slow'], { cwd: repo });
  t.after(() => run.child.kill('SIGKILL'));
  const progress = page.locator('section[aria-label="in progress"] li');
  await progress.waitFor();
  assert.match((await progress.textContent()) ?? '', /\S · 0 of 2 steps done$/);

  await page.goto(`${url}board`);
  const card = page.locator('.card.s-running');
  await card.waitFor();
  assert.doesNotMatch((await card.textContent()) ?? '', /·\s*·|·\s*$/, 'a running run has no duration yet');
  await card.click();
  await page.waitForSelector('tr[data-step="step-1"]');
  // Nothing empty between the dots, nor after the last (a run without params or tick).
  assert.doesNotMatch((await page.locator('.run-facts').textContent()) ?? '', /·\s*·|·\s*$/);

  // Stopped as Ctrl-C stops it: the step ends by a signal, the word "log" after it.
  run.child.kill('SIGTERM');
  assert.equal((await run.done).code, 143);
  await until(async () => (await page.textContent('h1 .status')) === 'cancelled');
  assert.match((await page.locator('tr[data-step="step-1"] td').last().textContent()) ?? '', /^signal SIGTERM log$/);

  const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await phone.goto(page.url());
  await phone.waitForSelector('tr[data-step="step-1"] .argv code');
  await phone.waitForSelector('tr[data-step="step-1"] ul.lineage code');
  assert.match((await phone.textContent('tr[data-step="step-1"] .argv')) ?? '', /--config conf\/transform\.json/);
  assert.deepEqual(await phone.locator('tr[data-step="step-1"] .argv code').evaluate(brokenWords), []);
  assert.deepEqual(await phone.locator('tr[data-step="step-1"] ul.lineage code').first().evaluate(brokenWords), []);
  assert.deepEqual(errors, []);
});

test('a duration is written as the CLI writes it: 1568 ms is 1.6s on every page, as in etl history', {
  skip: NO_BROWSER,
  timeout: 60_000,
}, async (t) => {
  const { repo, id } = await failedRun(t);
  // The run took 1568 ms, its second step 1568 ms too (the records say so).
  const folder = findRunFolders(repo)[0]!;
  const run = JSON.parse(readFileSync(join(folder, 'run.json'), 'utf8')) as RunRecord;
  run.duration_ms = 1568;
  run.steps[1]!.duration_ms = 1568;
  writeFileSync(join(folder, 'run.json'), JSON.stringify(run));
  const history = await runCli(['history', 'daily'], { cwd: repo });
  assert.match(history.stdout, / 1\.6s /, history.stdout);

  const { url } = await startUi(t, repo);
  const page = await (await launchBrowser(t)).newPage({ viewport: { width: 1100, height: 700 } });
  await page.goto(`${url}sequences/daily`);
  await page.waitForSelector(`tr[data-run="${id}"]`);
  assert.equal((await page.locator(`tr[data-run="${id}"] td`).nth(2).textContent()) ?? '', '1.6s');
  await page.goto(`${url}board`);
  await page.waitForSelector('.card');
  assert.match((await page.locator('.card').textContent()) ?? '', / · 1\.6s · step 2$/);
  await page.goto(`${url}runs/${id}`);
  await page.waitForSelector('.run-facts');
  assert.match((await page.locator('.run-facts').textContent()) ?? '', / · 1\.6s · /);
});

test("a run's page gives each step's duration as a number, on a phone too, and a running step's argv, quoted", {
  skip: NO_BROWSER,
  timeout: 60_000,
}, async (t) => {
  const repo = pipelineRepo(t, {
    modules: { wait: { cmd: './modules/wait.sh' }, extract: { cmd: './modules/ok.sh' } },
    sequences: { slow: [{ module_name: 'extract' }, { module_name: 'wait', input: 'data/day 1.csv' }] },
    files: {
      'data/day 1.csv': 'a\n',
      'modules/wait.sh': { content: '#!/bin/sh\nwhile [ ! -f go ]; do sleep 0.05; done\n', mode: 0o755 },
    },
  });
  const { url } = await startUi(t, repo);
  const page = await (await launchBrowser(t)).newPage({ viewport: { width: 390, height: 844 } });
  const errors = pageErrors(page);
  await page.goto(url);
  const run = startCli(['run', 'slow'], { cwd: repo });
  t.after(() => run.child.kill('SIGKILL'));
  await page.click('section[aria-label="in progress"] a');
  await until(async () => (await page.textContent('tr[data-step="step-2"] .status')) === 'running');
  await page.waitForSelector('tr[data-step="step-2"] .argv');
  assert.equal(
    await page.textContent('tr[data-step="step-2"] .argv'),
    // One argument with a space in it, quoted as etl plan and etl show print it.
    "./modules/wait.sh --input 'data/day 1.csv'",
  );
  writeFileSync(join(repo, 'go'), '');
  assert.equal((await run.done).code, 0);
  await until(async () => (await page.textContent('h1 .status')) === 'succeeded');
  const { steps } = readRunFolder(findRunFolders(repo)[0]!);
  for (const step of steps) {
    const took = page.locator(`tr[data-step="step-${step.index}"] .took`);
    assert.equal(await took.textContent(), formatDuration(step.duration_ms!));
    assert.ok(await took.isVisible());
  }
  assert.deepEqual(errors, []);
});

test("a run's page says what started it, the tick it was for and its params", {
  skip: NO_BROWSER,
  timeout: 60_000,
}, async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: { daily: { params: { region: { default: 'north' } }, steps: [{ module_name: 'ok' }] } },
  });
  const ran = await runCli(['run', 'daily', '--tick', '2026-10-22T06:00:00Z', '--param', 'region=south', '--json'], {
    cwd: repo,
    env: { GITHUB_ACTIONS: '' },
  });
  assert.equal(ran.code, 0, ran.stderr);
  const { id } = JSON.parse(ran.stdout) as RunRecord;
  const { url } = await startUi(t, repo);
  const page = await (await launchBrowser(t)).newPage({ viewport: { width: 1100, height: 700 } });
  const errors = pageErrors(page);
  await page.goto(`${url}runs/${id}`);
  await page.waitForSelector('.run-facts .tick');
  const facts = (await page.locator('.run-facts').textContent()) ?? '';
  assert.match(facts, / · manual( by \S+)? · for the tick of .+ · params region=south\s*$/);
  assert.equal(await page.getAttribute('.run-facts .tick time', 'datetime'), '2026-10-22T06:00:00.000Z');
  await page.goto(`${url}sequences/daily`);
  await page.waitForSelector(`tr[data-run="${id}"] .tick`);
  assert.deepEqual(errors, []);
});

test("a call step's run and its child run link to each other on their pages, a handler's call step too", {
  skip: NO_BROWSER,
  timeout: 60_000,
}, async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: {
      child: [{ module_name: 'ok' }],
      parent: {
        steps: [{ module_name: 'ok' }, { name: 'sub', call: 'child' }, { name: 'boom', run: 'false' }],
        on_failure: [{ name: 'tell', call: 'child' }],
      },
    },
  });
  const ran = await runCli(['run', 'parent', '--json'], { cwd: repo, env: { GITHUB_ACTIONS: '' } });
  assert.equal(ran.code, 1, ran.stderr);
  const parent = JSON.parse(ran.stdout) as RunRecord;
  const child = parent.child_runs![0]!.run_id;
  const { url } = await startUi(t, repo);
  const page = await (await launchBrowser(t)).newPage({ viewport: { width: 1100, height: 700 } });
  const errors = pageErrors(page);
  await page.goto(`${url}runs/${parent.id}`);
  const link = page.locator('tr[data-step="step-2"] .child-run a');
  await link.waitFor();
  assert.equal(await link.textContent(), `child run ${child}`);
  await link.click();
  await page.waitForSelector('.run-facts .parent-run a');
  assert.match(page.url(), new RegExp(`runs/${child}$`));
  assert.equal(await page.textContent('.run-facts .parent-run'), 'called by parent step 2 (sub)');
  await page.click('.run-facts .parent-run a');
  await page.waitForSelector('tr[data-step="step-2"] .child-run');
  assert.match(page.url(), new RegExp(`runs/${parent.id}#step-step-2$`));

  // The handler's call step: its child links back to that step, not to step 1 of the steps.
  const handlerChild = parent.child_runs![1]!.run_id;
  await page.click('tr[data-step="on_failure-1"] .child-run a');
  await page.waitForSelector(`.run-facts .parent-run a`);
  assert.match(page.url(), new RegExp(`runs/${handlerChild}$`));
  assert.equal(await page.textContent('.run-facts .parent-run'), 'called by parent step on_failure 1 (tell)');
  await page.click('.run-facts .parent-run a');
  await page.waitForSelector('tr[data-step="on_failure-1"] .child-run');
  assert.match(page.url(), new RegExp(`runs/${parent.id}#step-on_failure-1$`));
  assert.deepEqual(errors, []);
});
