import { execFile } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/test/...). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = join(ROOT, 'dist/src/cli/main.js');

export function fixture(...parts: string[]): string {
  return join(ROOT, 'test/fixtures', ...parts);
}

export type FileSpec = string | Buffer | { content: string | Buffer; mode: number };

/** A temporary folder with the given files, removed when the test ends. */
export function tempRepo(t: TestContext, files: Record<string, FileSpec> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'etl-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFiles(dir, files);
  return dir;
}

export function writeFiles(dir: string, files: Record<string, FileSpec>): void {
  for (const [path, spec] of Object.entries(files)) {
    const full = join(dir, path);
    mkdirSync(dirname(full), { recursive: true });
    const { content, mode } = typeof spec === 'string' || Buffer.isBuffer(spec) ? { content: spec, mode: undefined } : spec;
    writeFileSync(full, content);
    if (mode !== undefined) chmodSync(full, mode);
  }
}

/** A copy of a fixture folder that a test may change. */
export function copyFixture(t: TestContext, name: string): string {
  const dir = tempRepo(t);
  cpSync(fixture(name), dir, { recursive: true });
  return dir;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `etl` bin as a child process. */
export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: options.cwd ?? ROOT, env: { ...process.env, NO_COLOR: '1', ...options.env } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
