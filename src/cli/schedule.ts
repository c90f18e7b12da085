import { parseDuration } from '../definitions/duration.js';
import { EtlError, ExitCode, exitCodeFor } from '../errors.js';
import { parseMetricsAddress } from '../prometheus/http.js';
import { Daemon, type DaemonEndpoint } from '../schedule/daemon.js';
import { cachedDefinitions } from '../ui/cached-definitions.js';
import type { CommandContext } from './command.js';
import type { CatchUp } from '../schedule/scheduler.js';
import { GIT_RUN_OPTIONS, gitRunArgs, NOTIFY_OPTIONS, parseWebhooks, WEBHOOK_OPTIONS } from './options.js';
import { defineCommand, describedAs } from './usage.js';

const CATCH_UP: readonly string[] = ['none', 'last', 'all'];
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export const command = defineCommand({
  synopsis: [
    'etl schedule [--commit] [--push [--remote R] [--branch B]] [--max-parallel 2] [--catchup none|last|all] [--grace 30s] [--log-format text|json] [--webhook URL]... [--notify] [--metrics [HOST:]PORT]',
  ],
  description: `Runs every sequence that has a "schedule", in its "timezone" (UTC when not given), at the
times etl list shows and etl due judges, until stopped: each tick's run is "etl run
SEQUENCE --tick TICK" in a process of its own (same records, locks, --commit and --push).
A tick that comes while its sequence still runs is skipped, and kept in etl status. One
daemon per repository. Definitions are read again when they change (and on SIGHUP); an edit
that does not validate keeps that sequence's old schedule, and says why. SIGTERM or SIGINT:
no new runs; running ones get --grace to end, then are cancelled; a second SIGINT cancels
them at once. Logs one line per tick, start, end, skip and reload on stdout. --metrics
serves Prometheus metrics (runs, step durations, last successes, freshness, ticks, up time)
at /metrics while it runs.`,
  options: {
    ...describedAs(
      GIT_RUN_OPTIONS,
      'given to every run (see etl run); with --push each tick is first claimed on the remote (refs/etl/claims), so daemons on several machines sharing it run each tick once',
    ),
    ...describedAs(
      { ...WEBHOOK_OPTIONS, ...NOTIFY_OPTIONS },
      'given to every run: a POST to URL (or a GitHub issue, with GITHUB_TOKEN) when a run fails, and when its sequence succeeds again',
    ),
    'max-parallel': {
      type: 'string',
      default: '2',
      value: 'N',
      help: 'runs of different sequences at the same time (default 2)',
    },
    catchup: {
      type: 'string',
      default: 'none',
      value: 'P',
      help: 'at start, for ticks missed while it was down (judged from the ledger): none (default), last (run once), all (each, the last 10 at most)',
    },
    grace: {
      type: 'string',
      default: '30s',
      value: 'D',
      help: 'how long running runs have to end when stopping (default 30s)',
    },
    'log-format': {
      type: 'string',
      default: 'text',
      value: 'F',
      help: 'text (default) or json (one JSON object a line)',
    },
    metrics: {
      type: 'string',
      value: 'ADDR',
      help: 'serve Prometheus metrics at http://ADDR/metrics: PORT (on 127.0.0.1, this machine only) or HOST:PORT',
    },
  },
  async run(values, positionals, context) {
    if (positionals.length > 0)
      throw new EtlError('usage', `schedule takes no arguments, got "${positionals.join(' ')}"`);
    const maxParallel = Number(values['max-parallel']);
    if (!Number.isInteger(maxParallel) || maxParallel < 1 || maxParallel > 64)
      throw new EtlError('usage', `--max-parallel must be a number from 1 to 64, got "${values['max-parallel']}"`);
    const catchUp = values.catchup;
    if (!CATCH_UP.includes(catchUp)) throw new EtlError('usage', `--catchup is none, last or all, got "${catchUp}"`);
    const graceMs = parseDuration(values.grace);
    if (graceMs === undefined)
      throw new EtlError('usage', `--grace takes a duration such as 30s or 2m, got "${values.grace}"`);
    const format = values['log-format'];
    if (format !== 'text' && format !== 'json')
      throw new EtlError('usage', `--log-format is text or json, got "${format}"`);
    const { urls: webhooks, timeoutMs: webhookTimeoutMs } = parseWebhooks(values);
    const runArgs = [
      ...webhooks.flatMap((url) => ['--webhook', url]),
      ...(webhooks.length ? ['--webhook-timeout', values['webhook-timeout']] : []),
      ...(values.notify ? ['--notify'] : []),
      ...gitRunArgs(values),
    ];

    const endpoint = values.metrics === undefined ? undefined : await metricsEndpoint(values.metrics, context);

    let daemon: Daemon;
    try {
      daemon = new Daemon({
        repo: context.repo,
        env: context.env,
        maxParallel,
        catchUp: catchUp as CatchUp,
        graceMs,
        logFormat: format,
        runArgs,
        ...(values.push ? { claimsOn: values.remote ?? 'origin' } : {}),
        webhooks,
        webhookTimeoutMs,
        stdout: context.stdout,
        stderr: context.stderr,
        endpoint,
      });
    } catch (error) {
      if (error instanceof EtlError && error.code === 'locked') {
        context.stderr.write(`etl schedule: ${error.message}\n`);
        return exitCodeFor(error);
      }
      throw error;
    }
    // Signals are heard from here on: one that comes while the daemon starts (a SIGTERM right
    // after its first line) stops it as soon as it has started. SIGHUP reads the definitions
    // again; a second SIGINT cancels the runs at once.
    const onSignal = (signal: NodeJS.Signals) => {
      if (signal === 'SIGHUP') daemon.reload();
      else if (signal === 'SIGINT' && daemon.stopping) daemon.cancelRuns();
      else daemon.stop();
    };
    for (const signal of SIGNALS) process.on(signal, onSignal);
    try {
      await daemon.run();
    } finally {
      for (const signal of SIGNALS) process.off(signal, onSignal);
    }
    return ExitCode.ok;
  },
});

/** --metrics: the address checked now (a usage error before anything starts), prom-client loaded only then. */
async function metricsEndpoint(text: string, context: CommandContext): Promise<DaemonEndpoint> {
  const address = parseMetricsAddress(text);
  if (!LOOPBACK.has(address.host))
    context.stderr.write(
      `etl schedule: warning: --metrics ${text}: anyone who can reach this address can read the metrics (sequence and step names, metric values)\n`,
    );
  const [{ scheduleEndpoint }, { LedgerStore }, { LedgerCache }] = await Promise.all([
    import('../prometheus/schedule-endpoint.js'),
    import('../ledger/store.js'),
    import('../ledger/read-cache.js'),
  ]);
  return scheduleEndpoint({
    address,
    store: (await LedgerStore.open(context.repo, { env: context.env })).withCache(new LedgerCache()),
    definitions: cachedDefinitions(context.repo, context.env),
    now: () => new Date(),
    since: new Date(),
  });
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
