import { EtlError, ExitCode } from '../errors.js';
import { LedgerStore } from '../ledger/store.js';
import { dueSequences, sameCron } from '../schedule/due.js';
import { loadValidated } from './load.js';
import { defineCommand } from './usage.js';

export const command = defineCommand({
  synopsis: ['etl due [--cron EXPR] [--now TIME] [--json]'],
  description: `Lists the scheduled sequences to run now: those whose latest tick (in their time zone) has
no run in the ledger since. --cron is the expression that fired (github.event.schedule);
a schedule whose tick GitHub dropped in the last 24 hours is caught up too, and nothing that
already ran since its tick runs twice.`,
  options: {
    cron: {
      type: 'string',
      value: 'EXPR',
      help: 'the cron expression that fired; without it every schedule is looked at',
    },
    now: {
      type: 'string',
      value: 'TIME',
      help: 'judge at this ISO 8601 time instead of now (for testing a schedule)',
    },
    json: {
      type: 'boolean',
      default: false,
      help: 'print a one-line JSON array of sequence names (for a CI matrix)',
    },
  },
  async run(values, positionals, context) {
    if (positionals.length > 0) throw new EtlError('usage', 'due takes no arguments');
    const now = values.now === undefined ? new Date() : new Date(values.now);
    if (Number.isNaN(now.getTime()))
      throw new EtlError('usage', `--now takes an ISO 8601 time such as 2026-11-25T06:17:00Z, got "${values.now}"`);
    const report = await loadValidated(context);
    const { cron } = values;
    if (
      cron !== undefined &&
      ![...report.definitions.sequences.values()].some((s) => s.schedule !== undefined && sameCron(s.schedule, cron))
    ) {
      // The workflow's cron lines are older than the definitions: say so, still catch up.
      context.stderr.write(
        `etl due: warning: no sequence has the schedule "${cron}" (are the workflows stale? run etl workflows generate); only missed ticks are caught up\n`,
      );
    }
    const due = dueSequences(report.definitions, await LedgerStore.open(context.repo, { env: context.env }), {
      cron,
      now,
    });
    if (values.json) context.stdout.write(`${JSON.stringify(due.map((d) => d.name))}\n`);
    else if (due.length === 0) context.stdout.write('nothing is due\n');
    else
      for (const d of due)
        context.stdout.write(
          `${d.name}  ${context.paint('dim', `${d.schedule} (${d.timezone}), tick ${d.tick}${d.reason === 'missed' ? ', missed: catching up' : ''}`)}\n`,
        );
    return report.errors > 0 ? ExitCode.invalid : ExitCode.ok;
  },
});
