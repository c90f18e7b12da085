import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseDuration } from '../definitions/duration.js';
import { SEQUENCES_DIR } from '../definitions/model.js';
import { NAME_PATTERN } from '../definitions/patterns.js';
import { didYouMean } from '../definitions/suggest.js';
import { isDefinedSequence } from '../definitions/validate.js';
import { EtlError } from '../errors.js';
import { checkSequenceName, RUNS_DIR } from '../ledger/layout.js';
import type { RunRef } from '../ledger/history.js';
import type { LedgerStore } from '../ledger/store.js';
import { checkWebhookUrl } from '../notify/webhook.js';
import type { OptionTable, OptionValues } from './usage.js';

/** A whole number as a person writes one, digits only (not 1e3, 0x10 or 2.0), or undefined. */
export function digitsValue(value: string): number | undefined {
  const n = Number(value);
  return /^\d+$/.test(value.trim()) && Number.isSafeInteger(n) ? n : undefined;
}

/** --limit N (or another count): a positive whole number, said the same way by every command that takes it. */
export function parseLimit(value: string, option = '--limit'): number {
  const limit = digitsValue(value);
  if (limit === undefined || limit < 1) {
    throw new EtlError('usage', `${option} must be a positive whole number, got "${value}"`);
  }
  return limit;
}

/** --webhook URL (repeatable) and --webhook-timeout D, as etl run and etl schedule take them. */
export function parseWebhooks(values: OptionValues<typeof WEBHOOK_OPTIONS>): { urls: string[]; timeoutMs: number } {
  const urls = values.webhook;
  for (const [index, url] of urls.entries()) {
    const wrong = checkWebhookUrl(url);
    // Which one, by its place: the URL itself is not printed (it often holds a token).
    if (wrong)
      throw new EtlError('usage', `--webhook${urls.length > 1 ? ` (the ${ordinal(index + 1)})` : ''}: ${wrong}`);
  }
  const timeoutMs = parseDuration(values['webhook-timeout']);
  if (timeoutMs === undefined)
    throw new EtlError('usage', `--webhook-timeout takes a duration such as "10s", got "${values['webhook-timeout']}"`);
  return { urls, timeoutMs };
}

function ordinal(n: number): string {
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/** The options of parseWebhooks, as etl run describes them. */
export const WEBHOOK_OPTIONS = {
  webhook: {
    type: 'string',
    multiple: true,
    value: 'URL',
    help: 'POST a JSON report to URL when the run fails, and when the sequence succeeds again after failing (repeatable; a Slack-compatible "text" field); retried, and never a reason for the run to fail',
  },
  'webhook-timeout': {
    type: 'string',
    default: '10s',
    value: 'D',
    help: 'how long each webhook attempt may take (default 10s)',
  },
} as const satisfies OptionTable;

/** --notify, as etl run describes it; etl schedule passes it on. */
export const NOTIFY_OPTIONS = {
  notify: {
    type: 'boolean',
    default: false,
    help: 'on failure open (or comment on) a GitHub issue for the sequence, labelled etl-failure; close it when the sequence succeeds again (GITHUB_TOKEN)',
  },
} as const satisfies OptionTable;

/** --commit, --push, --remote R, --branch B as given to a command, passed on to each `etl run` it starts. */
export function gitRunArgs(values: OptionValues<typeof GIT_RUN_OPTIONS>): string[] {
  return [
    ...(values.commit || values.push ? ['--commit'] : []),
    ...(values.push ? ['--push'] : []),
    ...(values.remote ? ['--remote', values.remote] : []),
    ...(values.branch ? ['--branch', values.branch] : []),
  ];
}

/** The options of gitRunArgs, as etl run describes them. */
export const GIT_RUN_OPTIONS = {
  commit: { type: 'boolean', default: false, help: "commit the run's folder (and nothing else) when the run ends" },
  push: {
    type: 'boolean',
    default: false,
    help: 'push after committing (implies --commit); a rejection because the remote moved is fetched, rebased and retried, never forced',
  },
  remote: { type: 'string', value: 'R', help: 'the remote to push to (default origin)' },
  branch: {
    type: 'string',
    value: 'B',
    help: 'the remote branch (default: the branch checked out; needed when detached)',
  },
} as const satisfies OptionTable;

/** --param K=V, as etl run describes it. */
export const PARAM_OPTIONS = {
  param: {
    type: 'string',
    multiple: true,
    value: 'K=V',
    help: "a value for the sequence's param K (repeatable): ${params.K} in input, output and conf, ETL_PARAM_K for the modules; recorded in run.json",
  },
} as const satisfies OptionTable;

/** --tick: the schedule's tick the run is for, checked (kept as UTC ISO 8601). */
export function parseTick(tick: string | undefined): Date | undefined {
  if (tick === undefined) return undefined;
  const at = new Date(tick);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(tick) || Number.isNaN(at.getTime()))
    throw new EtlError('usage', `--tick takes an ISO 8601 time such as 2026-11-25T06:17:00Z, got "${tick}"`);
  return at;
}

/** --param NAME=VALUE (repeatable). */
export function parseParams(given: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const pair of given) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=([\s\S]*)$/.exec(pair);
    if (!match) throw new EtlError('usage', `--param takes NAME=VALUE, got "${pair}"`);
    params[match[1]!] = match[2]!;
  }
  return params;
}

/**
 * A sequence a read command is asked about: defined, or with runs in the ledger. One that
 * is neither is a typo more often than not: a usage error (exit 2), with the names nearest it.
 */
export function checkKnownSequence(repo: string, store: LedgerStore, sequence: string): string {
  checkSequenceName(sequence);
  const roots = store.roots;
  if (isDefinedSequence(repo, sequence) || roots.some((root) => existsSync(join(root, RUNS_DIR, sequence))))
    return sequence;
  const folder = join(repo, SEQUENCES_DIR);
  const defined = (existsSync(folder) ? readdirSync(folder) : []).map((file) => file.replace(/\.(json|ya?ml)$/, ''));
  const known = [...defined, ...roots.flatMap((root) => store.sequencesIn(root))];
  throw new EtlError(
    'unknown-sequence',
    `no sequence "${sequence}" in ${SEQUENCES_DIR}/, and no runs of it in the ledger${didYouMean(sequence, known)}`,
  );
}

/**
 * The run a read command is asked about. When there is none and the spec names a sequence
 * (NAME, NAME@latest, NAME@last-failed) that is neither defined nor in the ledger, the error is
 * about that name, with the names nearest it, as `etl history NAME` says it.
 */
export function findRunOf(repo: string, store: LedgerStore, spec: string): RunRef {
  try {
    return store.find(spec);
  } catch (error) {
    // An id or an id's prefix has its own message; a name is before any "@".
    const named = /^([^@]+)@/.exec(spec)?.[1] ?? (/^[0-9TZa-f-]+$/.test(spec) ? undefined : spec);
    if (
      error instanceof EtlError &&
      error.code === 'unknown-run' &&
      named !== undefined &&
      new RegExp(NAME_PATTERN).test(named)
    )
      checkKnownSequence(repo, store, named);
    throw error;
  }
}
