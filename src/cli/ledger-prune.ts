// etl ledger prune: parses the policy (given, or each sequence's retention:), calls pruneLedger,
// says what went, what stayed and why.
import type { Retention } from '../definitions/schema.js';
import { EtlError, ExitCode } from '../errors.js';
import type { RunRef } from '../ledger/history.js';
import { type PruneResult, pruneLedger } from '../ledger/retention/prune.js';
import { LedgerStore } from '../ledger/store.js';
import type { CommandContext } from './command.js';
import { loadValidated } from './load.js';
import { checkKnownSequence, digitsValue } from './options.js';

export interface PruneValues {
  'keep-days'?: string;
  'keep-runs'?: string;
  sequence: string[];
  'dry-run': boolean;
  json: boolean;
}

/** etl ledger prune [--keep-days N | --keep-runs N] [--sequence S]... [--dry-run] [--json] */
export async function prune(values: PruneValues, context: CommandContext): Promise<number> {
  const given = parsePolicy(values);
  const store = await LedgerStore.open(context.repo, { env: context.env });
  const named = values.sequence.map((sequence) => checkKnownSequence(context.repo, store, sequence));
  const policies = given
    ? (named.length > 0 ? named : store.sequences()).map((sequence) => ({ sequence, policy: given }))
    : await definedPolicies(context, named);
  const result = await pruneLedger({
    view: store.view,
    repo: context.repo,
    policies,
    dryRun: values['dry-run'],
    env: context.env,
  });
  if (values.json) context.stdout.write(`${JSON.stringify(asJson(result), null, 2)}\n`);
  else report(result, values['dry-run'], policies.length, context);
  return ExitCode.ok;
}

/** --keep-days N or --keep-runs N, checked; undefined when neither is given (each sequence's retention: then). */
function parsePolicy(values: PruneValues): Retention | undefined {
  const days = values['keep-days'];
  const runs = values['keep-runs'];
  if (days !== undefined && runs !== undefined)
    throw new EtlError('usage', '--keep-days and --keep-runs cannot be used together: give one of the two');
  if (days !== undefined) return { keep_days: wholeNumber('--keep-days', days, 'days') };
  if (runs !== undefined) return { keep_runs: wholeNumber('--keep-runs', runs, 'runs') };
  return undefined;
}

function wholeNumber(option: string, value: string, unit: string): number {
  const n = digitsValue(value) ?? 0;
  if (n < 1) throw new EtlError('usage', `${option} takes a whole number of ${unit}, at least 1, got "${value}"`);
  return n;
}

/** Without --keep-days or --keep-runs: the sequences (all, or those named) that say retention:. */
async function definedPolicies(
  context: CommandContext,
  named: string[],
): Promise<Array<{ sequence: string; policy: Retention }>> {
  // A sequence that does not validate is left out (what is wrong with it is on stderr).
  const report = await loadValidated(context, named);
  const policies = [...report.definitions.sequences.values()]
    .filter((s) => s.retention !== undefined && (named.length === 0 || named.includes(s.name)))
    .map((s) => ({ sequence: s.name, policy: s.retention! }));
  if (policies.length === 0)
    throw new EtlError(
      'usage',
      `${named.length > 0 ? named.join(', ') : 'no valid sequence'} ${named.length > 1 ? 'say' : 'says'} no retention: give --keep-days N or --keep-runs N${report.errors > 0 ? ' (or fix the errors above)' : ''}`,
    );
  return policies;
}

function report(result: PruneResult, dryRun: boolean, sequences: number, context: CommandContext): void {
  const out = (line: string) => context.stdout.write(`${line}\n`);
  if (dryRun) for (const ref of result.removed) out(`would remove ${ref.folder}`);
  else
    for (const [sequence, refs] of bySequence(result.removed))
      out(`removed ${count(refs.length, 'run')} of ${sequence}: ${refs[0]!.id} .. ${refs.at(-1)!.id}`);
  for (const kept of result.kept) out(`${dryRun ? 'would keep' : 'kept'} ${kept.folder}: ${kept.reasons.join('; ')}`);
  for (const missing of result.missing) out(`could not keep ${missing}`);
  for (const left of result.leftOnDisk) out(`committed as removed, but still on disk: ${left}`);
  for (const { commit } of result.commits) out(`committed the prune: ${commit.slice(0, 12)}`);
  for (const trash of result.emptying)
    out(`the removed folders are out of the working tree; deleting them from ${trash} in the background`);
  const what = `${count(result.removed.length, 'run')} ${dryRun ? 'would be removed' : 'removed'}`;
  out(
    `${what} from ${count(sequences, 'sequence')}; ${result.kept.length} older kept, ${result.keptByPolicy} kept by the policy${dryRun ? ' (dry run: nothing changed)' : ''}`,
  );
}

function bySequence(refs: RunRef[]): Map<string, RunRef[]> {
  const map = new Map<string, RunRef[]>();
  for (const ref of refs) map.set(ref.sequence, [...(map.get(ref.sequence) ?? []), ref]);
  return map;
}

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

function asJson(result: PruneResult) {
  return {
    removed: result.removed.map((ref) => ref.folder),
    kept: result.kept.map((ref) => ({ folder: ref.folder, reasons: ref.reasons })),
    kept_by_policy: result.keptByPolicy,
    missing: result.missing,
    commits: result.commits.map((c) => c.commit),
    left_on_disk: result.leftOnDisk,
    emptying: result.emptying,
  };
}
