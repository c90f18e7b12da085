import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    const { content, mode } =
      typeof spec === 'string' || Buffer.isBuffer(spec) ? { content: spec, mode: undefined } : spec;
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
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: options.cwd ?? ROOT, env: { ...process.env, NO_COLOR: '1', ...options.env } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * A pipeline repository in a temporary folder: modules.json, sequences, and the test
 * modules of test/fixtures/modules/ under modules/ (so `cmd` is "./modules/ok.sh").
 */
export function pipelineRepo(
  t: TestContext,
  definitions: {
    modules: Record<string, unknown>;
    sequences: Record<string, unknown>;
    files?: Record<string, FileSpec>;
  },
): string {
  const dir = tempRepo(t, definitions.files ?? {});
  cpSync(fixture('modules'), join(dir, 'modules'), { recursive: true });
  writeFiles(dir, {
    'modules.json': JSON.stringify(definitions.modules, null, 2),
    ...Object.fromEntries(
      Object.entries(definitions.sequences).map(([name, value]) => [
        `etl_sequences/${name}.json`,
        JSON.stringify(value, null, 2),
      ]),
    ),
  });
  return dir;
}

export interface RunningCli {
  child: ChildProcess;
  /** Resolves when stdout has printed a line matching the pattern. */
  line(pattern: RegExp): Promise<string>;
  /** Resolves with the exit code and all output once the process ends. */
  done: Promise<CliResult>;
}

/** Starts the real `etl` bin and lets the test wait for its output and its end. */
export function startCli(
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; detached?: boolean },
): RunningCli {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached, // a process group of its own
  });
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
    for (const waiter of [...waiters]) {
      const match = stdout.split('\n').find((l) => waiter.pattern.test(l));
      if (match !== undefined) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(match);
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return {
    child,
    line: (pattern) =>
      new Promise((resolve, reject) => {
        const match = stdout.split('\n').find((l) => pattern.test(l));
        if (match !== undefined) return resolve(match);
        waiters.push({ pattern, resolve });
        done.then((r) =>
          reject(new Error(`etl ended (${r.code}) before printing ${pattern}:\n${r.stdout}\n${r.stderr}`)),
        );
      }),
    done,
  };
}

/** Whether a process exists and is not a zombie waiting to be reaped. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // "pid (name) S ...": the state follows the parenthesised name.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Waits until the processes are gone, checking every 20 ms, for at most `ms`. */
export async function waitUntilGone(pids: number[], ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (pids.some(isRunning)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}
