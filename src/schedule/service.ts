// What `etl schedule` needs around its scheduler: one daemon per repository (a lock with
// stale detection, as the run lock), the status file `etl status` reads, the definitions as
// the daemon sees them (with the located error of each sequence that stopped validating), and
// each tick's run as `etl run` in a child process of its own (a crashing module or runner
// never takes the daemon down).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Definitions, SEQUENCES_DIR } from '../definitions/model.js';
import { validate } from '../definitions/validate.js';
import { EtlError } from '../errors.js';
import { writeJsonAtomic } from '../ledger/atomic.js';
import { gitDirOf } from '../git/git-dir.js';
import { isAlive, type LockOwner, readLock, releaseIfMine, tryLock } from '../lock-file.js';
import type { Launched, SequenceStatus } from './scheduler.js';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

/** Where the daemon keeps its lock and status: inside the git directory (never committed), else .etl/. */
export function scheduleStateDir(repo: string): string {
  const gitDir = gitDirOf(repo);
  return gitDir ? join(gitDir, 'etl', 'schedule') : join(repo, '.etl', 'schedule');
}

export interface DaemonLock extends LockOwner {
  started_at: string;
  repo: string;
}

/** Takes the repository's daemon lock, or says who holds it. */
export function acquireDaemonLock(repo: string): { info: DaemonLock; release(): void } {
  const path = join(scheduleStateDir(repo), 'daemon.lock');
  const mine: DaemonLock = { pid: process.pid, host: hostname(), started_at: new Date().toISOString(), repo };
  const attempt = tryLock(path, mine);
  if (!attempt.held) {
    const holder = attempt.holder;
    throw new EtlError(
      'locked',
      `etl schedule is already running for this repository (pid ${holder.pid} on ${holder.host}, since ${holder.started_at}); the lock is ${path}`,
    );
  }
  return { info: mine, release: () => releaseIfMine(path, { ...mine, run_id: undefined }) };
}

export interface DaemonStatus {
  pid: number;
  host: string;
  started_at: string;
  updated_at: string;
  stopped_at?: string;
  options: {
    max_parallel: number;
    catch_up: string;
    commit: boolean;
    push: boolean;
    /** The remote each tick is claimed on (with --push), so several daemons share one ledger. */
    claims_on?: string | null;
    /** Where its Prometheus metrics are served (--metrics), or null. */
    metrics?: string | null;
  };
  sequences: Record<string, SequenceStatus>;
}

export function writeStatus(repo: string, status: DaemonStatus): void {
  writeJsonAtomic(join(scheduleStateDir(repo), 'status.json'), status);
}

/** The daemon's last status, and whether the process that wrote it still holds the lock. */
export function readStatus(repo: string): { status?: DaemonStatus; alive: boolean; lock?: DaemonLock } {
  const dir = scheduleStateDir(repo);
  const lock = readLock<DaemonLock>(join(dir, 'daemon.lock'));
  let status: DaemonStatus | undefined;
  try {
    status = JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8')) as DaemonStatus;
  } catch {
    status = undefined;
  }
  return { status, alive: lock !== undefined && isAlive(lock), lock };
}

/**
 * The definitions to schedule, and for each sequence file that is there but did not load the
 * first located error that left it out (its own, else the first of another file, such as a
 * module of modules.json it uses): the daemon keeps that sequence's old schedule.
 */
export async function loadForSchedule(
  repo: string,
  env: NodeJS.ProcessEnv,
): Promise<{ definitions: Definitions; invalid: Map<string, string> }> {
  const report = await validate({ repo, env });
  const errors = report.issues
    .filter((issue) => issue.severity === 'error')
    .map((issue) => ({ file: issue.file, text: `${issue.file}:${issue.line}:${issue.column}: ${issue.message}` }));
  const invalid = new Map<string, string>();
  let files: string[] = [];
  try {
    files = readdirSync(join(repo, SEQUENCES_DIR));
  } catch {
    // no etl_sequences/: nothing to keep
  }
  for (const file of files) {
    const name = /^(.+)\.(?:json|ya?ml)$/.exec(file)?.[1];
    if (!name || report.definitions.sequences.has(name)) continue;
    const own = errors.find((e) => e.file === `${SEQUENCES_DIR}/${file}`);
    invalid.set(name, (own ?? errors[0])?.text ?? `${SEQUENCES_DIR}/${file} does not validate`);
  }
  return { definitions: report.definitions, invalid };
}

export interface LaunchOptions {
  repo: string;
  env: NodeJS.ProcessEnv;
  /** Flags given to every run: --commit, --push, --remote R, --branch B. */
  runArgs: string[];
  /** What starts the runs, recorded as their trigger kind. */
  trigger: 'schedule' | 'backfill';
  /** Where a run's own output goes (the daemon's log shows only its start and end). */
  onOutput?(sequence: string, text: string): void;
}

/**
 * Runs `etl run SEQUENCE --tick TICK --trigger KIND --json` in a process of its own. The run is done when
 * its record is printed: the process may live on to tell webhooks or GitHub about it
 * (`ended`), which holds neither its sequence nor a slot.
 */
export function launchRun(options: LaunchOptions, sequence: string, tick: Date, early = false): Launched {
  const args = [
    CLI,
    '--repo',
    options.repo,
    'run',
    sequence,
    '--tick',
    tick.toISOString(),
    '--trigger',
    options.trigger,
    ...(early ? ['--start-at', tick.toISOString()] : []),
    '--json',
    ...options.runArgs,
  ];
  // A process group of its own: a Ctrl-C at the daemon's terminal is the daemon's to handle (grace, then cancel).
  const child = spawn(process.execPath, args, {
    cwd: options.repo,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  let cancelled = false;
  let finish!: (result: { status: string; runId?: string; error?: string }) => void;
  const done = new Promise<{ status: string; runId?: string; error?: string }>((resolve) => {
    finish = resolve;
  });
  const fromRecord = (record: { id?: string; status?: string; error?: string | null }) => {
    if (record.status)
      finish({ status: record.status, runId: record.id, ...(record.error ? { error: record.error } : {}) });
    return Boolean(record.status);
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    if (stdout.length < 4 * 1024 * 1024) stdout += chunk;
    // The record is printed with an indent of 2: its last line, and only that, is a lone "}".
    if (stdout.endsWith('\n}\n')) fromRecord(parseRecord(stdout));
  });
  // The run's id, from the first line etl run prints once the run has one ("etl run SEQUENCE ID").
  let head = '';
  let told: (runId: string | undefined) => void;
  const runId = new Promise<string | undefined>((resolve) => {
    told = resolve;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4096);
    if (head.length < 64 * 1024) {
      head += chunk;
      const id = RUN_LINE.exec(head.replace(ANSI, ''))?.[1];
      if (id) told(id);
    }
    options.onOutput?.(sequence, chunk);
  });
  const ended = new Promise<void>((resolve) => {
    child.on('error', (error) => {
      finish({ status: 'failed', error: `cannot start etl run: ${error.message}` });
      resolve();
    });
    child.on('close', (code, signal) => {
      resolve();
      told(parseRecord(stdout).id);
      // no record: the run did not start (invalid definitions, locked, killed)
      if (fromRecord(parseRecord(stdout))) return;
      // What stopped it: the last error etl run printed (warnings may come after it), else its last line.
      const lines = stderr.trim().split('\n');
      const lastLine = lines.findLast((line) => / error: /.test(line)) ?? lines.at(-1) ?? '';
      if (code === 3) return finish({ status: 'skipped', error: lastLine || 'already running' });
      if (cancelled) return finish({ status: 'cancelled', error: 'cancelled before the run was recorded' });
      finish({ status: 'failed', error: lastLine || `etl run ended with ${signal ?? `exit code ${code}`}` });
    });
  });
  return {
    done,
    ended,
    runId,
    cancel: () => {
      cancelled = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}

const RUN_LINE = /^etl run \S+ (\d{8}T\d{9}Z-[0-9a-f]{8})$/m;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the escape sequences of colours
const ANSI = /\x1b\[[0-9;]*m/g;

function parseRecord(text: string): { id?: string; status?: string; error?: string | null } {
  try {
    const record = JSON.parse(text) as unknown;
    return record && typeof record === 'object' ? record : {};
  } catch {
    return {};
  }
}
