import { watch } from 'node:fs';
import { join } from 'node:path';
import { parseDuration } from '../definitions/duration.js';
import { MODULES_FILE, SEQUENCES_DIR } from '../definitions/model.js';
import { EtlError, ExitCode, exitCodeFor } from '../errors.js';
import { deliverWebhooks, notStartedPayload } from '../notify/webhook.js';
import { ledgerRoot, ledgerView } from '../ledger/ledger-branch.js';
import { reapAbandoned } from '../ledger/reap.js';
import { CLAIMS_KEPT, type ClaimOptions, claimTick } from '../schedule/claims.js';
import {
  acceleratedClock,
  type CatchUp,
  type ClaimAnswer,
  type Clock,
  type DaemonEvent,
  Scheduler,
  systemClock,
} from '../schedule/scheduler.js';
import { latestFullRunStart } from '../schedule/due.js';
import {
  acquireDaemonLock,
  type DaemonStatus,
  launchRun,
  loadForSchedule,
  scheduleStateDir,
  writeStatus,
} from '../schedule/service.js';
import type { Command } from './command.js';
import { appendTick, statusWithReason, tickEntry } from '../schedule/tick-log.js';
import { GIT_RUN_OPTIONS, gitRunArgs, parseWebhooks, WEBHOOK_OPTIONS } from './options.js';

const CATCH_UP: readonly string[] = ['none', 'last', 'all'];
/**
 * A tick's run is started this long before it and waits for it: starting Node, reading the
 * definitions and claiming the tick (some 0.3 to 1.2 s) happen before the tick, not after.
 */
const EARLY_START_MS = 5_000;

export const command: Command = {
  usage: `Usage: etl schedule [--commit] [--push [--remote R] [--branch B]] [--max-parallel 2]
                    [--catchup none|last|all] [--grace 30s] [--log-format text|json]
                    [--webhook URL]... [--notify]

Runs every sequence that has a "schedule", in its "timezone" (UTC when not given), at the
times etl list shows and etl due judges, until stopped: each tick's run is "etl run
SEQUENCE --tick TICK" in a process of its own (same records, locks, --commit and --push).
A tick that comes while its sequence still runs is skipped, and kept in etl status. One
daemon per repository. Definitions are read again when they change (and on SIGHUP); an edit
that does not validate keeps that sequence's old schedule, and says why. SIGTERM or SIGINT:
no new runs; running ones get --grace to end, then are cancelled; a second SIGINT cancels
them at once. Logs one line per tick, start, end, skip and reload on stdout.

Options:
  --commit, --push, --remote R, --branch B   given to every run (see etl run); with
                     --push each tick is first claimed on the remote (refs/etl/claims), so
                     daemons on several machines sharing it run each tick once
  --webhook URL, --webhook-timeout D, --notify   given to every run: a POST to URL (or a
                     GitHub issue, with GITHUB_TOKEN) when a run fails, and when its
                     sequence succeeds again
  --max-parallel N   runs of different sequences at the same time (default 2)
  --catchup P        at start, for ticks missed while it was down (judged from the ledger):
                     none (default), last (run once), all (each, the last 10 at most)
  --grace D          how long running runs have to end when stopping (default 30s)
  --log-format F     text (default) or json (one JSON object a line)
  -C, --repo DIR
`,
  options: {
    ...GIT_RUN_OPTIONS,
    'max-parallel': { type: 'string', default: '2' },
    catchup: { type: 'string', default: 'none' },
    grace: { type: 'string', default: '30s' },
    'log-format': { type: 'string', default: 'text' },
    ...WEBHOOK_OPTIONS,
    notify: { type: 'boolean', default: false },
  },
  async run(values, positionals, context) {
    if (positionals.length > 0)
      throw new EtlError('usage', `schedule takes no arguments, got "${positionals.join(' ')}"`);
    const maxParallel = Number(values['max-parallel']);
    if (!Number.isInteger(maxParallel) || maxParallel < 1 || maxParallel > 64)
      throw new EtlError(
        'usage',
        `--max-parallel must be a number from 1 to 64, got "${String(values['max-parallel'])}"`,
      );
    const catchUp = String(values.catchup);
    if (!CATCH_UP.includes(catchUp)) throw new EtlError('usage', `--catchup is none, last or all, got "${catchUp}"`);
    const graceMs = parseDuration(String(values.grace));
    if (graceMs === undefined)
      throw new EtlError('usage', `--grace takes a duration such as 30s or 2m, got "${String(values.grace)}"`);
    const format = String(values['log-format']);
    if (format !== 'text' && format !== 'json')
      throw new EtlError('usage', `--log-format is text or json, got "${format}"`);
    const { urls: webhooks, timeoutMs: webhookTimeout } = parseWebhooks(values);
    const runArgs = [
      ...webhooks.flatMap((url) => ['--webhook', url]),
      ...(webhooks.length ? ['--webhook-timeout', String(values['webhook-timeout'])] : []),
      ...(values.notify ? ['--notify'] : []),
      ...gitRunArgs(values),
    ];

    const remote = (values.remote as string | undefined) ?? 'origin';
    let lock: ReturnType<typeof acquireDaemonLock>;
    try {
      lock = acquireDaemonLock(context.repo);
    } catch (error) {
      if (error instanceof EtlError && error.code === 'locked') {
        context.stderr.write(`etl schedule: ${error.message}\n`);
        return exitCodeFor(error);
      }
      throw error;
    }
    // Signals are heard from here on: one that comes while the daemon starts (a SIGTERM right
    // after its first line) is kept, and stops it as soon as it has started.
    let heard: NodeJS.Signals | undefined;
    const early = (signal: NodeJS.Signals) => {
      if (signal !== 'SIGHUP') heard ??= signal;
    };
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
    for (const signal of signals) process.on(signal, early);
    // A tick whose run did not start leaves no record for etl run to post about: the daemon
    // posts it, once per distinct error of a sequence (not at every tick until it is fixed).
    const toldNotStarted = new Map<string, string>();
    // Its own deliveries hold the stop no longer than the runs' grace: then they are dropped.
    const deliveries = new Set<Promise<unknown>>();
    const stopDeliveries = new AbortController();
    const tellNotStarted = (event: Extract<DaemonEvent, { event: 'end' }>) => {
      if (event.run_id || event.status !== 'failed' || !event.error) {
        toldNotStarted.delete(event.sequence);
        return;
      }
      if (webhooks.length === 0 || toldNotStarted.get(event.sequence) === event.error) return;
      toldNotStarted.set(event.sequence, event.error);
      const payload = notStartedPayload(event.sequence, event.tick, event.error, new Date());
      const delivering = deliverWebhooks(webhooks, payload, {
        timeoutMs: webhookTimeout,
        signal: stopDeliveries.signal,
      }).then((answers) => {
        deliveries.delete(delivering);
        for (const delivery of answers.filter((d) => !d.ok))
          context.stderr.write(
            `etl schedule: webhook ${new URL(delivery.url).host} not told after ${delivery.attempts} attempts: ${delivery.error}\n`,
          );
      });
      deliveries.add(delivering);
    };
    const log = (event: DaemonEvent) => {
      const now = new Date();
      const time = now.toISOString();
      context.stdout.write(
        format === 'json' ? `${JSON.stringify({ time, ...event })}\n` : `${time} ${describe(event)}\n`,
      );
      if (event.event === 'end') tellNotStarted(event);
      const entry = tickEntry(event, now);
      try {
        if (entry) appendTick(context.repo, entry);
      } catch {
        // a tick log that cannot be written costs etl history --ticks a line, not the runs
      }
    };
    const status: DaemonStatus = {
      pid: process.pid,
      host: lock.info.host,
      started_at: lock.info.started_at,
      updated_at: lock.info.started_at,
      options: {
        max_parallel: maxParallel,
        catch_up: catchUp,
        commit: runArgs.includes('--commit'),
        push: Boolean(values.push),
        claims_on: values.push ? remote : null,
      },
      sequences: {},
    };
    const save = () => {
      status.updated_at = new Date().toISOString();
      try {
        writeStatus(context.repo, status);
      } catch {
        // a status that cannot be written costs etl status its answer, not the runs
      }
    };
    const clock = testClock(context.env.ETL_TEST_CLOCK) ?? systemClock;
    let scheduler: Scheduler | undefined;
    const reload = async () => {
      const { definitions, invalid } = await loadForSchedule(context.repo, context.env);
      scheduler!.load(definitions, invalid);
    };
    // Nothing half-starts: a start-up that throws stops what it armed and gives the lock back.
    try {
      const view = await ledgerView(context.repo, { env: context.env });
      const ledger = await ledgerRoot(context.repo, { env: context.env });
      scheduler = new Scheduler({
        clock,
        maxParallel,
        catchUp: catchUp as CatchUp,
        log,
        launch: (sequence, tick, early) => {
          // A tick is one of the moments a run left behind by a dead runner is recorded so.
          try {
            reapAbandoned(ledger, [sequence]);
          } catch {
            // a ledger that cannot be written now fails the run itself, which says why
          }
          return launchRun(
            { repo: context.repo, env: context.env, runArgs, trigger: 'schedule' },
            sequence,
            tick,
            early,
          );
        },
        lead: EARLY_START_MS,
        // With --push the ledger is shared: each tick is claimed on the remote first, one claim at a time.
        ...(values.push
          ? {
              claim: claimer({
                repo: context.repo,
                env: context.env,
                remote,
                host: lock.info.host,
                pid: lock.info.pid,
                now: () => clock.now(),
              }),
            }
          : {}),
        lastRunStart: (sequence) => latestFullRunStart(view, sequence),
        changed: (sequences) => {
          status.sequences = sequences;
          save();
        },
      });
      await reload();
      scheduler.catchUp();
    } catch (error) {
      await scheduler?.stop(0);
      for (const signal of signals) process.off(signal, early);
      lock.release();
      throw error;
    }
    context.stdout.write(
      format === 'json'
        ? ''
        : `${new Date().toISOString()} etl schedule: ${Object.keys(scheduler.status).length} scheduled sequences, at most ${maxParallel} runs at a time; state in ${scheduleStateDir(context.repo)}\n`,
    );

    // Definitions read again when their files change (a burst of writes, one reload), and on SIGHUP.
    let reloadTimer: NodeJS.Timeout | undefined;
    const soon = () => {
      clearTimeout(reloadTimer);
      reloadTimer = setTimeout(() => void reload().catch(() => {}), 300);
    };
    const watchers = [join(context.repo, SEQUENCES_DIR), join(context.repo, MODULES_FILE)].flatMap((path) => {
      try {
        return [watch(path, soon)];
      } catch {
        return []; // not there (yet): SIGHUP still reloads
      }
    });

    await new Promise<void>((resolve) => {
      let stopping = false;
      const stop = (signal: NodeJS.Signals) => {
        if (stopping) {
          if (signal === 'SIGINT') {
            scheduler.cancelAll();
            stopDeliveries.abort();
          }
          return;
        }
        stopping = true;
        for (const watcher of watchers) watcher.close();
        clearTimeout(reloadTimer);
        // The daemon's own webhook posts get the same grace as the runs, at the same time.
        let graceTimer: unknown;
        const graceOver = new Promise<void>((over) => {
          graceTimer = clock.setTimeout(over, graceMs);
        });
        const told = Promise.race([Promise.all([...deliveries]), graceOver]).then(() => {
          clock.clearTimeout(graceTimer);
          stopDeliveries.abort();
          return Promise.all([...deliveries]);
        });
        Promise.all([scheduler.stop(graceMs), told]).then(
          () => resolve(),
          () => resolve(),
        );
      };
      const hup = () => soon();
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      process.on('SIGHUP', hup);
      for (const signal of signals) process.off(signal, early);
      if (heard) stop(heard);
    });
    status.stopped_at = new Date().toISOString();
    save();
    lock.release();
    return ExitCode.ok;
  },
};

/** Claims ticks on the remote one after another (claims of one daemon would only race each other). */
function claimer(options: ClaimOptions): (sequence: string, tick: Date) => Promise<ClaimAnswer> {
  let previous: Promise<unknown> = Promise.resolve();
  return (sequence, tick) => {
    const answer = previous.then(async (): Promise<ClaimAnswer> => {
      const result = await claimTick(options, sequence, tick);
      const now = options.now?.() ?? Date.now();
      // Said, so that the machine whose clock runs ahead is found and set right.
      const notes = result.ignored.map(
        (claim) =>
          `ignored the claim of ${claim.host} (pid ${claim.pid}) for the tick ${claim.tick}, made at ${claim.claimed_at} by its clock: ${aheadBy(Math.max(Date.parse(claim.tick), Date.parse(claim.claimed_at)) - now)} ahead of this machine's clock; is that machine's clock right?`,
      );
      if (result.won) return { won: true, notes };
      const { by } = result;
      return {
        won: false,
        notes,
        reason: result.older
          ? `older than the ${CLAIMS_KEPT} newest claims kept on the remote (the oldest is for ${by.tick}): it may have run, so it is not run`
          : `claimed by ${by.host} (pid ${by.pid}) at ${by.claimed_at}`,
      };
    });
    previous = answer.catch(() => undefined);
    return answer;
  };
}

/** "1 h 5 min", "3 min", "40 s": how far a clock runs ahead. */
function aheadBy(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 1) return `${Math.round(ms / 1000)} s`;
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h${minutes % 60 ? ` ${minutes % 60} min` : ''}`;
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

function describe(event: DaemonEvent): string {
  switch (event.event) {
    case 'tick':
      return `tick   ${event.sequence} ${event.tick}${event.catch_up ? ' (missed: catching up)' : ''}`;
    case 'start':
      return `start  ${event.sequence} for ${event.tick}${event.early ? ' (waits for its tick)' : ''}`;
    case 'end':
      return `end    ${event.sequence} for ${event.tick}: ${event.run_id ? `${event.status} (run ${event.run_id})${event.error && event.error !== event.status ? `: ${event.error}` : ''}` : statusWithReason(event.status, event.error)}`;
    case 'skip':
      return `skip   ${event.sequence} ${event.tick}: ${event.reason}`;
    case 'reload':
      return `reload ${count(event.sequences, 'scheduled sequence')}${reloadErrors(event)}`;
    case 'warning':
      return `warn   ${event.sequence} ${event.tick}: ${event.message}`;
    case 'stop':
      return `stop   ${count(event.running, 'run')} still going, ${event.grace_ms} ms to end`;
  }
}

/** "1 run", "2 runs", "0 runs". */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** What a reload could not take: edits whose old schedule is kept, and sequences never scheduled. */
function reloadErrors(event: Extract<DaemonEvent, { event: 'reload' }>): string {
  const { kept, not_scheduled: fresh } = event;
  return [
    kept.length ? `; kept the old schedule of ${count(kept.length, 'sequence')}: ${unique(kept)}` : '',
    fresh.length
      ? `; ${count(fresh.length, 'sequence')} not scheduled, as ${fresh.length === 1 ? 'it does' : 'they do'} not validate: ${unique(fresh)}`
      : '',
  ].join('');
}

/** The errors, each once (one mistake in modules.json leaves out every sequence using it). */
function unique(errors: string[]): string {
  const times = new Map<string, number>();
  for (const error of errors) times.set(error, (times.get(error) ?? 0) + 1);
  return [...times].map(([error, n]) => (n > 1 ? `${error} (${n} sequences)` : error)).join('; ');
}
