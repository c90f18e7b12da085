import { describeEnding, failedStep } from '../runner/labels.js';
import { join } from 'node:path';
import { formatDuration } from '../definitions/duration.js';
import type { LedgerStore } from '../ledger/store.js';
import type { RunRecord } from '../runner/records.js';
import { foldedLog } from './actions.js';
import { callGitHub, type GitHub } from './client.js';

export const FAILURE_LABEL = 'etl-failure';

export interface NotifyContext {
  /** The ledger the run is recorded in and the run's folder in it, for the log tail. */
  store: LedgerStore;
  folder: string;
  /** The ledger commit, when the run was committed. */
  commit?: string;
  /** The workflow run, when inside GitHub Actions. */
  runUrl?: string | null;
  serverUrl?: string;
}

export interface Notified {
  action: 'opened' | 'commented' | 'closed' | 'none';
  issue?: number;
}

/** A hidden marker ties an issue to its sequence, whatever someone renames the title to. */
const marker = (sequence: string) => `<!-- etl-ledger:failing-sequence ${sequence} -->`;

/**
 * One issue per failing sequence: opened at its first failure (label etl-failure), commented
 * on at the next ones, closed with a comment when the sequence succeeds again.
 */
export async function notifyRunOutcome(github: GitHub, run: RunRecord, context: NotifyContext): Promise<Notified> {
  if (run.status !== 'failed' && run.status !== 'succeeded') return { action: 'none' };
  const { octokit, owner, repo } = github;
  const open = await callGitHub(github, 'list the open etl-failure issues', () =>
    octokit.paginate(octokit.rest.issues.listForRepo, {
      owner,
      repo,
      state: 'open',
      labels: FAILURE_LABEL,
      per_page: 100,
    }),
  );
  const existing = open.find((issue) => issue.body?.includes(marker(run.sequence)) && !issue.pull_request);
  if (run.status === 'succeeded') {
    if (!existing) return { action: 'none' };
    await callGitHub(github, `comment on issue #${existing.number}`, () =>
      octokit.rest.issues.createComment({
        owner,
        repo,
        issue_number: existing.number,
        body: `Sequence \`${run.sequence}\` succeeded again in run \`${run.id}\`${links(github, context)}. Closing.`,
      }),
    );
    await callGitHub(github, `close issue #${existing.number}`, () =>
      octokit.rest.issues.update({
        owner,
        repo,
        issue_number: existing.number,
        state: 'closed',
        state_reason: 'completed',
      }),
    );
    return { action: 'closed', issue: existing.number };
  }
  const report = failureReport(run, context, github);
  if (existing) {
    await callGitHub(github, `comment on issue #${existing.number}`, () =>
      octokit.rest.issues.createComment({ owner, repo, issue_number: existing.number, body: report }),
    );
    return { action: 'commented', issue: existing.number };
  }
  const created = await callGitHub(github, 'open an etl-failure issue', () =>
    octokit.rest.issues.create({
      owner,
      repo,
      title: `etl: sequence "${run.sequence}" is failing`,
      labels: [FAILURE_LABEL],
      body: `${marker(run.sequence)}\n${report}`,
    }),
  );
  return { action: 'opened', issue: created.data.number };
}

function links(github: GitHub, context: NotifyContext): string {
  const server = context.serverUrl ?? 'https://github.com';
  const parts = [
    context.runUrl ? `[workflow run](${context.runUrl})` : '',
    context.commit ? `[ledger commit](${server}/${github.slug}/commit/${context.commit})` : '',
  ].filter(Boolean);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

function failureReport(run: RunRecord, context: NotifyContext, github: GitHub): string {
  const failed = failedStep(run);
  const folder = join(context.store.writeRoot, context.folder);
  const record = failed ? context.store.readStep(folder, failed.record) : undefined;
  const last = record?.attempts.at(-1);
  const tail = record?.log.path ? context.store.readLogTail(join(folder, record.log.path), 30, 6000) : undefined;
  return [
    `### Run \`${run.id}\` of \`${run.sequence}\` failed${run.duration_ms === null ? '' : ` after ${formatDuration(run.duration_ms)}`}${links(github, context)}`,
    '',
    failed
      ? `Failing step: **${failed.index}. ${failed.name}** (${failed.run === undefined ? `module \`${failed.module}\`` : `run \`${failed.run}\``}): it ${describeEnding(last)}.`
      : (run.error ?? ''),
    `Record: \`${context.folder}/run.json\``,
    ...(tail ? ['', foldedLog('Last lines of its log', tail)] : []),
  ].join('\n');
}
