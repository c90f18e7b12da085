import { EtlError, ExitCode } from '../errors.js';
import { describeKeptAside } from '../git/kept-aside.js';
import { ledgerRoot } from '../ledger/ledger-branch.js';
import { prune } from './ledger-prune.js';
import { syncLedger } from '../ledger/sync.js';
import { checkSequenceName } from '../ledger/layout.js';
import { LedgerStore } from '../ledger/store.js';
import type { CommandContext } from './command.js';
import { defineCommand } from './usage.js';

export const command = defineCommand({
  synopsis: [
    'etl ledger sync [--scan] [--push [--remote R] [--branch B]]',
    'etl ledger reap [SEQUENCE]',
    'etl ledger prune [--keep-days N | --keep-runs N] [--sequence S]... [--dry-run] [--json]',
  ],
  description: `Commits every run folder under runs/ whose records are on disk but not in git (a push that
failed, a machine that lost its network, a runner that crashed), one commit per run, and
with --push pushes them (never forcing; a rejection because the remote moved is fetched,
rebased and retried). Runs still in progress are left to their own runner.

Every run notes its folder in the git directory until a commit records it, and sync reads
those notes; it looks at every file under runs/ only the first time in a working tree, or
with --scan (for run folders copied in by hand, or edited after they were committed).

reap records as abandoned each run of this machine whose runner is gone (killed, or its
machine restarted), ending what its modules left running: sync does it too, as do a run's
start and each tick of etl schedule. Reading commands (history, show, ui...) show such a
run as abandoned but never write to the ledger.

prune removes old run folders in a commit of its own (git history keeps them): those started
more than N days ago (--keep-days), or past each sequence's N newest (--keep-runs); without
either, each sequence's retention: says. Runs still pointed at stay, and say why: one still
going, the run skip_unchanged compares each step with, the run --resume could pick up, what
etl lineage leads to, what a kept run's skipped steps stand for; so do runs not committed.
The removed folders leave the working tree at once, moved into the git directory's etl-trash;
from 500 of them on, a background process deletes them from disk after the command ends.`,
  options: {
    scan: {
      type: 'boolean',
      default: false,
      help: 'look at every file under runs/, not only the runs noted as unrecorded',
    },
    push: {
      type: 'boolean',
      default: false,
      help: 'push after committing (also pushes ledger commits made earlier)',
    },
    remote: { type: 'string', value: 'R', help: 'the remote (default origin)' },
    branch: {
      type: 'string',
      value: 'B',
      help: 'the remote branch (default: the branch checked out; needed when detached)',
    },
    'keep-days': { type: 'string', value: 'N', help: 'prune: keep the runs started in the last N days' },
    'keep-runs': { type: 'string', value: 'N', help: "prune: keep each sequence's N newest runs" },
    sequence: {
      type: 'string',
      value: 'S',
      multiple: true,
      help: 'prune: only these sequences (default: every sequence with runs, or with retention:)',
    },
    'dry-run': {
      type: 'boolean',
      default: false,
      help: 'prune: list what would be removed and what is kept and why; change nothing',
    },
    json: { type: 'boolean', default: false, help: 'prune: print what was removed and kept as JSON' },
  },
  async run(values, positionals, context) {
    const syncing = values.scan || values.push || values.remote !== undefined || values.branch !== undefined;
    const pruning = [values['keep-days'], values['keep-runs'], values.sequence[0]].some((v) => v !== undefined);
    if (positionals[0] === 'prune' && positionals.length === 1) {
      if (syncing) throw new EtlError('usage', '--scan, --push, --remote and --branch go with "etl ledger sync"');
      return prune(values, context);
    }
    if (pruning || values['dry-run'] || values.json)
      throw new EtlError(
        'usage',
        '--keep-days, --keep-runs, --sequence, --dry-run and --json go with "etl ledger prune"',
      );
    if (positionals[0] === 'reap' && positionals.length <= 2) {
      if (syncing) throw new EtlError('usage', '--scan, --push, --remote and --branch go with "etl ledger sync"');
      return reap(positionals[1], context);
    }
    if (positionals[0] !== 'sync' || positionals.length !== 1) {
      throw new EtlError(
        'usage',
        positionals.length === 0
          ? 'etl ledger needs a subcommand: "etl ledger sync", "etl ledger reap" or "etl ledger prune"'
          : `the ledger commands are "etl ledger sync", "etl ledger reap [SEQUENCE]" and "etl ledger prune", got "etl ledger ${positionals.join(' ')}"`,
      );
    }
    const result = await syncLedger(await ledgerRoot(context.repo, { env: context.env }), {
      env: context.env,
      scan: values.scan,
      push: values.push ? { remote: values.remote, branch: values.branch } : undefined,
    });
    const { stdout } = context;
    for (const { folder, commit } of result.committed) stdout.write(`committed ${folder} (${commit.slice(0, 12)})\n`);
    for (const folder of result.running) stdout.write(`still running, left to its runner: ${folder}\n`);
    if (result.committed.length === 0) stdout.write('no records waiting to be committed\n');
    if (result.pushed)
      stdout.write(
        result.pushed.pushed
          ? `pushed to ${result.pushed.remote} ${result.pushed.branch}\n`
          : `nothing to push: ${result.pushed.remote} ${result.pushed.branch} has every ledger commit\n`,
      );
    if (result.pushed?.keptAside) stdout.write(`${describeKeptAside(result.pushed.keptAside)}\n`);
    if (result.unpushed?.count)
      stdout.write(
        `${result.unpushed.count} ledger commit${result.unpushed.count === 1 ? ' is' : 's are'} not on ${result.unpushed.upstream} yet: push with "etl ledger sync --push"\n`,
      );
    return ExitCode.ok;
  },
});

/** etl ledger reap [SEQUENCE]: what it recorded as abandoned, a line each. */
async function reap(sequence: string | undefined, context: CommandContext): Promise<number> {
  const store = await LedgerStore.open(context.repo, { env: context.env });
  const reaped = store.reap(sequence === undefined ? undefined : [checkSequenceName(sequence)]);
  for (const { folder, run } of reaped) context.stdout.write(`abandoned ${folder}: ${run.error}\n`);
  if (reaped.length === 0)
    context.stdout.write(`no run${sequence ? ` of ${sequence}` : ''} left behind by a runner that is gone\n`);
  return ExitCode.ok;
}
