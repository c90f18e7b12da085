import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { readVersion } from './version.js';

/**
 * What to report for a bug of ours (as changesets does): the version, the Node version, where
 * to report it, and the stack with the user's home and working folders replaced.
 */
export function internalErrorReport(error: unknown, cwd = process.cwd(), home = homedir()): string {
  let text = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
  for (const [path, alias] of [
    [cwd, '.'],
    [home, '~'],
  ] as const)
    if (path.length > 1) text = text.split(path).join(alias);
  const where = reportUrl();
  return (
    `etl: internal error (a bug in etl-ledger, not in your pipeline)\n` +
    `etl-ledger ${readVersion()}, Node ${process.version}, ${process.platform}\n` +
    `Please report it${where ? ` at ${where}` : ' to the etl-ledger issue tracker'} with this output:\n${text}\n`
  );
}

/** The issue tracker named in package.json ("bugs"), if any. */
function reportUrl(): string | undefined {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      bugs?: string | { url?: string };
    };
    return typeof pkg.bugs === 'string' ? pkg.bugs : pkg.bugs?.url;
  } catch {
    return undefined;
  }
}
