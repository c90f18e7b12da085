import { readFileSync } from 'node:fs';

/** The version in package.json, recorded in every run as runner_version. */
export function readVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
