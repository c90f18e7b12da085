// The daemon of `etl schedule`: the Scheduler wired to the world. It holds the repository's
// daemon lock, runs each tick as `etl run` in a process of its own, claims ticks on the remote
// (with --push, one claim at a time), logs every event (text or JSON) and keeps the tick log
// and the status file `etl status` reads, posts to webhooks about ticks whose run did not
// start, records as abandoned the runs a dead runner left (at each tick of their sequence),
// and reads the definitions again when their files change. Its caller wires signals
// to stop(), cancelRuns() and reload().
import { type FSWatcher, watch } from 'node:fs';
import { join } from 'node:path';
import { type Definitions, MODULES_FILE, SEQUENCES_DIR } from '../definitions/model.js';
import { EtlError } from '../errors.js';
import { pruneLedger } from '../ledger/retention/prune.js';
import { LedgerStore } from '../ledger/store.js';
import { NotStartedNotices } from '../notify/run-outcome.js';
import { claimer } from './claimer.js';
import { count, type LogFormat, logLine } from './daemon-log.js';
import { latestRunTick } from './due.js';
import { acceleratedClock, type CatchUp, type Clock, type DaemonEvent, Scheduler, systemClock } from './scheduler.js';
import {
  acquireDaemonLock,
  type DaemonStatus,
  launchRun,
  loadForSchedule,
  scheduleStateDir,
  writeStatus,
} from './service.js';
import { appendTick, tickEntry } from './tick-log.js';

/**
 * A tick's run is started this long before it and waits for it: starting Node, reading the
 * definitions and claiming the tick (some 0.3 to 1.2 s) happen before the tick, not after.
 */
const EARLY_START_MS = 5_000;
/** The sequences' retention is applied at start and then once a day. */
const RETENTION_EVERY_MS = 86_400_000;

export interface DaemonOptions {
  repo: string;
  env: NodeJS.ProcessEnv;
  maxParallel: number;
  catchUp: CatchUp;
  /** How long running runs (and the daemon's own webhook posts) have to end when stopping. */
  graceMs: number;
  logFormat: LogFormat;
  /** Flags given to every tick's `etl run`: --commit, --push, --remote, --branch, --webhook, --notify. */
  runArgs: string[];
  /** With --push: the remote each tick is claimed on first, so daemons sharing it run each tick once. */
  claimsOn?: string;
  /** Told about ticks whose run did not start (etl run, given --webhook in runArgs, tells about the others). */
  webhooks: string[];
  webhookTimeoutMs: number;
  /** Where the log goes, one line an event. */
  stdout: { write(text: string): unknown };
  /** Where the daemon's own troubles go (a webhook it could not tell). */
  stderr: { write(text: string): unknown };
  /** Served while the daemon runs (--metrics: its Prometheus endpoint). */
  endpoint?: DaemonEndpoint;
}

/** Something served beside the daemon: started with it, told each of its events, closed when it has stopped. */
export interface DaemonEndpoint {
  /** Resolves with where it is served, once it is; an EtlError when it cannot be (a port in use). */
  start(): Promise<string>;
  event(event: DaemonEvent): void;
  close(): Promise<void>;
}

export class Daemon {
  private readonly clock: Clock;
  private readonly lock: ReturnType<typeof acquireDaemonLock>;
  private readonly status: DaemonStatus;
  private scheduler?: Scheduler;
  private started = false;
  private stopAsked = false;
  private stopped?: () => void;
  private watchers: FSWatcher[] = [];
  private reloadTimer: NodeJS.Timeout | undefined;
  private definitions?: Definitions;
  private retentionTimer: unknown;
  /** The prune under way, waited for when stopping (it holds the git lock). */
  private pruning: Promise<void> = Promise.resolve();
  /** Webhook posts about ticks whose run did not start (etl run tells about the others). */
  private readonly notStarted: NotStartedNotices;

  /** Takes the repository's daemon lock: an EtlError `locked` says who holds it. */
  constructor(private readonly options: DaemonOptions) {
    this.clock = testClock(options.env.ETL_TEST_CLOCK) ?? systemClock;
    this.lock = acquireDaemonLock(options.repo);
    const { info } = this.lock;
    this.status = {
      pid: process.pid,
      host: info.host,
      started_at: info.started_at,
      updated_at: info.started_at,
      options: {
        max_parallel: options.maxParallel,
        catch_up: options.catchUp,
        commit: options.runArgs.includes('--commit'),
        push: options.claimsOn !== undefined,
        claims_on: options.claimsOn ?? null,
        metrics: null,
      },
      sequences: {},
    };
    this.notStarted = new NotStartedNotices(
      { urls: options.webhooks, timeoutMs: options.webhookTimeoutMs },
      (message) => options.stderr.write(`etl schedule: ${message}\n`),
    );
  }

  /** Whether stop() was asked (before the start is over, it stops the daemon once started). */
  get stopping(): boolean {
    return this.stopAsked;
  }

  /**
   * Starts scheduling and resolves once the daemon has stopped and given its lock back. Nothing
   * half-starts: a start-up that throws stops what it armed and gives the lock back.
   */
  async run(): Promise<void> {
    const { repo, env, endpoint } = this.options;
    let scheduler: Scheduler | undefined;
    let served: string | undefined;
    try {
      if (endpoint) this.status.options.metrics = served = await endpoint.start();
      const store = await LedgerStore.open(repo, { env });
      scheduler = this.scheduler = this.newScheduler(store, (sequence) => latestRunTick(store, sequence));
      await this.load();
      scheduler.catchUp();
      this.applyRetention(store);
    } catch (error) {
      await scheduler?.stop(0);
      await endpoint?.close();
      this.lock.release();
      throw error;
    }
    if (this.options.logFormat === 'text')
      this.options.stdout.write(
        `${new Date().toISOString()} etl schedule: ${count(Object.keys(scheduler.status).length, 'scheduled sequence')}, at most ${this.options.maxParallel} runs at a time; state in ${scheduleStateDir(repo)}${served ? `; metrics for Prometheus at ${served}` : ''}\n`,
      );
    this.watchDefinitions();
    const stopped = new Promise<void>((resolve) => {
      this.stopped = resolve;
    });
    this.started = true;
    if (this.stopAsked) this.beginStop();
    await stopped;
    // Its runs have ended (or were cancelled at the grace's end): nothing more to tell a scrape.
    await endpoint?.close();
    this.status.stopped_at = new Date().toISOString();
    this.save();
    this.lock.release();
  }

  /** No new runs; running ones get the grace to end, then are cancelled. */
  stop(): void {
    if (this.stopAsked) return;
    this.stopAsked = true;
    if (this.started) this.beginStop();
  }

  /** While stopping: cancels the runs and drops the daemon's own webhook posts at once. */
  cancelRuns(): void {
    if (!this.started || !this.stopAsked) return;
    this.scheduler?.cancelAll();
    void this.notStarted.drop();
  }

  /** Reads the definitions again soon (a burst of file changes makes one reload). */
  reload(): void {
    if (!this.started || this.stopAsked) return;
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => void this.load().catch(() => {}), 300);
  }

  private newScheduler(store: LedgerStore, lastRunTick: (sequence: string) => number | undefined): Scheduler {
    const { repo, env, runArgs, claimsOn } = this.options;
    const { host, pid } = this.lock.info;
    return new Scheduler({
      clock: this.clock,
      maxParallel: this.options.maxParallel,
      catchUp: this.options.catchUp,
      log: (event) => this.log(event),
      launch: (sequence, tick, early) => {
        // A tick is one of the moments a run left behind by a dead runner is recorded so.
        try {
          store.reap([sequence], 0);
        } catch {
          // a ledger that cannot be written now fails the run itself, which says why
        }
        return launchRun({ repo, env, runArgs, trigger: 'schedule' }, sequence, tick, early);
      },
      lead: EARLY_START_MS,
      // With --push the ledger is shared: each tick is claimed on the remote first, one claim at a time.
      ...(claimsOn !== undefined
        ? { claim: claimer({ repo, env, remote: claimsOn, host, pid, now: () => this.clock.now() }) }
        : {}),
      lastRunTick,
      changed: (sequences) => {
        this.status.sequences = sequences;
        this.save();
      },
    });
  }

  private async load(): Promise<void> {
    const { definitions, invalid } = await loadForSchedule(this.options.repo, this.options.env);
    this.definitions = definitions;
    this.scheduler?.load(definitions, invalid);
  }

  /**
   * Each sequence's retention:, now and once a day, when the ticks' runs are committed (--commit):
   * a run prunes its own sequence after it, and this ages out the sequences that run rarely.
   */
  private applyRetention(store: LedgerStore): void {
    if (!this.options.runArgs.includes('--commit') || this.stopAsked) return;
    const policies = [...(this.definitions?.sequences.values() ?? [])]
      .filter((sequence) => sequence.retention !== undefined)
      .map((sequence) => ({ sequence: sequence.name, policy: sequence.retention! }));
    const { repo, env } = this.options;
    const sequences = policies.length;
    if (sequences > 0)
      this.pruning = pruneLedger({ view: store.view, repo, policies, env }).then(
        (result) =>
          this.log({
            event: 'prune',
            sequences,
            removed: result.removed.length,
            kept: result.kept.length,
            ...(result.commits[0] ? { commit: result.commits[0].commit } : {}),
          }),
        (error: unknown) =>
          this.log({
            event: 'prune',
            sequences,
            removed: 0,
            kept: 0,
            error: (error as Error).message ?? String(error),
          }),
      );
    this.retentionTimer = this.clock.setTimeout(() => this.applyRetention(store), RETENTION_EVERY_MS);
  }

  private log(event: DaemonEvent): void {
    const now = new Date();
    this.options.stdout.write(logLine(event, this.options.logFormat, now));
    this.options.endpoint?.event(event);
    if (event.event === 'end') this.notStarted.tickEnded(event);
    const entry = tickEntry(event, now);
    try {
      if (entry) appendTick(this.options.repo, entry);
    } catch {
      // a tick log that cannot be written costs etl history --ticks a line, not the runs
    }
  }

  private save(): void {
    this.status.updated_at = new Date().toISOString();
    try {
      writeStatus(this.options.repo, this.status);
    } catch {
      // a status that cannot be written costs etl status its answer, not the runs
    }
  }

  /** Definitions read again when their files change (and on reload()). */
  private watchDefinitions(): void {
    const { repo } = this.options;
    this.watchers = [join(repo, SEQUENCES_DIR), join(repo, MODULES_FILE)].flatMap((path) => {
      try {
        return [watch(path, () => this.reload())];
      } catch {
        return []; // not there (yet): reload() still reads them
      }
    });
  }

  private beginStop(): void {
    for (const watcher of this.watchers) watcher.close();
    clearTimeout(this.reloadTimer);
    this.clock.clearTimeout(this.retentionTimer);
    // The daemon's own webhook posts get the same grace as the runs, at the same time.
    const { graceMs } = this.options;
    let graceTimer: unknown;
    const graceOver = new Promise<void>((over) => {
      graceTimer = this.clock.setTimeout(over, graceMs);
    });
    const told = Promise.race([this.notStarted.underWay(), graceOver]).then(() => {
      this.clock.clearTimeout(graceTimer);
      return this.notStarted.drop();
    });
    const stopped = () => this.stopped?.();
    Promise.all([this.scheduler?.stop(graceMs), told, this.pruning]).then(stopped, stopped);
  }
}

/** ETL_TEST_CLOCK="START,SPEED": the daemon's time starts at START and runs SPEED times faster (tests). */
function testClock(value: string | undefined): Clock | undefined {
  if (!value) return undefined;
  const [start, speed] = value.split(',');
  const at = Date.parse(start ?? '');
  if (Number.isNaN(at) || !(Number(speed) > 0))
    throw new EtlError('usage', `ETL_TEST_CLOCK is "START,SPEED" (2026-12-01T10:00:30Z,60), got "${value}"`);
  return acceleratedClock(at, Number(speed));
}
