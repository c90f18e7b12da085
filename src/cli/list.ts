import { formatWallTime } from '../definitions/time-zone.js';
import { ExitCode } from '../errors.js';
import { listSequences } from '../schedule/overview.js';
import { formatTable } from './output.js';
import { loadValidated } from './load.js';
import { defineCommand } from './usage.js';

export const command = defineCommand({
  synopsis: ['etl list [--json]'],
  description: `Lists the sequences in etl_sequences/ with their number of steps, schedule (and when it next
fires, in the sequence's time zone), and description. Invalid sequences are reported on
stderr and left out; the exit status is then 2.`,
  options: { json: { type: 'boolean', default: false, help: 'print a JSON array instead of a table' } },
  async run(values, _positionals, context) {
    const report = await loadValidated(context);
    const sequences = listSequences(report.definitions, new Date());
    const { stdout, paint } = context;
    if (values.json) {
      stdout.write(`${JSON.stringify(sequences, null, 2)}\n`);
    } else if (sequences.length === 0) {
      stdout.write('no valid sequences in etl_sequences/\n');
    } else {
      const rows = sequences.map((s) => [
        s.name,
        String(s.steps),
        s.schedule ? `${s.schedule}${s.timezone === 'UTC' ? '' : ` (${s.timezone})`}` : '-',
        s.next_run ? formatWallTime(s.timezone, new Date(s.next_run)) : '-',
        s.description ?? '',
      ]);
      stdout.write(formatTable(['SEQUENCE', 'STEPS', 'SCHEDULE', 'NEXT RUN', 'DESCRIPTION'], rows, paint));
    }
    return report.errors > 0 ? ExitCode.invalid : ExitCode.ok;
  },
});
