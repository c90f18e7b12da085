import { describeSummaryEnding, failedStep } from '../runner/labels.js';
import { formatDuration, parseDuration } from '../definitions/duration.js';
import { EtlError, ExitCode } from '../errors.js';
import { LedgerStore } from '../ledger/store.js';
import type { RunRecord } from '../runner/records.js';
import { RUN_STATUSES } from '../runner/statuses.js';
import { readTicks, type TickEntry } from '../schedule/tick-log.js';
import { checkKnownSequence, parseLimit } from './options.js';
import { formatTable, type Paint, tableTime } from './output.js';
import { defineCommand } from './usage.js';

const STATUSES: readonly string[] = RUN_STATUSES;

export const command = defineCommand({
  synopsis: [
    'etl history [SEQUENCE] [--status S] [--since DATE] [--limit N] [--json]',
    'etl history [SEQUENCE] --ticks [--limit N] [--json]',
  ],
  description: `Lists runs from the runs/ ledger, newest first: id, sequence, status, start, duration and
the step that failed. Runs whose runner died are marked abandoned as they are found.
With --ticks: the ticks etl schedule saw on this machine, newest first, each with its run
(id and status) or why it was skipped (still running, claimed by another daemon, stopping).`,
  options: {
    status: { type: 'string', value: 'S', help: `only runs with this status: ${STATUSES.join(', ')}` },
    since: {
      type: 'string',
      value: 'DATE',
      help: 'only runs started since DATE (2026-11-01, 2026-11-01T08:00Z) or for the last DURATION (24h, 7d)',
    },
    limit: { type: 'string', default: '20', value: 'N', help: 'at most N runs (default 20)' },
    ticks: { type: 'boolean', default: false, help: "the daemon's ticks instead of the runs" },
    json: { type: 'boolean', default: false, help: 'print the run records as a JSON array' },
  },
  async run(values, positionals, context) {
    if (positionals.length > 1)
      throw new EtlError('usage', `history takes at most one sequence name, got ${positionals.length}`);
    const { status } = values;
    if (status !== undefined && !STATUSES.includes(status))
      throw new EtlError('usage', `--status must be one of ${STATUSES.join(', ')}, got "${status}"`);
    const limit = parseLimit(values.limit);
    const store = await LedgerStore.open(context.repo, { env: context.env });
    if (positionals[0] !== undefined) checkKnownSequence(context.repo, store, positionals[0]);
    if (values.ticks) {
      if (status !== undefined || values.since !== undefined)
        throw new EtlError('usage', '--ticks lists every tick: --status and --since go with runs');
      const ticks = readTicks(context.repo, positionals[0], limit);
      if (values.json) context.stdout.write(`${JSON.stringify(ticks, null, 2)}\n`);
      else if (ticks.length === 0)
        context.stdout.write(
          `no ticks${positionals[0] ? ` of sequence "${positionals[0]}"` : ''}: etl schedule has not fired any in this repository on this machine\n`,
        );
      else context.stdout.write(ticksTable(ticks, context.paint));
      return ExitCode.ok;
    }
    const since = values.since === undefined ? undefined : parseSince(values.since, new Date());
    const runs = store.list({
      sequence: positionals[0],
      status,
      since,
      limit,
    });
    if (values.json) {
      context.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
    } else if (runs.length === 0) {
      context.stdout.write(`${noRunsMessage({ sequence: positionals[0], status, since, now: new Date() })}\n`);
    } else {
      context.stdout.write(historyTable(runs, context.paint));
    }
    return ExitCode.ok;
  },
});

const STATUS_COLOURS: Record<string, Parameters<Paint>[0]> = {
  succeeded: 'green',
  failed: 'red',
  cancelled: 'yellow',
  abandoned: 'yellow',
  running: 'cyan',
};

export function historyTable(runs: RunRecord[], paint: Paint): string {
  // The tick a run was for (etl schedule, backfill, run --tick), when any listed run has one.
  const ticked = runs.some((run) => run.trigger.tick);
  const rows = runs.map((run) => {
    const failed = failedStep(run);
    return [
      run.id,
      run.sequence,
      run.status,
      tableTime(run.started_at),
      ...(ticked ? [run.trigger.tick ? tableTime(run.trigger.tick) : '-'] : []),
      run.duration_ms === null ? '-' : formatDuration(run.duration_ms),
      failed ? `${failed.index} ${failed.name} (${describeSummaryEnding(failed)})` : '',
    ];
  });
  return formatTable(
    ['RUN', 'SEQUENCE', 'STATUS', 'STARTED', ...(ticked ? ['TICK'] : []), 'DURATION', 'FAILED STEP'],
    rows,
    paint,
    (cell, column) => (column === 2 ? STATUS_COLOURS[cell] : undefined),
  );
}

function ticksTable(ticks: TickEntry[], paint: Paint): string {
  return formatTable(
    ['TICK', 'SEQUENCE', 'OUTCOME', 'RUN OR REASON'],
    ticks.map((t) => [tableTime(t.tick), t.sequence, t.outcome, t.run_id ?? t.reason ?? '']),
    paint,
    (cell, column) =>
      column === 2 ? (STATUS_COLOURS[cell] ?? (cell === 'skipped' ? 'yellow' : undefined)) : undefined,
  );
}

/** An ISO date or date-time, or a duration back from now ("24h", "7d"). */
export function parseSince(text: string, now: Date): Date {
  const back = parseDuration(text);
  if (back !== undefined) return new Date(now.getTime() - back);
  const date = /^\d{4}-\d{2}-\d{2}$/.test(text) ? new Date(`${text}T00:00:00Z`) : new Date(text);
  if (Number.isNaN(date.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(text)) {
    throw new EtlError(
      'usage',
      `--since takes a date (2026-11-01), a date and time (2026-11-01T08:00Z) or a duration (24h, 7d), got "${text}"`,
    );
  }
  return date;
}

/** Why nothing was listed: an empty ledger, or a filter that left nothing. */
function noRunsMessage(filters: { sequence?: string; status?: string; since?: Date; now: Date }): string {
  const { sequence, status, since, now } = filters;
  const filtered = [
    sequence && `of sequence "${sequence}"`,
    status && `with status ${status}`,
    since && `since ${since.toISOString()}${since > now ? ' (in the future)' : ''}`,
  ].filter(Boolean);
  return filtered.length ? `no runs ${filtered.join(' ')}` : 'no runs in the ledger yet';
}
