import { failedStep, stepTitle } from '../runner/labels.js';
import { formatDuration } from '../definitions/duration.js';
import type { RunRecord } from '../runner/records.js';
import { commitFolder, type CommitFolderOptions } from '../git/commit-folder.js';
import { forgetUnrecorded } from './unrecorded.js';

/** Trailer keys: `git log --format='%(trailers:key=Etl-Status,valueonly)'` reads them. */
export const TRAILERS = {
  runId: 'Etl-Run-Id',
  sequence: 'Etl-Sequence',
  status: 'Etl-Status',
  trigger: 'Etl-Trigger',
  definitions: 'Etl-Definitions',
  failedStep: 'Etl-Failed-Step',
} as const;

/**
 * The commit message of a run: a subject to scan in `git log --oneline`, a table of the
 * steps, and trailers for scripts.
 *   etl(daily): failed in 1m30s [20261125T031828123Z-9f3a0c1d]
 */
export function commitMessage(run: RunRecord): string {
  const took = run.duration_ms === null ? '' : ` in ${formatDuration(run.duration_ms)}`;
  const progress = run.status === 'running' ? runningAt(run) : '';
  const subject = `etl(${run.sequence}): ${run.status}${progress}${took} [${run.id}]`;
  const rows = run.steps.map((s) => [
    stepTitle(s),
    s.status,
    s.duration_ms === null ? '' : formatDuration(s.duration_ms),
  ]);
  const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i]!.length), 0));
  const table = rows
    .map((r) => `${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]}`.trimEnd())
    .join('\n');
  const failed = failedStep(run);
  const trailers = [
    `${TRAILERS.runId}: ${run.id}`,
    `${TRAILERS.sequence}: ${run.sequence}`,
    `${TRAILERS.status}: ${run.status}`,
    `${TRAILERS.trigger}: ${run.trigger.kind}${run.trigger.actor ? ` by ${run.trigger.actor}` : ''}`,
    `${TRAILERS.definitions}: ${run.definitions.commit ?? 'none'}${run.definitions.dirty ? ' (dirty)' : ''}`,
    ...(failed ? [`${TRAILERS.failedStep}: ${failed.index} ${failed.name}`] : []),
  ];
  return `${subject}\n\n${table}${run.error ? `\n\n${oneLine(run.error)}` : ''}\n\n${trailers.join('\n')}\n`;
}

function runningAt(run: RunRecord): string {
  const steps = run.steps.filter((s) => s.role === 'step');
  const done = steps.filter((s) => s.status !== 'pending' && s.status !== 'running').length;
  return ` (${done}/${steps.length} steps done)`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

export type CommitOptions = CommitFolderOptions;

/**
 * Commits one run's folder and nothing else (see commitFolder), with the run's message:
 * returns the new commit, or undefined when the folder had nothing new.
 */
export async function commitRunFolder(
  repo: string,
  folder: string,
  run: RunRecord,
  options: CommitOptions = {},
): Promise<string | undefined> {
  const commit = await commitFolder(repo, folder, {
    ...options,
    message: commitMessage(run),
    what: `run ${run.id}`,
    reflog: `etl-ledger: ${run.sequence} ${run.id}`,
    later: '"etl ledger sync" commits them',
  });
  // Recorded for good (or already was): `etl ledger sync` need not look at it again.
  if (run.status !== 'running') forgetUnrecorded(repo, run.id);
  return commit;
}
