// `etl report` opened from disk (issue 21): a browser refuses a file:// page its module script
// and its data; the page says so, and how to serve the report, instead of "Loading…".
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { RunRecord } from '../../src/runner/records.js';
import { launchBrowser, NO_BROWSER } from '../helpers/browser.js';
import { pipelineRepo, runCli } from '../helpers/repo.js';

test("a report's pages opened from disk say how to serve the report, with its folder and the page's address", {
  skip: NO_BROWSER,
  timeout: 60_000,
}, async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: { good: [{ module_name: 'ok' }] },
  });
  const ran = await runCli(['run', 'good', '--json'], { cwd: repo });
  const id = (JSON.parse(ran.stdout) as RunRecord).id;
  const site = join(repo, "it's site");
  assert.equal((await runCli(['report', '--out', site], { cwd: repo })).code, 0);
  const page = await (await launchBrowser(t)).newPage();
  for (const [file, address] of [
    ['index.html', 'http://localhost:8000/'],
    [`runs/${id}/index.html`, `http://localhost:8000/runs/${id}/`],
  ] as const) {
    await page.goto(pathToFileURL(join(site, file)).href);
    await page.waitForSelector('.from-disk');
    const said = (await page.textContent('main')) ?? '';
    assert.doesNotMatch(said, /Loading/);
    assert.match(said, /opened from disk \(file:\/\/\)/);
    assert.equal(
      await page.textContent('.from-disk pre'),
      `python3 -m http.server -d '${site.replace("'", "'\\''")}' 8000`,
    );
    assert.match(said, new RegExp(`then open ${address.replace(/[.]/g, '\\.')}$`));
  }
});
