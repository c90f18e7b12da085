import { EtlError, ExitCode } from '../errors.js';
import { isSuccess } from '../runner/statuses.js';
import { LedgerStore } from '../ledger/store.js';
import { planRun } from '../runner/plan.js';
import { parseDay, succeededTicks, ticksBetween } from '../schedule/backfill.js';
import { launchRun } from '../schedule/service.js';
import { loadValidated } from './load.js';
import { GIT_RUN_OPTIONS, gitRunArgs, PARAM_OPTIONS, parseParams } from './options.js';
import { defineCommand, describedAs } from './usage.js';

export const command = defineCommand({
  synopsis: [
    'etl backfill SEQUENCE --from DATE --to DATE [--rerun] [--param K=V]... [--commit] [--push [--remote R] [--branch B]] [--dry-run]',
  ],
  description: `Runs each tick of SEQUENCE's schedule from DATE to DATE (both days included, in the
sequence's time zone; or exact ISO 8601 times), oldest first, one at a time, as etl schedule
would have: "etl run SEQUENCE --tick TICK", so \${tick:%Y-%m-%d} is each day's date. Ticks
that already have a successful run in the ledger are skipped, unless --rerun. A failed tick
does not stop the others; the exit status is 1 if any failed. Ctrl-C cancels the run going on
and stops.`,
  options: {
    from: { type: 'string', value: 'DATE', help: 'the range (2026-11-01, or 2026-11-01T06:00:00Z)' },
    to: { type: 'string', value: 'DATE', describedWith: 'from' },
    rerun: { type: 'boolean', default: false, help: 'run ticks that already succeeded too' },
    ...describedAs(PARAM_OPTIONS, 'given to every run (repeatable)'),
    ...describedAs(GIT_RUN_OPTIONS, 'given to every run (see etl run)'),
    'dry-run': { type: 'boolean', default: false, help: 'list the ticks and what would be done, run nothing' },
  },
  async run(values, positionals, context) {
    if (positionals.length !== 1)
      throw new EtlError('usage', `backfill takes one sequence name, got ${positionals.length}`);
    if (values.from === undefined || values.to === undefined)
      throw new EtlError('usage', 'backfill needs --from DATE and --to DATE');
    const report = await loadValidated(context, [positionals[0]!]);
    if (report.errors > 0) return ExitCode.invalid;
    const sequence = [...report.definitions.sequences.values()][0]!;
    const zone = sequence.timezone ?? 'UTC';
    const from = parseDay(values.from, zone, false);
    const to = parseDay(values.to, zone, true);
    for (const [flag, value, at] of [
      ['--from', values.from, from],
      ['--to', values.to, to],
    ] as const)
      if (at === undefined)
        throw new EtlError('usage', `${flag} takes a day (2026-11-01) or an ISO 8601 time, got "${value}"`);
    if (from! > to!) throw new EtlError('usage', `--from (${values.from}) is after --to (${values.to})`);
    // An unknown param, or one with no default and no value, is said once here, not by every run.
    const params = parseParams(values.param);
    try {
      planRun(report.definitions, sequence.name, context.env, { params, tick: from! });
    } catch (error) {
      // Which file a templated conf is depends on the tick: each tick's run checks its own.
      if (!(error instanceof EtlError && error.code === 'missing-conf')) throw error;
    }
    const ticks = ticksBetween(sequence, from!, to!);
    const done = values.rerun
      ? new Map<string, string>()
      : succeededTicks(await LedgerStore.open(context.repo, { env: context.env }), sequence.name);
    const runArgs = [
      ...Object.entries(params).flatMap(([name, value]) => ['--param', `${name}=${value}`]),
      ...gitRunArgs(values),
    ];
    context.stdout.write(
      `${sequence.name}: ${ticks.length} ticks of "${sequence.schedule}" (${zone}) from ${from!.toISOString()} to ${to!.toISOString()}\n`,
    );
    let cancel: (() => void) | undefined;
    let stopped = false;
    const stop = () => {
      stopped = true;
      cancel?.();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    let failed = 0;
    try {
      for (const tick of ticks) {
        const iso = tick.toISOString();
        const earlier = done.get(iso);
        if (earlier) {
          context.stdout.write(`${iso}  skipped: already succeeded (run ${earlier})\n`);
          continue;
        }
        if (values['dry-run']) {
          context.stdout.write(`${iso}  would run\n`);
          continue;
        }
        if (stopped) break;
        const launched = launchRun(
          { repo: context.repo, env: context.env, runArgs, trigger: 'backfill' },
          sequence.name,
          tick,
        );
        cancel = launched.cancel;
        const result = await launched.done;
        cancel = undefined;
        if (!isSuccess(result.status)) failed++;
        context.stdout.write(
          `${iso}  ${result.status}${result.runId ? ` (run ${result.runId})` : ''}${result.error && !isSuccess(result.status) ? `: ${result.error}` : ''}\n`,
        );
      }
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
    if (stopped) {
      context.stderr.write('etl backfill: stopped; the ticks after the one cancelled were not run\n');
      return ExitCode.interrupted;
    }
    return failed > 0 ? ExitCode.failed : ExitCode.ok;
  },
});
