// A sequence's charts in a real browser (issue 21): labels that do not collide or overlap, a
// lone run in the middle, metric charts in the steps' order.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RunRecord } from '../../src/runner/records.js';
import { launchBrowser, NO_BROWSER, pageErrors, startUi } from '../helpers/browser.js';
import { pipelineRepo, runCli } from '../helpers/repo.js';
import { findRunFolders } from '../helpers/runs.js';

/**
 * What a chart draws on its canvas, measured in the page: for each axis, its labels that
 * overlap the next one, and (for the y axis) whether its widest label fits beside the plot,
 * clear of the axis title; and where each point of the first series sits across the plot (0 to 1).
 */
// biome-ignore lint/suspicious/noExplicitAny: a DOM element holding a uPlot chart, in the page
const layout = (box: any) => {
  const chart = box.uplot;
  const ratio = box.ownerDocument.defaultView.devicePixelRatio;
  const width = (text: string, font: string) => {
    chart.ctx.font = font;
    return (
      Math.max(
        ...String(text)
          .split('\n')
          .map((line) => chart.ctx.measureText(line).width),
      ) / ratio
    );
  };
  const [x, y] = chart.axes;
  const xs = x._splits.map((v: number) => chart.valToPos(v, 'x'));
  const xLabels = x._values.map((v: string | null) => (v === null ? 0 : width(v, x.font[0])));
  const collisions: string[] = [];
  for (let i = 0; i + 1 < xs.length; i++)
    if (x._values[i] !== null && x._values[i + 1] !== null && xs[i + 1] - xs[i] < (xLabels[i] + xLabels[i + 1]) / 2 + 4)
      collisions.push(`${x._values[i]}|${x._values[i + 1]}`);
  const widestY = Math.max(
    ...y._values.filter((v: string | null) => v !== null).map((v: string) => width(v, y.font[0])),
  );
  const points = chart.data[0]
    .map((v: number, i: number) =>
      chart.data[1][i] === null ? null : chart.valToPos(v, 'x') / (chart.bbox.width / ratio),
    )
    .filter((p: number | null) => p !== null);
  return { collisions, yFits: widestY + y.ticks.size + y.gap <= y._size, points };
};

test('charts: x labels apart, y labels clear of the axis title, a lone run in the middle, metric charts in the order of the steps then the keys', {
  skip: NO_BROWSER,
  timeout: 120_000,
}, async (t) => {
  const repo = pipelineRepo(t, {
    modules: { first: { cmd: './modules/first.sh' }, second: { cmd: './modules/second.sh' } },
    sequences: { many: [{ module_name: 'second' }, { module_name: 'first' }], once: [{ module_name: 'second' }] },
    files: {
      // Step 1 writes its keys out of alphabetical order; step 2 a key that sorts before them.
      'modules/second.sh': {
        content: '#!/bin/sh\necho "zeta=1234567.5" >> "$ETL_METRICS"\necho "beta=$$" >> "$ETL_METRICS"\n',
        mode: 0o755,
      },
      'modules/first.sh': { content: '#!/bin/sh\necho "alpha=3" >> "$ETL_METRICS"\n', mode: 0o755 },
    },
  });
  for (let i = 0; i < 8; i++) assert.equal((await runCli(['run', 'many'], { cwd: repo })).code, 0);
  assert.equal((await runCli(['run', 'once'], { cwd: repo })).code, 0);
  // The runs of `many` a minute apart, as a schedule would have them.
  const folders = findRunFolders(repo).filter((f) => f.includes('/many/'));
  folders.forEach((folder, i) => {
    const run = JSON.parse(readFileSync(join(folder, 'run.json'), 'utf8')) as RunRecord;
    run.started_at = new Date(Date.parse('2026-12-01T10:40:00Z') + i * 60_000).toISOString();
    writeFileSync(join(folder, 'run.json'), JSON.stringify(run));
  });

  const { url } = await startUi(t, repo);
  const browser = await launchBrowser(t);
  for (const viewport of [
    { width: 1100, height: 700 },
    { width: 390, height: 844 },
  ]) {
    const page = await browser.newPage({ viewport, timezoneId: 'UTC' });
    const errors = pageErrors(page);
    await page.goto(`${url}sequences/many`);
    await page.waitForSelector('section.metrics .chart canvas');
    await page.locator('.chart canvas').nth(3).waitFor();
    assert.deepEqual(await page.locator('.chart figcaption').allTextContents(), [
      'Step durations, per run',
      'Metric beta, per run',
      'Metric zeta, per run',
      'Metric alpha, per run',
    ]);
    for (const chart of await page.locator('.chart > div').all()) {
      const drawn = await chart.evaluate(layout);
      assert.deepEqual(drawn.collisions, [], `x labels at ${viewport.width} px`);
      assert.ok(drawn.yFits, `y labels beside the plot at ${viewport.width} px`);
    }

    await page.goto(`${url}sequences/once`);
    await page.locator('.chart canvas').nth(2).waitFor();
    for (const chart of await page.locator('.chart > div').all()) {
      const { points } = await chart.evaluate(layout);
      assert.equal(points.length, 1);
      assert.ok(Math.abs(points[0] - 0.5) < 0.05, `a lone point at ${points[0]} of the width`);
    }
    assert.deepEqual(errors, []);
    await page.close();
  }
});
