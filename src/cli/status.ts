import { formatDuration } from '../definitions/duration.js';
import { EtlError, ExitCode } from '../errors.js';
import { type Freshness, repositoryFreshness } from '../ledger/freshness.js';
import { readStatus } from '../schedule/service.js';
import { statusWithReason } from '../schedule/tick-log.js';
import type { CommandContext } from './command.js';
import { defineCommand } from './usage.js';

export const command = defineCommand({
  synopsis: ['etl status [--json]'],
  description: `Whether etl schedule is running for this repository (its pid, host and start), and per
scheduled sequence: its schedule, next firing, the run going on, the last run and its
status, the error that keeps an old schedule in use, and the ticks recently skipped. Then
each sequence with a "freshness": when its last success ended, and whether it is stale.
Exits 0 when the daemon is running, 1 when it is not.`,
  options: {
    json: {
      type: 'boolean',
      default: false,
      help: 'the status file as the daemon wrote it, with "alive" and "freshness"',
    },
  },
  async run(values, positionals, context) {
    if (positionals.length > 0) throw new EtlError('usage', 'status takes no arguments');
    const { status, alive, lock } = readStatus(context.repo);
    const freshness = await repositoryFreshness({ repo: context.repo, env: context.env, now: new Date() });
    if (values.json) {
      context.stdout.write(`${JSON.stringify({ alive, ...(status ?? {}), freshness }, null, 2)}\n`);
      return alive ? ExitCode.ok : ExitCode.failed;
    }
    const paint = context.paint;
    if (alive && lock)
      context.stdout.write(
        `etl schedule: ${paint('green', 'running')}, pid ${lock.pid} on ${lock.host}, since ${lock.started_at}\n`,
      );
    else if (status)
      context.stdout.write(
        `etl schedule: ${paint('red', 'not running')} (last: pid ${status.pid} on ${status.host}, ${status.stopped_at ? `stopped at ${status.stopped_at}` : `gone since ${status.updated_at}`})\n`,
      );
    else context.stdout.write(`etl schedule: ${paint('red', 'not running')} (never run for this repository)\n`);
    if (alive && status?.options.claims_on)
      context.stdout.write(`  each tick claimed on ${status.options.claims_on} first (shared with other daemons)\n`);
    if (alive && status?.options.metrics)
      context.stdout.write(`  metrics for Prometheus at ${status.options.metrics}\n`);
    for (const [name, s] of Object.entries(status?.sequences ?? {})) {
      context.stdout.write(`\n${paint('bold', name)}  ${s.schedule} (${s.timezone})\n`);
      if (alive) context.stdout.write(`  next     ${s.next ?? 'never'}\n`);
      if (s.running)
        context.stdout.write(
          `  running  for the tick of ${s.running.tick}${s.running.run_id ? ` (run ${s.running.run_id})` : ''}\n`,
        );
      if (s.last)
        context.stdout.write(
          `  last     for the tick of ${s.last.tick}${s.last.run_id ? ` (run ${s.last.run_id})` : ''}: ${statusWithReason(s.last.status, s.last.error)}\n`,
        );
      if (s.error)
        context.stdout.write(`  ${paint('red', 'error')}    ${s.error} (the schedule before this edit is kept)\n`);
      if (s.warning) context.stdout.write(`  ${paint('yellow', 'warning')}  ${s.warning}\n`);
      const skipped = s.ticks.filter((t) => t.outcome.startsWith('skipped'));
      for (const t of skipped.slice(-5)) {
        const reason = t.outcome.replace(/^skipped: /, '');
        context.stdout.write(`  ${reason.startsWith('claimed by') ? 'elsewhere' : 'skipped '} ${t.tick}: ${reason}\n`);
      }
    }
    printFreshness(freshness, context);
    return alive ? ExitCode.ok : ExitCode.failed;
  },
});

/** "daily  stale: no success ended within 26h (the last ended at …, 30h ago)". */
function printFreshness(freshness: Record<string, Freshness>, context: CommandContext): void {
  const entries = Object.entries(freshness);
  if (entries.length === 0) return;
  context.stdout.write(`\n${context.paint('bold', 'freshness')}\n`);
  const width = Math.max(...entries.map(([name]) => name.length));
  const now = Date.now();
  for (const [name, f] of entries) {
    const last = f.last_success_at
      ? `the last ended at ${f.last_success_at}, ${formatDuration(Math.max(0, now - Date.parse(f.last_success_at)))} ago (run ${f.last_success_run})`
      : 'it never succeeded';
    const state = f.stale
      ? `${context.paint('red', 'stale')}: no success ended within ${f.freshness}${f.stale_since ? ` (stale since ${f.stale_since})` : ''}; ${last}`
      : `${context.paint('green', 'fresh')}: a success ended within ${f.freshness}; ${last}`;
    context.stdout.write(`  ${name.padEnd(width)}  ${state}\n`);
  }
}
