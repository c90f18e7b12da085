#!/usr/bin/env node
// Regenerates the README's screenshots of `etl ui`: a copy of the bundled example, in a git
// repository of its own, is run a few times, its transform's configuration is changed and
// committed, and it is run once more with its input missing (so that it fails, with a diff of
// its definitions against the run before). Every page is taken in Debian's chromium, light
// and dark, at a desktop's width and a phone's.
//
//   npm run build && node docs/screenshots.mjs      (CHROMIUM_PATH if not /usr/bin/chromium)
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('../', import.meta.url));
const bin = join(root, 'dist/src/cli/main.js');
const out = join(root, 'docs/screenshots');
const work = mkdtempSync(join(tmpdir(), 'etl-screenshots-'));
const git = (...args) => execFileSync('git', args, { cwd: work, stdio: 'ignore' });
const etl = (...args) => {
  try {
    execFileSync(process.execPath, [bin, ...args], { cwd: work, stdio: 'ignore' });
  } catch {
    // the failing run exits 1: it is wanted
  }
};

try {
  for (const part of ['modules.json', 'etl_sequences', 'modules', 'conf', 'data', 'schemas'])
    cpSync(join(root, part), join(work, part), { recursive: true });
  // As an install would have them: the loader's SQLite, and etl-ledger for its modules' helpers.
  mkdirSync(join(work, 'node_modules'));
  symlinkSync(join(root, 'node_modules/sql.js'), join(work, 'node_modules/sql.js'));
  symlinkSync(root, join(work, 'node_modules/etl-ledger'));
  writeFileSync(join(work, '.gitignore'), 'node_modules\nruns/*/.lock\nwork/\nout/\n');
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('-c', 'user.name=Data Team', '-c', 'user.email=data@example.org', 'commit', '-qm', 'Air quality pipeline');
  for (let i = 0; i < 6; i++) etl('run', 'air-quality');
  const conf = join(work, 'conf/transform.json');
  writeFileSync(conf, readFileSync(conf, 'utf8').replace('"SO2", "CO"', '"SO2"'));
  git('-c', 'user.name=Data Team', '-c', 'user.email=data@example.org', 'commit', '-qam', 'Leave CO out');
  rmSync(join(work, 'data/air_quality.csv'));
  etl('run', 'air-quality');
  const server = spawn(process.execPath, [bin, 'ui', '--port', '0'], { cwd: work, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve) =>
    server.stdout.on('data', (chunk) => {
      const found = /(http:\/\/\S+)/.exec(String(chunk));
      if (found) resolve(found[1]);
    }),
  );
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
  mkdirSync(out, { recursive: true });
  const shoot = async (page, name, full = false) => page.screenshot({ path: join(out, `${name}.png`), fullPage: full });
  for (const scheme of ['light', 'dark']) {
    for (const [size, viewport] of [
      ['', { width: 1100, height: 560 }],
      ['-phone', { width: 390, height: 844 }],
    ]) {
      const page = await browser.newPage({ colorScheme: scheme, viewport, deviceScaleFactor: size ? 2 : 1 });
      await page.goto(url);
      await page.waitForSelector('tr[data-sequence]');
      await shoot(page, `overview-${scheme}${size}`);
      await page.goto(`${url}board`);
      await page.waitForSelector('.card');
      await shoot(page, `board-${scheme}${size}`);
      await page.goto(`${url}sequences/air-quality`);
      await page.waitForSelector('tr[data-run]');
      await page.waitForSelector('.chart canvas');
      await shoot(page, `sequence-${scheme}${size}`, true);
      await page.click('tr[data-run] a');
      await page.waitForSelector('tr[data-step]');
      // The failed step's log is open from the start.
      await page.waitForSelector('pre.log');
      await page.click('button.show-definitions');
      await page.waitForSelector('pre.diff');
      await shoot(page, `failed-run-${scheme}${size}`, true);
      await page.close();
    }
  }
  await browser.close();
  server.kill('SIGTERM');
  console.log(`screenshots in ${out}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
