import { EtlError, ExitCode } from '../errors.js';
import { configuredLedgerBranch } from '../ledger/ledger-branch.js';
import { logFromGit } from '../ledger/git-log.js';
import { checkSequenceName } from '../ledger/layout.js';
import { LedgerStore } from '../ledger/store.js';
import { checkKnownSequence, parseLimit } from './options.js';
import { formatTable, tableTime } from './output.js';
import { defineCommand } from './usage.js';

export const command = defineCommand({
  synopsis: ['etl log [SEQUENCE] [--limit N] [--json]'],
  description: `Run history read from git: the trailers of the ledger commits (Etl-Run-Id, Etl-Status, ...),
newest first. Works in a clone that has no run folders checked out, e.g. a shallow one.`,
  options: {
    limit: { type: 'string', default: '20', value: 'N', help: 'at most N runs (default 20)' },
    json: { type: 'boolean', default: false, help: 'print a JSON array' },
  },
  async run(values, positionals, context) {
    if (positionals.length > 1)
      throw new EtlError('usage', `log takes at most one sequence name, got ${positionals.length}`);
    const limit = parseLimit(values.limit);
    const branch = await configuredLedgerBranch(context.repo, context.env);
    if (positionals[0] !== undefined) checkSequenceName(positionals[0]);
    const runs = await logFromGit(context.repo, {
      sequence: positionals[0],
      limit,
      env: context.env,
      revs: branch ? [branch, 'HEAD'] : ['HEAD'],
    });
    // No commit of it either: a sequence that neither is defined nor ever ran is refused.
    if (positionals[0] !== undefined && runs.length === 0)
      checkKnownSequence(context.repo, new LedgerStore(context.repo), positionals[0]);
    if (values.json) {
      context.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
      return ExitCode.ok;
    }
    if (runs.length === 0) {
      context.stdout.write('no ledger commits in this branch\n');
      return ExitCode.ok;
    }
    const rows = runs.map((r) => [
      r.id,
      r.sequence,
      r.status,
      tableTime(r.started_at),
      r.duration ?? '-',
      r.failed_step ?? '',
      r.commit.slice(0, 10),
    ]);
    context.stdout.write(
      formatTable(['RUN', 'SEQUENCE', 'STATUS', 'STARTED', 'DURATION', 'FAILED STEP', 'COMMIT'], rows, context.paint),
    );
    return ExitCode.ok;
  },
});
