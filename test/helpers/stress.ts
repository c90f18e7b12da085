// Tests too long or too heavy for every `npm test` (a kill -9 at 24 instants, many pushers on
// one remote, two real daemons): `npm run stress` runs them, and CI runs both.
import { type TestContext, test } from 'node:test';

export const STRESS = process.env.ETL_STRESS === '1';

/** A stress test: named "stress: ..." (what `npm run stress` picks), skipped by `npm test`. */
export function stressTest(
  name: string,
  options: { timeout?: number },
  fn: (t: TestContext) => Promise<void>,
): Promise<void> {
  return test(`stress: ${name}`, { ...options, skip: STRESS ? false : 'a stress test: npm run stress runs it' }, fn);
}
