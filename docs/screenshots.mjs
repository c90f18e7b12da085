#!/usr/bin/env node
// Regenerates the README's screenshots of `etl ui`: a copy of the bundled example is run a few
// times (the last with its input missing, so that it fails), then the overview, the
// sequence's grid and the failed run are taken in Debian's chromium, light and dark.
//
//   npm run build && node docs/screenshots.mjs      (CHROMIUM_PATH if not /usr/bin/chromium)
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('../', import.meta.url));
const bin = join(root, 'dist/src/cli/main.js');
const out = join(root, 'docs/screenshots');
const work = mkdtempSync(join(tmpdir(), 'etl-screenshots-'));
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
  symlinkSync(join(root, 'node_modules'), join(work, 'node_modules')); // the loader's SQLite
  for (let i = 0; i < 6; i++) etl('run', 'air-quality');
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
  for (const scheme of ['light', 'dark']) {
    const page = await browser.newPage({ colorScheme: scheme, viewport: { width: 1100, height: 520 } });
    await page.goto(url);
    await page.waitForSelector('tr[data-sequence]');
    await page.screenshot({ path: join(out, `overview-${scheme}.png`) });
    await page.goto(`${url}sequences/air-quality`);
    await page.waitForSelector('tr[data-run]');
    await page.screenshot({ path: join(out, `sequence-${scheme}.png`) });
    await page.click('tr[data-run] a');
    await page.waitForSelector('tr[data-step]');
    const failed = page.locator('tr[data-step] button').first();
    await failed.click();
    await page.waitForSelector('pre.log');
    await page.screenshot({ path: join(out, `failed-run-${scheme}.png`) });
  }
  await browser.close();
  server.kill('SIGTERM');
  console.log(`screenshots in ${out}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
