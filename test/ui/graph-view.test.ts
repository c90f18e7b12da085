// A graph run's pages in a real browser (issue 23): its timeline in lanes (the steps that ran
// together side by side), its steps as an SVG graph coloured by status, on the run's page, the
// sequence's page and the static report; a list run's page as before.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { RunRecord } from '../../src/runner/records.js';
import { launchBrowser, NO_BROWSER, pageErrors, startUi } from '../helpers/browser.js';
import { pipelineRepo, runCli } from '../helpers/repo.js';
import { findRunFolders } from '../helpers/runs.js';
import { staticServer } from '../helpers/static-server.js';

/** A name that would be markup if a page parsed it as such. */
const HOSTILE = '<b>x</b>&amp;';

/**
 * A graph run (first; left and right together, each needing first; join, failing, needing
 * both; late, needing first and join, skipped) whose first step's name is made hostile in its record, and a list run of two steps.
 */
async function graphAndListRuns(t: TestContext): Promise<{ repo: string; graph: string; list: string }> {
  const repo = pipelineRepo(t, {
    modules: {
      ok: { cmd: './modules/ok.sh' },
      fail: { cmd: './modules/fail.sh 4' },
      meet_a: { cmd: './modules/meet.sh a b' },
      meet_b: { cmd: './modules/meet.sh b a' },
    },
    sequences: {
      fan: {
        steps: [
          { name: 'first', module_name: 'ok' },
          { name: 'left', module_name: 'meet_a', needs: ['first'] },
          { name: 'right', module_name: 'meet_b', needs: ['first'] },
          { name: 'join', module_name: 'fail', needs: ['left', 'right'] },
          // Its level is its longest path from first: below join, though it needs first too.
          { name: 'late', module_name: 'ok', needs: ['first', 'join'] },
        ],
      },
      line: [{ module_name: 'ok' }, { module_name: 'ok', name: 'again' }],
    },
  });
  const fan = await runCli(['run', 'fan', '--json'], { cwd: repo });
  assert.equal(fan.code, 1, fan.stderr);
  const graph = (JSON.parse(fan.stdout) as RunRecord).id;
  const line = await runCli(['run', 'line', '--json'], { cwd: repo });
  assert.equal(line.code, 0, line.stderr);
  const list = (JSON.parse(line.stdout) as RunRecord).id;
  const folder = findRunFolders(repo).find((f) => f.endsWith(graph))!;
  const run = JSON.parse(readFileSync(join(folder, 'run.json'), 'utf8')) as RunRecord;
  run.steps[0]!.name = HOSTILE;
  writeFileSync(join(folder, 'run.json'), JSON.stringify(run));
  return { repo, graph, list };
}

/** A node's fill and the colour of a status badge, in the page (no DOM types here). */
// biome-ignore lint/suspicious/noExplicitAny: an SVG element, in the page
const colours = (rect: any, status: string): [string, string] => {
  const window = rect.ownerDocument.defaultView;
  const probe = rect.ownerDocument.createElement('span');
  probe.className = `status s-${status}`;
  rect.ownerDocument.body.append(probe);
  const badge = window.getComputedStyle(probe).backgroundColor;
  probe.remove();
  return [window.getComputedStyle(rect).fill, badge];
};

const STATUSES = ['succeeded', 'succeeded', 'succeeded', 'failed', 'skipped'];

/** The graph on the page: a node per step coloured as the step's status, an edge per need, names as text. */
async function checkGraph(page: Page, hrefOf: (index: number) => RegExp): Promise<void> {
  // A sequence's page draws its definition (nodes that are not links) until its runs are read.
  const svg = page.locator('svg.graph:has(a.node)');
  await svg.waitFor();
  assert.match((await svg.getAttribute('aria-label')) ?? '', /graph/);
  const nodes = svg.locator('a.node');
  assert.equal(await nodes.count(), 5, 'one node per step');
  for (const [i, status] of STATUSES.entries()) {
    const node = svg.locator(`a.node[data-step="step-${i + 1}"]`);
    assert.match((await node.getAttribute('class')) ?? '', new RegExp(`\\bs-${status}\\b`));
    assert.match((await node.getAttribute('aria-label')) ?? '', new RegExp(`^${i + 1}\\. .+: ${status}$`));
    assert.match((await node.getAttribute('href')) ?? '', hrefOf(i + 1));
    // Coloured as every mark of the status is (the badge's colour).
    const [fill, badge] = await node.locator('rect').evaluate(colours, status);
    assert.equal(fill, badge, `step ${i + 1}'s node`);
  }
  assert.equal(await svg.locator('a.node[data-step="step-1"] text').textContent(), HOSTILE);
  assert.equal(await svg.locator('b').count(), 0, 'the name is text, not markup');
  const edges = await svg
    .locator('path.edge')
    .evaluateAll((paths) => paths.map((p) => `${p.getAttribute('data-from')}>${p.getAttribute('data-to')}`).sort());
  assert.deepEqual(edges, ['1>2', '1>3', '1>5', '2>4', '3>4', '4>5'], 'an edge per need');
  // Levels top to bottom: first, then left and right side by side, then join.
  const box = async (i: number) => (await svg.locator(`a.node[data-step="step-${i}"] rect`).boundingBox())!;
  const [b1, b2, b3, b4, b5] = [await box(1), await box(2), await box(3), await box(4), await box(5)];
  assert.ok(b1.y < b2.y && b2.y === b3.y && b3.y < b4.y && b4.y < b5.y && b2.x !== b3.x);
}

test("a graph run's page draws its steps in lanes (the two that ran together side by side) and as a graph coloured by status; a list run's page has neither", {
  skip: NO_BROWSER,
  timeout: 90_000,
}, async (t) => {
  const { repo, graph, list } = await graphAndListRuns(t);
  const { url } = await startUi(t, repo);
  const browser = await launchBrowser(t);
  for (const viewport of [
    { width: 1100, height: 800 },
    { width: 390, height: 844 },
  ]) {
    const page = await browser.newPage({ viewport });
    const errors = pageErrors(page);
    await page.goto(`${url}runs/${graph}`);
    await checkGraph(page, (i) => new RegExp(`^#step-step-${i}$`));
    const svgBox = (await page.locator('svg.graph').boundingBox())!;
    assert.ok(svgBox.width <= viewport.width, `the graph is ${svgBox.width} px wide in a page of ${viewport.width}`);
    // The lanes: left and right overlapped in time, so they are in lanes of their own.
    const laneOf = (i: number) =>
      page
        .locator(`.lanes a.bar[data-step="step-${i}"]`)
        .evaluate((a) => a.closest('.lane')!.getAttribute('data-lane'));
    assert.notEqual(await laneOf(2), await laneOf(3));
    assert.equal(await page.locator('.lanes .lane').count(), 2);
    assert.match((await page.textContent('.lanes-head')) ?? '', /up to 2 steps at once \(max_parallel \d+\)/);
    assert.equal(await page.locator('table.steps th', { hasText: 'timeline' }).count(), 0);
    // A bar goes to its step and opens its log; a node goes to its step.
    await page.click('.lanes a.bar[data-step="step-2"]');
    await page.locator('[data-log="step-2"] pre.log').waitFor();
    assert.match((await page.textContent('[data-log="step-2"] pre.log')) ?? '', /a met b/);
    assert.match(page.url(), /#step-step-2$/);
    await page.click('svg.graph a.node[data-step="step-3"]');
    assert.match(page.url(), /#step-step-3$/);
    assert.ok(await page.locator('tr[data-step="step-3"]').evaluate((tr) => tr.matches(':target')), 'the row gone to');
    assert.match((await page.textContent('tr[data-step="step-1"] strong')) ?? '', /^1\. <b>x<\/b>&amp;$/);
    assert.deepEqual(errors, []);

    await page.goto(`${url}runs/${list}`);
    await page.waitForSelector('tr[data-step="step-2"]');
    assert.equal(await page.locator('svg.graph').count(), 0, 'a list run has no graph');
    assert.equal(await page.locator('.lanes').count(), 0, 'nor lanes');
    assert.equal(await page.locator('table.steps th', { hasText: 'timeline' }).count(), 1);
    assert.equal(await page.locator('table.steps td .gantt .bar').count(), 2, "a bar in each step's row");
    assert.deepEqual(errors, []);
    await page.close();
  }
});

test("a graph sequence's page shows the newest run's steps as a graph, and the static report shows the same pages", {
  skip: NO_BROWSER,
  timeout: 90_000,
}, async (t) => {
  const { repo, graph, list } = await graphAndListRuns(t);
  const { url } = await startUi(t, repo);
  const browser = await launchBrowser(t);
  const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
  const errors = pageErrors(page);
  await page.goto(`${url}sequences/fan`);
  await checkGraph(page, (i) => new RegExp(`^/runs/${graph}#step-step-${i}$`));
  await page.click('svg.graph a.node[data-step="step-4"]');
  await page.waitForSelector('tr[data-step="step-4"]');
  assert.match(page.url(), new RegExp(`/runs/${graph}#step-step-4$`));
  await page.goto(`${url}sequences/line`);
  await page.waitForSelector(`tr[data-run="${list}"]`);
  assert.equal(await page.locator('svg.graph').count(), 0);

  const made = await runCli(['report', '--out', 'site'], { cwd: repo });
  assert.equal(made.code, 0, made.stderr);
  const site = await staticServer(t, join(repo, 'site'), '/pipelines/');
  await page.goto(`${site}runs/${graph}/`);
  await checkGraph(page, (i) => new RegExp(`^#step-step-${i}$`));
  assert.equal(await page.locator('.lanes .lane').count(), 2);
  await page.goto(`${site}sequences/fan/`);
  await checkGraph(page, (i) => new RegExp(`^\\.\\./\\.\\./runs/${graph}/#step-step-${i}$`));
  await page.goto(`${site}runs/${list}/`);
  await page.waitForSelector('tr[data-step="step-2"]');
  assert.equal(await page.locator('svg.graph').count(), 0);
  assert.deepEqual(errors, []);
});

test('a graph sequence that has not run yet: its page draws the steps as its definition says, as no links', {
  skip: NO_BROWSER,
  timeout: 60_000,
}, async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: {
      fan: {
        steps: [
          { name: 'first', module_name: 'ok' },
          { name: 'left', module_name: 'ok', needs: ['first'] },
          { name: 'right', module_name: 'ok', needs: ['first'] },
          { name: 'join', module_name: 'ok', needs: ['left', 'right'] },
        ],
      },
      line: [{ module_name: 'ok' }, { module_name: 'ok', name: 'again' }],
    },
  });
  const { url } = await startUi(t, repo);
  const page = await (await launchBrowser(t)).newPage({ viewport: { width: 1100, height: 800 } });
  const errors = pageErrors(page);
  await page.goto(`${url}sequences/fan`);
  await page.waitForSelector('svg.graph g.node[data-step="step-4"]');
  assert.equal(await page.locator('svg.graph a.node').count(), 0);
  assert.deepEqual(
    await page.locator('svg.graph g.node').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('aria-label'))),
    ['1. first', '2. left', '3. right', '4. join'],
  );
  const edges = await page
    .locator('svg.graph path.edge')
    .evaluateAll((paths) => paths.map((p) => `${p.getAttribute('data-from')}->${p.getAttribute('data-to')}`).sort());
  assert.deepEqual(edges, ['1->2', '1->3', '2->4', '3->4']);
  assert.match((await page.textContent('.sequence-graph')) ?? '', /as etl_sequences\/fan\.json defines them/);
  await page.goto(`${url}sequences/line`);
  await page.waitForSelector('text=No runs.');
  assert.equal(await page.locator('svg.graph').count(), 0);
  assert.deepEqual(errors, []);
});
