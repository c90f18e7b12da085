// What the browser tests share: where Debian's chromium is, and a wait on the page.
import { existsSync } from 'node:fs';

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
