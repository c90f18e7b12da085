import { stepPosition } from '../runner/labels.js';
import { formatMetrics } from '../runner/metrics.js';
import { EtlError, ExitCode } from '../errors.js';
import { LedgerStore } from '../ledger/store.js';
import { checkKnownSequence, parseLimit } from './options.js';
import { formatTable, tableTime } from './output.js';
import { defineCommand } from './usage.js';

export const command = defineCommand({
  synopsis: ['etl metrics SEQUENCE [--step STEP] [--key KEY] [--limit N] [--json]'],
  description: `Lists the metrics the steps of SEQUENCE wrote to ETL_METRICS, run by run, newest first: a
line per run and step, with each KEY=VALUE.`,
  options: {
    step: { type: 'string', value: 'STEP', help: 'only this step (a number from 1, or its name)' },
    key: { type: 'string', value: 'KEY', help: 'only this metric' },
    limit: { type: 'string', default: '20', value: 'N', help: 'look at the newest N runs (default 20)' },
    json: { type: 'boolean', default: false, help: 'print [{run_id, started_at, status, step, metrics}]' },
  },
  async run(values, positionals, context) {
    if (positionals.length !== 1)
      throw new EtlError('usage', `metrics takes one sequence name, got ${positionals.length}`);
    const store = await LedgerStore.open(context.repo, { env: context.env });
    const sequence = checkKnownSequence(context.repo, store, positionals[0]!);
    const points = store.metrics(sequence, {
      step: values.step,
      key: values.key,
      limit: parseLimit(values.limit),
    });
    if (values.json) context.stdout.write(`${JSON.stringify(points, null, 2)}\n`);
    else if (points.length === 0)
      context.stdout.write(
        `no metrics${values.key ? ` "${values.key}"` : ''} in the newest runs of ${sequence}${values.step ? ` for step ${values.step}` : ''}: a module writes them as KEY=VALUE lines to the file named by ETL_METRICS\n`,
      );
    else
      context.stdout.write(
        formatTable(
          ['RUN', 'STARTED', 'STATUS', 'STEP', 'METRICS'],
          points.map((p) => [
            p.run_id,
            tableTime(p.started_at),
            p.status,
            `${stepPosition(p.step)} ${p.step.name}`,
            formatMetrics(p.metrics),
          ]),
          context.paint,
        ),
      );
    return ExitCode.ok;
  },
});
