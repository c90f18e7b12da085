// The scheduler on the overview (issue 21): whether `etl schedule` runs for this repository,
// its next ticks, the ticks it skipped and those that could not start, each with why.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type DaemonStatus, scheduleStateDir } from '../../src/schedule/service.js';
import { launchBrowser, NO_BROWSER, pageErrors, startUi, until } from '../helpers/browser.js';
import { pipelineRepo, startCli } from '../helpers/repo.js';

test('the overview says whether etl schedule runs here, its next tick, and the ticks it skipped or could not start, with why', {
  skip: NO_BROWSER,
  timeout: 90_000,
}, async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: { hourly: { schedule: '0 * * * *', steps: [{ module_name: 'ok' }] } },
  });
  const { url } = await startUi(t, repo);
  const page = await (await launchBrowser(t)).newPage({ viewport: { width: 390, height: 844 } });
  const errors = pageErrors(page);
  await page.goto(url);
  await page.waitForSelector('section.scheduler');
  assert.match(
    (await page.textContent('section.scheduler')) ?? '',
    /not running: no daemon has run for this repository/,
  );

  const daemon = startCli(['schedule'], { cwd: repo });
  t.after(() => daemon.child.kill('SIGKILL'));
  await daemon.line(/scheduled sequences?,/);
  await page.reload();
  await page.waitForSelector('[data-scheduled="hourly"] .next-tick');
  assert.match((await page.textContent('section.scheduler')) ?? '', new RegExp(`running, pid ${daemon.child.pid} on `));
  const next = (await readStatus(repo)).sequences.hourly!.next!;
  assert.equal(await page.getAttribute('[data-scheduled="hourly"] .next-tick time', 'datetime'), next);
  daemon.child.kill('SIGTERM');
  assert.equal((await daemon.done).code, 0);

  // What a daemon that has stopped left in its status file: a tick skipped, one that could not start.
  const status = await readStatus(repo);
  status.sequences.hourly!.ticks.push({
    tick: '2026-12-01T09:00:00.000Z',
    outcome: 'skipped: the run before is still going',
  });
  status.sequences.hourly!.last = {
    tick: '2026-12-01T10:00:00.000Z',
    status: 'failed',
    error: 'etl_sequences/hourly.json:1:1: invalid JSON',
    finished_at: '2026-12-01T10:00:01.000Z',
  };
  writeFileSync(join(scheduleStateDir(repo), 'status.json'), JSON.stringify(status));
  await page.reload();
  await page.waitForSelector('[data-scheduled="hourly"] .skipped-tick');
  const said = (await page.textContent('section.scheduler')) ?? '';
  assert.match(said, /not running \(last: pid \d+ on .*, stopped /);
  assert.equal(await page.locator('.next-tick').count(), 0, 'no next tick from a daemon that is not running');
  assert.match(
    (await page.textContent('[data-scheduled="hourly"] .skipped-tick')) ?? '',
    /^skipped the tick of .+: the run before is still going$/,
  );
  assert.match(
    (await page.textContent('[data-scheduled="hourly"] .not-started')) ?? '',
    /^the tick of .+ could not start: etl_sequences\/hourly\.json:1:1: invalid JSON$/,
  );
  assert.deepEqual(errors, []);
});

async function readStatus(repo: string): Promise<DaemonStatus> {
  const path = join(scheduleStateDir(repo), 'status.json');
  let status: DaemonStatus | undefined;
  await until(async () => {
    try {
      status = JSON.parse(readFileSync(path, 'utf8')) as DaemonStatus;
      return true;
    } catch {
      return false;
    }
  });
  return status!;
}
