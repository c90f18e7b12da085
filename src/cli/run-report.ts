// What `etl run` prints and tells once a run has ended.
import { join, relative } from 'node:path';
import { EtlError, ExitCode, exitCodeFor } from '../errors.js';
import { appendSummary, runSummary, warningLine, writeOutputs } from '../github/actions.js';
import { describeKeptAside } from '../git/kept-aside.js';
import { triggerFrom } from '../github/env.js';
import { originWeb, runLinks } from '../github/remote.js';
import { listHistory } from '../ledger/history.js';
import type { RunOutcome } from '../ledger/run-sequence.js';
import { readLogTail, readStep } from '../ledger/step-log.js';
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
  ledger: string,
  outcome: RunOutcome,
  notify: { github: boolean; webhooks: { urls: string[]; timeoutMs: number; secrets: string[] } },
): Promise<void> {
  const { run, folder, scratch } = outcome;
  const { out } = io;
  // Where the records are, as a path that exists from here (a ledger branch's worktree is
  // inside .git; a run from a subfolder is recorded at the repository's root).
  const shown = relative(context.cwd, join(ledger, folder)) || '.';
  if (io.actions) {
    appendSummary(context.env, runSummary(run, folder, ledger));
    writeOutputs(context.env, { 'run-id': run.id, status: run.status, 'record-path': `${folder}/run.json` });
  }
  if (run.status === 'failed' && !io.verbose && !io.actions)
    context.stderr.write(failureLogs(join(ledger, folder), shown, run));
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
  if (outcome.ledgerError) {
    context.stderr.write(
      `etl run: the run is recorded in ${shown}, but ${outcome.ledgerError.message} [${outcome.ledgerError.code}]\n`,
    );
  }
  // The record before the telling: a reader of --json (etl schedule) knows the run ended
  // without waiting for a webhook or GitHub that is slow to answer.
  if (io.json) context.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
  if (notify.github) await notifyGitHub(context, ledger, outcome);
  if (notify.webhooks.urls.length > 0) await notifyWebhooks(context, ledger, outcome, notify.webhooks);
}

/** The exit of `etl run`: the run's status first, then whether it was recorded in git. */
export function runExitCode(outcome: RunOutcome, cancelledExit: number): number {
  if (outcome.run.status === 'cancelled') return cancelledExit;
  if (outcome.run.status !== 'succeeded') return ExitCode.failed;
  // The run succeeded but committing or pushing it did not: that failure's own exit.
  return outcome.ledgerError ? exitCodeFor(outcome.ledgerError) : ExitCode.ok;
}

/** The last lines of the failed step's log: what a person needs to see first. */
function failureLogs(folder: string, shown: string, run: RunRecord, lines = 20): string {
  const failed = failedStep(run);
  if (!failed) return '';
  const record = readStep(folder, failed.record);
  if (!record) return '';
  if (record.log.path === null) return `(step ${failed.index} printed nothing)\n`;
  const tail = readLogTail(join(folder, record.log.path), lines);
  if (tail === undefined) return '';
  if (!tail) return `(step ${failed.index} printed nothing)\n`;
  return `--- last ${tail.split('\n').length} lines of ${failed.name}'s log (${join(shown, record.log.path)}) ---\n${tail}\n---\n`;
}

/** POSTs the outcome to the --webhook URLs when there is something to tell; a failed delivery is a warning. */
async function notifyWebhooks(
  context: CommandContext,
  ledger: string,
  { run, folder }: RunOutcome,
  webhooks: { urls: string[]; timeoutMs: number; secrets: string[] },
): Promise<void> {
  const { webhookPayload, deliverWebhooks } = await import('../notify/webhook.js');
  const previous = listHistory(ledger, { sequence: run.sequence, before: run.id, limit: 10 }).find(
    (r) => r.status !== 'running',
  );
  const links = runLinks(run, await originWeb(context.repo, context.env));
  const payload = webhookPayload(run, {
    folder: join(ledger, folder),
    previous,
    secrets: webhooks.secrets,
    links: { ...links },
  });
  if (!payload) return;
  for (const delivery of await deliverWebhooks(webhooks.urls, payload, { timeoutMs: webhooks.timeoutMs })) {
    // The host only: a webhook's path often holds its token.
    const host = new URL(delivery.url).host;
    if (delivery.ok)
      context.stderr.write(`told webhook ${host} (${payload.event})
`);
    else
      context.stderr.write(
        warningLine(
          context.env,
          'etl run',
          'etl run --webhook',
          `webhook ${host} not told after ${delivery.attempts} attempts: ${delivery.error}`,
        ),
      );
  }
}

/** Tells GitHub about the outcome; a failure to do so is a warning, not the run's failure. */
async function notifyGitHub(
  context: CommandContext,
  ledger: string,
  { run, folder, commit }: RunOutcome,
): Promise<void> {
  try {
    // Loaded only here: the REST client costs some 30 ms of every start.
    const [{ openGitHub }, { notifyRunOutcome }] = await Promise.all([
      import('../github/client.js'),
      import('../github/notify.js'),
    ]);
    const github = await openGitHub(context.repo, context.env);
    const result = await notifyRunOutcome(github, run, {
      ledger,
      folder,
      commit,
      runUrl: triggerFrom(context.env, null).ci?.url,
      serverUrl: context.env.GITHUB_SERVER_URL,
    });
    if (result.action !== 'none')
      context.stderr.write(`${result.action} issue #${result.issue} about ${run.sequence}\n`);
  } catch (error) {
    if (!(error instanceof EtlError)) throw error;
    context.stderr.write(
      warningLine(context.env, 'etl run', 'etl run --notify', `could not notify GitHub: ${error.message}`),
    );
  }
}
