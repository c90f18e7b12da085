// What the browser tests share: where Debian's chromium is, a wait on the page, and `etl ui`
// with a browser to look at it.
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { type RunningCli, startCli } from './repo.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** A test's `skip`: why it cannot run here, or false. */
export const NO_BROWSER = !existsSync(CHROMIUM) && `no browser at ${CHROMIUM} (.ci/run installs Debian's chromium)`;

/** Resolves once the condition holds; fails after 15 s. */
export async function until(condition: () => Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + 15_000; !(await condition()); ) {
    if (Date.now() > deadline) throw new Error('the page did not change in 15 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Debian's chromium, closed when the test ends. */
export async function launchBrowser(t: TestContext): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.after(() => browser.close());
  return browser;
}

/** `etl ui` on a free port in `repo`, stopped when the test ends; `url` carries the token with --allow-run. */
export async function startUi(
  t: TestContext,
  repo: string,
  args: string[] = [],
): Promise<{ url: string; server: RunningCli }> {
  const server = startCli(['ui', '--port', '0', ...args], { cwd: repo });
  t.after(() => server.child.kill('SIGTERM'));
  const url = /(http:\/\/\S+)/.exec(await server.line(/^etl ui: serving/))![1]!;
  return { url, server };
}

/** The page's script errors and refused loads (a CSP violation is one), gathered as they come. */
export function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
  return errors;
}
