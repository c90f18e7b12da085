// What is told, to whom, when a run ends: the one place that decides it.
// - etl run --webhook URL: a POST when a run fails, and when its sequence succeeds again after
//   failing (webhookPayload judges which, from the run and the one before it).
// - etl run --notify: a GitHub issue per failing sequence, opened at its first failure,
//   commented on at the next ones, closed when it succeeds again (github/notify.ts).
// - etl schedule --webhook URL: a not_started POST when a tick's run did not start (no record
//   exists for etl run to tell of), once per distinct error of a sequence.
// Telling never fails the run: what could not be told is a warning.
import { join } from 'node:path';
import { EtlError } from '../errors.js';
import { triggerFrom } from '../github/env.js';
import { originWeb, runLinks } from '../github/remote.js';
import type { RunOutcome } from '../ledger/run-sequence.js';
import type { LedgerStore } from '../ledger/store.js';
import type { Delivery } from './webhook.js';

export interface RunNotifyOptions {
  repo: string;
  env: NodeJS.ProcessEnv;
  /** The ledger the run is recorded in. */
  store: LedgerStore;
  /** --notify: tell GitHub through an issue. */
  github: boolean;
  /** --webhook URLs, each attempt's timeout, and the secrets to mask in what is posted. */
  webhooks: { urls: string[]; timeoutMs: number; secrets: string[] };
}

/** How the caller hears what was told: a line for each success, a warning (and the option it concerns) for each failure. */
export interface NotifyReport {
  told(line: string): void;
  warn(option: string, message: string): void;
}

/** Tells GitHub (with --notify), then the webhooks, about a run that has ended. */
export async function tellRunOutcome(
  outcome: RunOutcome,
  options: RunNotifyOptions,
  report: NotifyReport,
): Promise<void> {
  if (options.github) await tellGitHub(outcome, options, report);
  if (options.webhooks.urls.length > 0) await tellWebhooks(outcome, options, report);
}

/** POSTs the outcome to the --webhook URLs when there is something to tell. */
async function tellWebhooks(
  { run, folder }: RunOutcome,
  options: RunNotifyOptions,
  report: NotifyReport,
): Promise<void> {
  const { webhooks, store } = options;
  const { webhookPayload, deliverWebhooks } = await import('./webhook.js');
  const previous = store
    .list({ sequence: run.sequence, before: run.id, limit: 10 })
    .find((r) => r.status !== 'running');
  const links = runLinks(run, await originWeb(options.repo, options.env));
  const payload = webhookPayload(run, {
    store,
    folder: join(store.writeRoot, folder),
    previous,
    secrets: webhooks.secrets,
    links: { ...links },
  });
  if (!payload) return;
  for (const delivery of await deliverWebhooks(webhooks.urls, payload, { timeoutMs: webhooks.timeoutMs })) {
    if (delivery.ok) report.told(`told webhook ${hostOf(delivery)} (${payload.event})`);
    else report.warn('etl run --webhook', notTold(delivery));
  }
}

/** Opens, comments on or closes the sequence's GitHub issue; a failure to do so is a warning. */
async function tellGitHub(
  { run, folder, commit }: RunOutcome,
  options: RunNotifyOptions,
  report: NotifyReport,
): Promise<void> {
  try {
    // Loaded only here: the REST client costs some 30 ms of every start.
    const [{ openGitHub }, { notifyRunOutcome }] = await Promise.all([
      import('../github/client.js'),
      import('../github/notify.js'),
    ]);
    const github = await openGitHub(options.repo, options.env);
    const result = await notifyRunOutcome(github, run, {
      store: options.store,
      folder,
      commit,
      runUrl: triggerFrom(options.env, null).ci?.url,
      serverUrl: options.env.GITHUB_SERVER_URL,
    });
    if (result.action !== 'none') report.told(`${result.action} issue #${result.issue} about ${run.sequence}`);
  } catch (error) {
    if (!(error instanceof EtlError)) throw error;
    report.warn('etl run --notify', `could not notify GitHub: ${error.message}`);
  }
}

/** How a tick's run ended, as the daemon saw it (no run id: it never started). */
export interface TickEnd {
  sequence: string;
  tick: string;
  status: string;
  run_id?: string;
  error?: string;
}

/** The daemon's not_started posts: they hold its stop no longer than the runs' grace, then are dropped. */
export class NotStartedNotices {
  /** Per sequence, the error last told: the same error again is not told at every tick. */
  private readonly told = new Map<string, string>();
  private readonly deliveries = new Set<Promise<unknown>>();
  private readonly stopDeliveries = new AbortController();

  constructor(
    private readonly webhooks: { urls: string[]; timeoutMs: number },
    /** A post that failed after its retries, worded with the webhook's host only. */
    private readonly warn: (message: string) => void,
  ) {}

  /** A tick's run ended: a run that did not start is told, once per distinct error. */
  tickEnded(end: TickEnd): void {
    if (end.run_id || end.status !== 'failed' || !end.error) {
      this.told.delete(end.sequence);
      return;
    }
    const { urls, timeoutMs } = this.webhooks;
    if (urls.length === 0 || this.told.get(end.sequence) === end.error) return;
    this.told.set(end.sequence, end.error);
    const error = end.error;
    const at = new Date();
    const delivering = import('./webhook.js')
      .then(({ deliverWebhooks, notStartedPayload }) =>
        deliverWebhooks(urls, notStartedPayload(end.sequence, end.tick, error, at), {
          timeoutMs,
          signal: this.stopDeliveries.signal,
        }),
      )
      .then((answers) => {
        this.deliveries.delete(delivering);
        for (const delivery of answers.filter((d) => !d.ok)) this.warn(notTold(delivery));
      });
    this.deliveries.add(delivering);
  }

  /** Settles when every post under way has ended. */
  underWay(): Promise<unknown> {
    return Promise.all([...this.deliveries]);
  }

  /** Drops every post under way at once (past the grace, a second Ctrl-C); settles when they have ended. */
  drop(): Promise<unknown> {
    this.stopDeliveries.abort();
    return this.underWay();
  }
}

/** The host only: a webhook's path often holds its token. */
function hostOf(delivery: Delivery): string {
  return new URL(delivery.url).host;
}

function notTold(delivery: Delivery): string {
  return `webhook ${hostOf(delivery)} not told after ${delivery.attempts} attempts: ${delivery.error}`;
}
