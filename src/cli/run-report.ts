// What `etl run` prints once a run has ended, and the telling (notify/run-outcome.ts) it reports.
import { isSuccess } from '../runner/statuses.js';
import { join, relative } from 'node:path';
import { ExitCode, exitCodeFor } from '../errors.js';
import { appendSummary, runSummary, warningLine, writeOutputs } from '../github/actions.js';
import { describeKeptAside } from '../git/kept-aside.js';
import type { RunOutcome } from '../ledger/run-sequence.js';
import { type RunNotifyOptions, tellRunOutcome } from '../notify/run-outcome.js';
import type { LedgerStore } from '../ledger/store.js';
import { failedStep } from '../runner/labels.js';
import type { RunRecord } from '../runner/records.js';
import type { CommandContext } from './command.js';
import type { Paint } from './output.js';
import { summaryLine } from './progress.js';

export interface RunOutput {
  /** Progress and the summary: stderr with --json (stdout then holds only the record). */
  out: NodeJS.WriteStream;
  paint: Paint;
  json: boolean;
  verbose: boolean;
  actions: boolean;
}

/** The summary, where the records are, the failed step's log tail, commit and push, GitHub. */
export async function reportOutcome(
  context: CommandContext,
  io: RunOutput,
  store: LedgerStore,
  outcome: RunOutcome,
  notify: Pick<RunNotifyOptions, 'github' | 'webhooks'>,
): Promise<void> {
  const { run, folder, scratch } = outcome;
  const ledger = store.writeRoot;
  const { out } = io;
  // Where the records are, as a path that exists from here (a ledger branch's worktree is
  // inside .git; a run from a subfolder is recorded at the repository's root).
  const shown = relative(context.cwd, join(ledger, folder)) || '.';
  if (io.actions) {
    appendSummary(context.env, runSummary(run, folder, store));
    writeOutputs(context.env, { 'run-id': run.id, status: run.status, 'record-path': `${folder}/run.json` });
  }
  if (run.status === 'failed' && !io.verbose && !io.actions)
    context.stderr.write(failureLogs(store, join(ledger, folder), shown, run));
  out.write(summaryLine(run, shown, io.paint));
  if (scratch) out.write(`scratch folder kept for inspection: ${scratch}\n`);
  // After a rebase onto the remote the commit that was pushed is not the one first made.
  const { push } = outcome;
  if (push) {
    out.write(
      `committed ${push.head.slice(0, 12)}, pushed to ${push.remote} ${push.branch}${push.attempts > 1 ? ` (after ${push.attempts} attempts)` : ''}\n`,
    );
    if (push.keptAside) out.write(`${describeKeptAside(push.keptAside)}\n`);
  } else if (outcome.commit) out.write(`committed ${outcome.commit.slice(0, 12)}\n`);
  const { retention } = outcome;
  if (retention?.error)
    context.stderr.write(
      warningLine(
        context.env,
        'etl run',
        'retention',
        `retention (${retention.policy}) not applied: ${retention.error}`,
      ),
    );
  else if (retention?.removed)
    out.write(
      `retention (${retention.policy}): removed ${retention.removed} older run${retention.removed === 1 ? '' : 's'}${retention.kept ? `, kept ${retention.kept} still pointed at` : ''} (commit ${retention.commit?.slice(0, 12)})\n`,
    );
  if (outcome.ledgerError) {
    context.stderr.write(
      `etl run: the run is recorded in ${shown}, but ${outcome.ledgerError.message} [${outcome.ledgerError.code}]\n`,
    );
  }
  // The record before the telling: a reader of --json (etl schedule) knows the run ended
  // without waiting for a webhook or GitHub that is slow to answer.
  if (io.json) context.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
  await tellRunOutcome(
    outcome,
    { repo: context.repo, env: context.env, store, ...notify },
    {
      told: (line) => context.stderr.write(`${line}\n`),
      warn: (option, message) => context.stderr.write(warningLine(context.env, 'etl run', option, message)),
    },
  );
}

/** The exit of `etl run`: the run's status first, then whether it was recorded in git. */
export function runExitCode(outcome: RunOutcome, cancelledExit: number): number {
  if (outcome.run.status === 'cancelled') return cancelledExit;
  if (!isSuccess(outcome.run.status)) return ExitCode.failed;
  // The run succeeded but committing or pushing it did not: that failure's own exit.
  return outcome.ledgerError ? exitCodeFor(outcome.ledgerError) : ExitCode.ok;
}

/** The last lines of the failed step's log: what a person needs to see first. */
function failureLogs(store: LedgerStore, folder: string, shown: string, run: RunRecord, lines = 20): string {
  const failed = failedStep(run);
  if (!failed) return '';
  const record = store.readStep(folder, failed.record);
  if (!record) return '';
  if (record.log.path === null) return `(step ${failed.index} printed nothing)\n`;
  const tail = store.readLogTail(join(folder, record.log.path), lines);
  if (tail === undefined) return '';
  if (!tail) return `(step ${failed.index} printed nothing)\n`;
  return `--- last ${tail.split('\n').length} lines of ${failed.name}'s log (${join(shown, record.log.path)}) ---\n${tail}\n---\n`;
}
