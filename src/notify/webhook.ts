// Failure notifications that need no GitHub: a JSON POST to each --webhook URL when a run
// fails, and when a sequence succeeds again after failing. The body has a Slack-compatible
// `text` (Slack, Mattermost, Rocket.Chat and Teams' incoming webhooks show it) and the facts
// as fields. A webhook that is down is retried with backoff, then given up on: it never fails
// the run.
import { isSuccess } from '../runner/statuses.js';
import { join } from 'node:path';
import type { LedgerStore } from '../ledger/store.js';
import { describeEnding, failedStep } from '../runner/labels.js';
import { Redactor } from '../runner/logs.js';
import type { RunRecord } from '../runner/records.js';
import { parseHttpUrl, withoutUrl } from '../url-host.js';

export interface WebhookPayload {
  /** One line for chat tools. */
  text: string;
  /** not_started: etl schedule's run for a tick refused to start (definitions that do not validate). */
  event: 'failed' | 'recovered' | 'not_started';
  sequence: string;
  /** null when no run was recorded (not_started). */
  run_id: string | null;
  status: string;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  /** `module`: for a step with `run`, its program's file name, and `run` the command as written. */
  failed_step: {
    index: number;
    name: string;
    module: string;
    run?: string;
    exit_code: number | null;
    ending: string;
  } | null;
  error: string | null;
  /** The failing step's last log lines, secrets masked. */
  log_tail: string | null;
  /** The previous finished run's status (a recovery follows a failure). */
  previous_status: string | null;
  links: Record<string, string | null>;
}

/** Run statuses that are a failure to tell about. */
const FAILED = new Set(['failed', 'abandoned']);

/**
 * What to POST about a run, or nothing: a failure always, a success only when the run before
 * it (finished) did not succeed.
 */
export function webhookPayload(
  run: RunRecord,
  options: {
    /** The ledger, and the run's folder (absolute) in it. */
    store: LedgerStore;
    folder: string;
    previous?: RunRecord;
    secrets?: Iterable<string>;
    links?: Record<string, string | null>;
  },
): WebhookPayload | undefined {
  const recovered = isSuccess(run.status) && options.previous !== undefined && !isSuccess(options.previous.status);
  if (!FAILED.has(run.status) && !recovered) return undefined;
  const redact = new Redactor(options.secrets ?? []);
  const failed = failedStep(run);
  const record = failed ? options.store.readStep(options.folder, failed.record) : undefined;
  const last = record?.attempts.at(-1);
  const tail = record?.log.path
    ? options.store.readLogTail(join(options.folder, record.log.path), 20, 4000)
    : undefined;
  const ending = last ? describeEnding(last) : '';
  const text = recovered
    ? `etl: ${run.sequence} succeeded again (run ${run.id}), after a ${options.previous!.status} run`
    : `etl: ${run.sequence} ${run.status}${failed ? ` at step ${failed.index} (${failed.name}): it ${ending}` : run.error ? `: ${run.error}` : ''} (run ${run.id})`;
  return {
    text: redact.redact(text),
    event: recovered ? 'recovered' : 'failed',
    sequence: run.sequence,
    run_id: run.id,
    status: run.status,
    started_at: run.started_at,
    finished_at: run.finished_at,
    duration_ms: run.duration_ms,
    failed_step: failed
      ? {
          index: failed.index,
          name: failed.name,
          module: failed.module,
          ...(failed.run === undefined ? {} : { run: redact.redact(failed.run) }),
          exit_code: last?.exit_code ?? null,
          ending,
        }
      : null,
    error: run.error === null ? null : redact.redact(run.error),
    log_tail: tail === undefined ? null : redact.redact(tail),
    previous_status: options.previous?.status ?? null,
    links: options.links ?? {},
  };
}

/** What etl schedule POSTs when a tick's run did not start, so that no run record exists to tell of it. */
export function notStartedPayload(sequence: string, tick: string, error: string, at: Date): WebhookPayload {
  return {
    text: `etl: ${sequence} did not start for its tick ${tick}: ${error}`,
    event: 'not_started',
    sequence,
    run_id: null,
    status: 'not_started',
    started_at: at.toISOString(),
    finished_at: null,
    duration_ms: null,
    failed_step: null,
    error,
    log_tail: null,
    previous_status: null,
    links: {},
  };
}

export interface DeliveryOptions {
  /** Per attempt. */
  timeoutMs?: number;
  /** Attempts after the first, when the failure may pass: no answer, a dropped connection, 408, 429 or 5xx. */
  retries?: number;
  /** The first wait between attempts; it doubles each time. */
  backoffMs?: number;
  /** Stops the delivery at once, retries and waits included (a daemon that is stopping). */
  signal?: AbortSignal;
}

export interface Delivery {
  url: string;
  ok: boolean;
  attempts: number;
  /** Why it failed in the end: never the URL itself (its path or query often holds a token), at most its host. */
  error?: string;
}

/** Failures of the connection that may pass by themselves: worth another attempt. */
const PASSING = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** POSTs the payload to each URL (at the same time); never throws. */
export async function deliverWebhooks(urls: string[], payload: WebhookPayload, options: DeliveryOptions = {}) {
  return Promise.all(urls.map((url) => deliver(url, payload, options)));
}

async function deliver(url: string, payload: WebhookPayload, options: DeliveryOptions): Promise<Delivery> {
  const retries = options.retries ?? 3;
  let wait = options.backoffMs ?? 1000;
  let error = '';
  for (let attempt = 1; attempt <= retries + 1; attempt++) {
    if (options.signal?.aborted) return { url, ok: false, attempts: attempt - 1, error: 'stopped before an answer' };
    const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000);
    let passing: boolean;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'User-Agent': 'etl-ledger' },
        body: JSON.stringify(payload),
        signal: options.signal ? AbortSignal.any([timeout, options.signal]) : timeout,
        // A redirect is an answer, not followed: a POST is not re-sent to another address.
        redirect: 'manual',
      });
      await response.body?.cancel();
      if (response.ok) return { url, ok: true, attempts: attempt };
      error = `HTTP ${response.status}${redirectedTo(response)}`;
      // A refusal (bad URL, bad token, a redirect) will not change by asking again.
      passing = response.status >= 500 || response.status === 429 || response.status === 408;
    } catch (failure) {
      if (options.signal?.aborted) return { url, ok: false, attempts: attempt, error: 'stopped before an answer' };
      const cause = (failure as { cause?: { code?: string; message?: string } }).cause;
      if (timeout.aborted) {
        error = 'timed out';
        passing = true;
      } else if (cause?.code) {
        error = cause.code;
        passing = PASSING.has(cause.code);
      } else {
        // undici's own words: "other side closed", "bad port", or a request it cannot make at all.
        error = withoutUrl(cause?.message ?? (failure as Error).message, url);
        passing = /other side closed|socket/i.test(error);
      }
    }
    if (!passing) return { url, ok: false, attempts: attempt, error };
    if (attempt <= retries && !(await pause(wait, options.signal)))
      return { url, ok: false, attempts: attempt, error: `${error}, then stopped before another attempt` };
    wait *= 2;
  }
  return { url, ok: false, attempts: retries + 1, error };
}

/** ": redirected to HOST" for a 3xx answer: the host only, as for the webhook itself. */
function redirectedTo(response: Response): string {
  const location = response.headers.get('location');
  if (response.status < 300 || response.status >= 400 || !location) return '';
  try {
    return ` (redirected to ${new URL(location, response.url).host}: give the webhook's final URL)`;
  } catch {
    return ' (redirected)';
  }
}

/** Waits `ms`; false when `signal` stopped the wait. */
function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const stopped = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', stopped);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', stopped, { once: true });
  });
}

/**
 * What is wrong with a webhook URL as given (http(s) only, no user name or password), said with
 * the URL's host only: its path, query and user part often hold a token.
 */
export function checkWebhookUrl(value: string): string | undefined {
  const url = parseHttpUrl(value);
  if (url instanceof URL) return undefined;
  switch (url.kind) {
    case 'no-scheme':
      return 'a webhook is an http(s) URL, got one without http:// or https:// in front';
    case 'not-a-url':
      return 'a webhook is an http(s) URL, got something that is not a URL';
    case 'not-http':
      return `a webhook is an http(s) URL, got a ${url.protocol} URL (to ${url.host})`;
    case 'credentials':
      return `the webhook to ${url.host} has a user name or password in its URL (before an "@"): refused, as fetch will not send it; give the URL the service gives, with its token in the path or query`;
  }
}
