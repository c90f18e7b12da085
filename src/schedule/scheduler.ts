// The scheduler of `etl schedule`: fires every scheduled sequence at the ticks nextTick gives
// (the one cron semantics of the product: `etl list` shows them, `etl due` judges them), runs
// each through `launch` (a child process in the daemon), never two runs of one sequence at once
// (a tick that comes while its sequence runs is skipped, and said so), at most `maxParallel`
// runs at a time (the others wait in the order of their ticks). Time comes from `clock`, so
// tests drive it without waiting. It knows nothing of processes, files or signals.
import { parseCron, type Cron } from '../definitions/cron.js';
import type { Definitions } from '../definitions/model.js';
import { nextTick, previousTick } from './next-tick.js';

export interface Clock {
  now(): number;
  setTimeout(fire: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fire, ms) => setTimeout(fire, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * A clock that runs `speed` times faster than real time from `start` (tests only, through
 * ETL_TEST_CLOCK="2026-12-01T10:00:30Z,60": a minute a second, so that a real daemon fires a
 * "* * * * *" schedule every second).
 */
export function acceleratedClock(start: number, speed: number): Clock {
  const origin = Date.now();
  return {
    now: () => start + (Date.now() - origin) * speed,
    setTimeout: (fire, ms) => setTimeout(fire, Math.ceil(ms / speed)),
    clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  };
}

/** A run started for a tick: how it ended, and a way to stop it (the runner records `cancelled`). */
export interface Launched {
  done: Promise<{ status: string; runId?: string; error?: string }>;
  /**
   * When all that the run started has ended: after `done`, telling webhooks or GitHub about
   * the run may go on. That holds neither the sequence nor a slot, only a stop, within its grace.
   */
  ended?: Promise<unknown>;
  /** The run's id, as soon as the run has one (undefined if it never gets one). */
  runId?: Promise<string | undefined>;
  cancel(): void;
}

export type CatchUp = 'none' | 'last' | 'all';

/** Missed ticks run by --catchup all, at most, per sequence; older ones are said and dropped. */
export const MAX_CATCH_UP = 10;
/** The timer is armed at most this far ahead: a machine that slept is noticed within it. */
const MAX_SLEEP_MS = 60_000;
/** Ticks that came while stopping recorded per sequence, at most (a long grace, a frequent schedule). */
const MAX_STOPPING_TICKS = 100;
/** Ticks kept per sequence in the status (skipped and run). */
const TICKS_KEPT = 20;

export type DaemonEvent =
  | { event: 'tick'; sequence: string; tick: string; catch_up?: boolean }
  | { event: 'start'; sequence: string; tick: string; early?: boolean }
  | { event: 'end'; sequence: string; tick: string; status: string; run_id?: string; error?: string }
  | { event: 'skip'; sequence: string; tick: string; reason: string }
  /** Something to set right that did not stop the tick (another daemon's clock runs ahead). */
  | { event: 'warning'; sequence: string; tick: string; message: string }
  | {
      event: 'reload';
      sequences: number;
      /** Every sequence file that does not validate: those whose old schedule is kept, then the others. */
      errors: string[];
      kept: string[];
      not_scheduled: string[];
    }
  | { event: 'stop'; running: number; grace_ms: number }
  /** The daily retention of the sequences that say retention: (etl schedule --commit). */
  | { event: 'prune'; sequences: number; removed: number; kept: number; commit?: string; error?: string };

export interface SequenceStatus {
  schedule: string;
  timezone: string;
  next: string | null;
  running: { tick: string; run_id?: string } | null;
  last: { tick: string; status: string; run_id?: string; error?: string; finished_at: string } | null;
  /** Why the sequence's definition is not used now (an edit that does not validate): its old schedule is. */
  error: string | null;
  /** The latest warning about its ticks (a claim from a clock running ahead), if any. */
  warning?: string | null;
  ticks: Array<{ tick: string; outcome: string }>;
}

/** Whether this daemon may run a tick: another machine's daemon may have taken it. `notes`: warnings to log. */
export type ClaimAnswer = ({ won: true } | { won: false; reason: string }) & { notes?: string[] };

export interface SchedulerOptions {
  clock?: Clock;
  /**
   * Starts a tick's run. `early`: started up to `lead` ms before its tick, the run waits for
   * the tick itself (so that starting a process and reading the definitions happen before it).
   */
  launch(sequence: string, tick: Date, early?: boolean): Launched;
  /** How long before a tick its run may be started, to wait for it (0: at the tick). */
  lead?: number;
  /** Asked before each run (several daemons, one remote); without it every tick is this daemon's. */
  claim?(sequence: string, tick: Date): Promise<ClaimAnswer>;
  /** The newest tick a whole run of the sequence was for, from the ledger (catch-up is judged by it). */
  lastRunTick(sequence: string): number | undefined;
  maxParallel?: number;
  catchUp?: CatchUp;
  log(event: DaemonEvent): void;
  /** Called after each change of state: the daemon writes the status file. */
  changed?(status: Record<string, SequenceStatus>): void;
}

interface Scheduled {
  name: string;
  schedule: string;
  timezone: string;
  /** What a tick does while a run of the sequence goes on (its `concurrency`). */
  concurrency: 'skip' | 'queue' | 'cancel_previous';
  cron: Cron;
  next: number | undefined;
  error: string | null;
  status: SequenceStatus;
}

export class Scheduler {
  private readonly clock: Clock;
  private readonly maxParallel: number;
  private readonly sequences = new Map<string, Scheduled>();
  private readonly running = new Map<string, { done: Promise<unknown>; cancel(): void; tick: string }>();
  private readonly queue: Array<{ name: string; tick: number }> = [];
  /** Runs that are done but whose process still tells about them (a slow webhook). */
  private readonly lingering = new Set<{ cancel(): void }>();
  /** Called when a run or a lingering process ends: stop() waits for none to be left. */
  private waiters: Array<() => void> = [];
  /** Per sequence, the tick whose early start was decided (started or not): asked once a tick. */
  private readonly early = new Map<string, { tick: number; started: boolean; tickLogged?: boolean }>();
  private timer: unknown;
  private stopping = false;
  /** Past the grace (or a second Ctrl-C): whatever is still going, or starts lingering, is stopped. */
  private cancelling = false;

  constructor(private readonly options: SchedulerOptions) {
    this.clock = options.clock ?? systemClock;
    this.maxParallel = Math.max(1, options.maxParallel ?? 2);
  }

  /**
   * Takes the definitions (at start, and at each reload). A sequence whose file no longer
   * validates (`invalid`: name -> located error) keeps the schedule it had; one removed, or
   * whose schedule was removed, is no longer fired. Running runs are never touched.
   */
  load(definitions: Definitions, invalid: Map<string, string> = new Map()): void {
    const now = this.clock.now();
    const seen = new Set<string>();
    for (const sequence of definitions.sequences.values()) {
      if (sequence.schedule === undefined) continue;
      const cron = parseCron(sequence.schedule).cron;
      if (!cron) continue;
      seen.add(sequence.name);
      const timezone = sequence.timezone ?? 'UTC';
      const kept = this.sequences.get(sequence.name);
      const same = kept && kept.schedule === sequence.schedule && kept.timezone === timezone;
      const entry: Scheduled = {
        name: sequence.name,
        schedule: sequence.schedule,
        timezone,
        concurrency: sequence.concurrency ?? 'skip',
        cron,
        next: same ? kept.next : nextTick(cron, new Date(now), timezone)?.getTime(),
        error: null,
        status: {
          ...(kept?.status ?? emptyStatus(sequence.schedule, timezone)),
          schedule: sequence.schedule,
          timezone,
          error: null,
        },
      };
      this.sequences.set(sequence.name, entry);
    }
    for (const [name, entry] of this.sequences) {
      if (seen.has(name)) continue;
      const error = invalid.get(name);
      if (error === undefined) this.sequences.delete(name);
      else {
        entry.error = error;
        entry.status.error = error;
      }
    }
    // A sequence that does not validate has an old schedule kept only if it was scheduled before.
    const kept = [...invalid].filter(([name]) => this.sequences.has(name)).map(([, error]) => error);
    const notScheduled = [...invalid].filter(([name]) => !this.sequences.has(name)).map(([, error]) => error);
    this.options.log({
      event: 'reload',
      sequences: this.sequences.size,
      errors: [...kept, ...notScheduled],
      kept,
      not_scheduled: notScheduled,
    });
    this.arm();
  }

  /** Runs what downtime missed, as --catchup says, judged from the ledger. */
  catchUp(): void {
    const policy = this.options.catchUp ?? 'none';
    if (policy === 'none') return;
    const now = this.clock.now();
    for (const entry of [...this.sequences.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const since = this.options.lastRunTick(entry.name);
      // Never run: nothing was missed (a new sequence waits for its first tick).
      if (since === undefined) continue;
      // Walking back from now: the missed ticks, newest first, at most one more than kept.
      const missed: number[] = [];
      const keep = policy === 'last' ? 1 : MAX_CATCH_UP;
      for (let at = previousTick(entry.cron, new Date(now), entry.timezone); at && at.getTime() > since; ) {
        missed.push(at.getTime());
        if (missed.length > keep) break;
        at = previousTick(entry.cron, new Date(at.getTime() - 1), entry.timezone);
      }
      if (missed.length === 0) continue;
      const ticks = missed.slice(0, keep).reverse();
      if (policy === 'all' && missed.length > keep)
        this.options.log({
          event: 'skip',
          sequence: entry.name,
          tick: new Date(missed[keep]!).toISOString(),
          reason: `catch-up runs the last ${MAX_CATCH_UP} missed ticks only: this one and older ones are not run`,
        });
      for (const tick of ticks) this.enqueue(entry, tick, true);
    }
    this.drain();
  }

  /** Stops firing; running runs end by themselves, or are cancelled after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    for (const waiting of this.queue.splice(0)) this.skip(waiting.name, waiting.tick, 'the scheduler is stopping');
    // Runs started early that still wait for their tick are not begun.
    const now = this.clock.now();
    for (const run of this.running.values()) if (Date.parse(run.tick) > now) run.cancel();
    this.options.log({ event: 'stop', running: this.running.size, grace_ms: graceMs });
    const quiet = this.quiet();
    let timer: unknown;
    const late = new Promise<void>((resolve) => {
      timer = this.clock.setTimeout(resolve, graceMs);
    });
    await Promise.race([quiet, late]);
    this.clock.clearTimeout(timer);
    this.cancelAll();
    await quiet;
    this.recordTicksWhileStopping();
  }

  /**
   * The ticks that came while it stopped (the timer no longer fires them): each is recorded
   * as not run, and why, rather than nowhere. A tick whose run was started early has its own end.
   */
  private recordTicksWhileStopping(): void {
    const now = this.clock.now();
    for (const entry of this.sequences.values()) {
      const early = this.early.get(entry.name);
      const ticks: number[] = [];
      for (let at = entry.next; at !== undefined && at <= now; ) {
        if (!(early?.started && early.tick === at)) ticks.push(at);
        if (ticks.length > MAX_STOPPING_TICKS) break;
        at = nextTick(entry.cron, new Date(at), entry.timezone)?.getTime();
      }
      entry.next = undefined;
      for (const [i, tick] of ticks.slice(0, MAX_STOPPING_TICKS).entries())
        this.skip(
          entry.name,
          tick,
          i === MAX_STOPPING_TICKS - 1 && ticks.length > MAX_STOPPING_TICKS
            ? `came while the scheduler was stopping (within its grace): not run; later ones too, not listed`
            : 'came while the scheduler was stopping (within its grace): not run',
        );
    }
  }

  /** Cancels every running run at once, and stops telling about those done (a second Ctrl-C, or the grace is over). */
  cancelAll(): void {
    this.cancelling = true;
    for (const run of this.running.values()) run.cancel();
    for (const process of this.lingering) process.cancel();
  }

  /** Resolves once no run is going and no process of a done run is left. */
  private async quiet(): Promise<void> {
    while (this.running.size > 0 || this.lingering.size > 0)
      await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  private changedRuns(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  get status(): Record<string, SequenceStatus> {
    return Object.fromEntries([...this.sequences].map(([name, entry]) => [name, entry.status]));
  }

  private arm(): void {
    if (this.stopping) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    const lead = this.options.lead ?? 0;
    // Each sequence wakes the timer at its tick, and `lead` before it to start its run early.
    const wakes = [...this.sequences.values()]
      .filter((s) => s.next !== undefined)
      .map((s) => (this.early.get(s.name)?.tick === s.next ? s.next! : s.next! - lead));
    for (const entry of this.sequences.values())
      entry.status.next = entry.next === undefined ? null : new Date(entry.next).toISOString();
    this.options.changed?.(this.status);
    if (wakes.length === 0) return;
    const wait = Math.min(MAX_SLEEP_MS, Math.max(0, Math.min(...wakes) - this.clock.now()));
    this.timer = this.clock.setTimeout(() => this.fire(), wait);
  }

  /** Every sequence whose tick has come: its latest passed tick is run (or skipped). */
  private fire(): void {
    this.timer = undefined;
    const now = this.clock.now();
    const due = [...this.sequences.values()]
      .filter((entry) => entry.next !== undefined && entry.next <= now)
      .map((entry) => ({ entry, tick: previousTick(entry.cron, new Date(now), entry.timezone)!.getTime() }))
      .sort((a, b) => a.tick - b.tick || (a.entry.name < b.entry.name ? -1 : 1));
    for (const { entry, tick } of due) {
      // Ticks passed while the machine slept (or the clock jumped): only the latest one runs.
      if (entry.next! < tick)
        this.skip(entry.name, entry.next!, 'missed: the machine slept or the clock jumped; the latest tick runs');
      entry.next = nextTick(entry.cron, new Date(now), entry.timezone)?.getTime();
      const early = this.early.get(entry.name);
      this.early.delete(entry.name);
      // An early run that ended before this timer fired (a late timer) logged its tick already.
      if (!(early?.tickLogged && early.tick === tick))
        this.options.log({ event: 'tick', sequence: entry.name, tick: new Date(tick).toISOString() });
      // Its run was started early and waits for this very tick.
      if (early?.started && early.tick === tick) continue;
      this.tickWhileBusy(entry, tick);
    }
    this.drain();
    this.startEarly(now);
    this.arm();
  }

  /**
   * Starts, `lead` before their tick, the runs of sequences that are idle then, while there is
   * room: each waits for its tick. A sequence still running then is judged at the tick.
   */
  private startEarly(now: number): void {
    const lead = this.options.lead ?? 0;
    if (lead <= 0 || this.stopping) return;
    const coming = [...this.sequences.values()]
      .filter(
        (e) => e.next !== undefined && e.next > now && e.next - lead <= now && this.early.get(e.name)?.tick !== e.next,
      )
      .sort((a, b) => a.next! - b.next! || (a.name < b.name ? -1 : 1));
    for (const entry of coming) {
      const idle = !this.running.has(entry.name) && !this.queue.some((q) => q.name === entry.name);
      const room = this.running.size < this.maxParallel && this.queue.length === 0;
      this.early.set(entry.name, { tick: entry.next!, started: idle && room });
      if (idle && room) this.start(entry.name, entry.next!, true);
    }
  }

  /**
   * One run of a sequence at a time. A tick that comes while one runs or waits: skipped (the
   * default), queued behind it (queue: one waits at most), or it cancels the one running and
   * any waiting, then waits for its end (cancel_previous).
   */
  private tickWhileBusy(entry: Scheduled, tick: number): void {
    const running = this.running.get(entry.name);
    const waiting = this.queue.filter((q) => q.name === entry.name);
    if (!running && waiting.length === 0) this.enqueue(entry, tick, false);
    else if (entry.concurrency === 'skip') this.skip(entry.name, tick, 'still running from an earlier tick');
    else if (entry.concurrency === 'queue') {
      if (waiting.length > 0) this.skip(entry.name, tick, 'a tick of it already waits for the run going on');
      else this.enqueue(entry, tick, false);
    } else {
      for (const old of waiting)
        this.skip(entry.name, old.tick, 'replaced by a newer tick (concurrency cancel_previous)');
      this.queue.splice(0, this.queue.length, ...this.queue.filter((q) => q.name !== entry.name));
      running?.cancel();
      this.enqueue(entry, tick, false);
    }
  }

  private enqueue(entry: Scheduled, tick: number, catchUp: boolean): void {
    if (catchUp)
      this.options.log({ event: 'tick', sequence: entry.name, tick: new Date(tick).toISOString(), catch_up: true });
    this.queue.push({ name: entry.name, tick });
    this.queue.sort((a, b) => a.tick - b.tick);
  }

  /** Starts waiting runs, oldest tick first, while there is room and their sequence is not running. */
  private drain(): void {
    for (let i = 0; i < this.queue.length && this.running.size < this.maxParallel && !this.stopping; ) {
      const waiting = this.queue[i]!;
      if (this.running.has(waiting.name)) {
        i++; // a catch-up tick waits for its sequence's run before it
        continue;
      }
      this.queue.splice(i, 1);
      this.start(waiting.name, waiting.tick);
    }
  }

  private start(name: string, tickAt: number, early = false): void {
    const tick = new Date(tickAt).toISOString();
    let cancelled = false;
    let launched: Launched | undefined;
    // The tick is this sequence's running one from here on, claim included, so no other
    // tick of it starts meanwhile.
    const done = (async (): Promise<{ status: string; runId?: string; error?: string } | { skipped: string }> => {
      if (this.options.claim) {
        const claim = await this.options
          .claim(name, new Date(tickAt))
          .catch((error: unknown): ClaimAnswer => ({ won: false, reason: errorText(error) }));
        for (const message of claim.notes ?? []) this.warn(name, tick, message);
        if (!claim.won) return { skipped: claim.reason };
        if (cancelled) return { skipped: 'the scheduler is stopping' };
      }
      try {
        launched = this.options.launch(name, new Date(tickAt), early);
      } catch (error) {
        return { status: 'failed', error: errorText(error) };
      }
      const entry = this.sequences.get(name);
      if (entry) entry.status.running = { tick };
      // The run's id, once the run has it: etl status names it.
      void launched.runId?.then((runId) => {
        const current = this.sequences.get(name)?.status;
        if (!runId || current?.running?.tick !== tick || !this.running.has(name)) return;
        current.running = { tick, run_id: runId };
        this.options.changed?.(this.status);
      });
      this.options.log({ event: 'start', sequence: name, tick, ...(early ? { early } : {}) });
      this.options.changed?.(this.status);
      return launched.done.catch((error: unknown) => ({ status: 'failed', error: errorText(error) }));
    })();
    this.running.set(name, {
      done,
      cancel: () => {
        cancelled = true;
        launched?.cancel();
      },
      tick,
    });
    void done.then((result) => {
      this.running.delete(name);
      // A run started early may end before the timer fires at its tick: its tick line comes first.
      const waited = this.early.get(name);
      if (early && waited?.tick === tickAt && !waited.tickLogged && !('skipped' in result)) {
        waited.tickLogged = true;
        this.options.log({ event: 'tick', sequence: name, tick });
      }
      // Its process may still be telling about it: that holds no slot and not the sequence.
      if (launched?.ended) {
        const lingering = { cancel: () => launched?.cancel() };
        this.lingering.add(lingering);
        if (this.cancelling) lingering.cancel();
        void launched.ended.then(() => {
          this.lingering.delete(lingering);
          this.changedRuns();
        });
      }
      this.changedRuns();
      const current = this.sequences.get(name);
      if ('skipped' in result) {
        this.skip(name, tickAt, result.skipped);
      } else {
        if (current) {
          current.status.running = null;
          current.status.last = {
            tick,
            status: result.status,
            ...(result.runId ? { run_id: result.runId } : {}),
            ...(result.error ? { error: result.error } : {}),
            finished_at: new Date(this.clock.now()).toISOString(),
          };
          remember(current.status, tick, result.status);
        }
        this.options.log({
          event: 'end',
          sequence: name,
          tick,
          status: result.status,
          ...(result.runId ? { run_id: result.runId } : {}),
          ...(result.error ? { error: result.error } : {}),
        });
      }
      this.drain();
      this.options.changed?.(this.status);
    });
  }

  private warn(name: string, tick: string, message: string): void {
    const entry = this.sequences.get(name);
    if (entry) entry.status.warning = message;
    this.options.log({ event: 'warning', sequence: name, tick, message });
  }

  private skip(name: string, tick: number, reason: string): void {
    const iso = new Date(tick).toISOString();
    const entry = this.sequences.get(name);
    if (entry) remember(entry.status, iso, `skipped: ${reason}`);
    this.options.log({ event: 'skip', sequence: name, tick: iso, reason });
    this.options.changed?.(this.status);
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function emptyStatus(schedule: string, timezone: string): SequenceStatus {
  return { schedule, timezone, next: null, running: null, last: null, error: null, ticks: [] };
}

function remember(status: SequenceStatus, tick: string, outcome: string): void {
  status.ticks.push({ tick, outcome });
  if (status.ticks.length > TICKS_KEPT) status.ticks.shift();
}
