import type { TestContext } from 'node:test';
import { validate } from '../../src/definitions/validate.js';
import { LedgerStore } from '../../src/ledger/store.js';
import { startUiServer, type UiOptions } from '../../src/ui/server.js';

/**
 * etl ui's server in this process, on a free port, over `repo`'s ledger and definitions (as
 * `options` says otherwise); closed when the test ends. Its URL.
 */
export async function uiServerOn(t: TestContext, repo: string, options: Partial<UiOptions> = {}): Promise<string> {
  const { server, url } = await startUiServer({
    repo,
    store: new LedgerStore(repo),
    port: 0,
    now: () => new Date(),
    definitions: async () => (await validate({ repo })).definitions,
    ...options,
  });
  t.after(() => server.close());
  return url;
}
