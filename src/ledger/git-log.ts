import { RUN_ID_PATTERN, runIdTime } from './layout.js';
import { TRAILERS } from './commit.js';
import { gitOperation, gitQuery, type Env } from '../git/git.js';
import { gitRecords } from '../git/run-git.js';

export interface LoggedRun {
  id: string;
  sequence: string;
  status: string;
  /** From the run id: when the run started. */
  started_at: string;
  /** As the subject says it ("1m30s"), or null. */
  duration: string | null;
  failed_step: string | null;
  trigger: string | null;
  commit: string;
}

const FIELD = '\x1f';
const RECORD = '\x1e';

/**
 * Run history from the commits' trailers: what `etl history` shows, for a clone without the
 * run folders on disk. A run committed with --commit-progress has several commits; the
 * newest one speaks for it.
 */
export async function logFromGit(
  repo: string,
  options: { sequence?: string; limit?: number; revs?: string[]; env?: Env } = {},
): Promise<LoggedRun[]> {
  return gitOperation('reading the ledger from git log', async () => {
    const trailer = (key: string) => `%(trailers:key=${key},valueonly,separator=%x2C)`;
    const format = `${['%H', '%s', trailer(TRAILERS.runId), trailer(TRAILERS.sequence), trailer(TRAILERS.status), trailer(TRAILERS.trigger), trailer(TRAILERS.failedStep)].join('%x1f')}%x1e`;
    const args = ['log', `--format=${format}`, `--grep=^${TRAILERS.runId}: `];
    if (options.sequence)
      args.push(
        `--grep=^${TRAILERS.sequence}: ${options.sequence.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`,
        '--all-match',
      );
    // Several revisions (a ledger branch and the branch checked out) are read as one history.
    const revs: string[] = [];
    for (const rev of options.revs ?? ['HEAD']) {
      if (await gitQuery(repo, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], options.env)) revs.push(rev);
    }
    if (revs.length === 0) return [];
    args.push(...revs, '--');
    const seen = new Set<string>();
    const runs: LoggedRun[] = [];
    // Read as git writes it, and stopped at the limit: the newest runs come first.
    for await (const record of gitRecords(repo, args, RECORD, options.env)) {
      const [commit, subject, id, sequence, status, trigger, failed] = record
        .replace(/^\n/, '')
        .split(FIELD)
        .map((f) => f?.trim() ?? '');
      if (!commit || !id || !RUN_ID_PATTERN.test(id) || seen.has(id)) continue;
      seen.add(id);
      runs.push({
        id,
        sequence: sequence ?? '',
        status: status ?? '',
        started_at: runIdTime(id),
        duration: / in (\S+) \[/.exec(subject ?? '')?.[1] ?? null,
        failed_step: failed || null,
        trigger: trigger || null,
        commit,
      });
      if (options.limit && runs.length >= options.limit) break;
    }
    return runs;
  });
}
