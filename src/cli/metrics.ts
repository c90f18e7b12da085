import { formatMetrics } from '../runner/metrics.js';
import { EtlError, ExitCode } from '../errors.js';
import { LedgerStore } from '../ledger/store.js';
import type { Command } from './command.js';
import { checkKnownSequence, parseLimit } from './options.js';
import { formatTable, tableTime } from './output.js';

export const command: Command = {
  usage: `Usage: etl metrics SEQUENCE [--step STEP] [--key KEY] [--limit N] [--json]

Lists the metrics the steps of SEQUENCE wrote to ETL_METRICS, run by run, newest first: a
line per run and step, with each KEY=VALUE.

Options:
  --step STEP    only this step (a number from 1, or its name)
  --key KEY      only this metric
  --limit N      look at the newest N runs (default 20)
  --json         print [{run_id, started_at, status, step, metrics}]
  -C, --repo DIR
`,
  options: {
    step: { type: 'string' },
    key: { type: 'string' },
    limit: { type: 'string', default: '20' },
    json: { type: 'boolean', default: false },
  },
  async run(values, positionals, context) {
    if (positionals.length !== 1)
      throw new EtlError('usage', `metrics takes one sequence name, got ${positionals.length}`);
    const store = await LedgerStore.open(context.repo, { env: context.env });
    const sequence = checkKnownSequence(context.repo, store, positionals[0]!);
    const points = store.metrics(sequence, {
      step: values.step as string | undefined,
      key: values.key as string | undefined,
      limit: parseLimit(values.limit),
    });
    if (values.json) context.stdout.write(`${JSON.stringify(points, null, 2)}\n`);
    else if (points.length === 0)
      context.stdout.write(
        `no metrics${values.key ? ` "${String(values.key)}"` : ''} in the newest runs of ${sequence}${values.step ? ` for step ${String(values.step)}` : ''}: a module writes them as KEY=VALUE lines to the file named by ETL_METRICS\n`,
      );
    else
      context.stdout.write(
        formatTable(
          ['RUN', 'STARTED', 'STATUS', 'STEP', 'METRICS'],
          points.map((p) => [
            p.run_id,
            tableTime(p.started_at),
            p.status,
            `${p.step.role === 'on_failure' ? 'on_failure ' : ''}${p.step.index} ${p.step.name}`,
            formatMetrics(p.metrics),
          ]),
          context.paint,
        ),
      );
    return ExitCode.ok;
  },
};
