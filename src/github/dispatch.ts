import { EtlError } from '../errors.js';
import { sleep } from '../timers.js';
import { callGitHub, type GitHub } from './client.js';

export const DISPATCH_WORKFLOW = 'etl-dispatch.yml';

export interface DispatchOptions {
  sequence: string;
  ref: string;
  /** More workflow inputs, e.g. dry_run. */
  inputs?: Record<string, string>;
  /** Follow the workflow run until it completes. */
  wait?: boolean;
  pollMs?: number;
  /** Told once the workflow is dispatched (with the run's page when GitHub says it). */
  onDispatched?: (url: string | undefined) => void;
  /** Told about each state the run goes through, for a progress line. */
  onStatus?: (status: string, url: string | undefined) => void;
}

export interface DispatchResult {
  runId?: number;
  url?: string;
  /** With wait: the run's conclusion (success, failure, cancelled, ...). */
  conclusion?: string;
}

/**
 * Starts etl-dispatch.yml for a sequence through the REST API and, with `wait`, follows the
 * workflow run it started until it completes.
 */
export async function dispatchSequence(github: GitHub, options: DispatchOptions): Promise<DispatchResult> {
  const { octokit, owner, repo } = github;
  // Runs created from a little before the dispatch on (clocks differ) are candidates.
  const since = Date.now() - 5_000;
  const response = await callGitHub(github, `dispatch ${DISPATCH_WORKFLOW}`, () =>
    octokit.rest.actions.createWorkflowDispatch({
      owner,
      repo,
      workflow_id: DISPATCH_WORKFLOW,
      ref: options.ref,
      inputs: { sequence: options.sequence, ...options.inputs },
      return_run_details: true,
    }),
  );
  // GitHub answers 200 with the run's id when it can; older servers answer 204 with nothing.
  const details = ((response.status as number) === 200 ? response.data : undefined) as
    | { workflow_run_id?: number; html_url?: string }
    | undefined;
  let runId = details?.workflow_run_id;
  let url = details?.html_url;
  options.onDispatched?.(url);
  if (!options.wait) return { runId, url };
  for (let tries = 0; runId === undefined; tries++) {
    if (tries >= 30)
      throw new EtlError('dispatch-lost', `dispatched ${DISPATCH_WORKFLOW}, but no workflow run for it appeared`);
    await sleep(options.pollMs ?? 2000);
    // (The API description types `created` as a plain date-time, so the ">=" search syntax is
    // not used: the newest dispatched run created since the dispatch is picked here.)
    const runs = await callGitHub(github, `list the runs of ${DISPATCH_WORKFLOW}`, () =>
      octokit.rest.actions.listWorkflowRuns({
        owner,
        repo,
        workflow_id: DISPATCH_WORKFLOW,
        event: 'workflow_dispatch',
        per_page: 10,
      }),
    );
    const run = runs.data.workflow_runs.find((r) => Date.parse(r.created_at) >= since);
    runId = run?.id;
    url = run?.html_url;
  }
  let last = '';
  for (;;) {
    const run = (
      await callGitHub(github, `follow workflow run ${runId}`, () =>
        octokit.rest.actions.getWorkflowRun({ owner, repo, run_id: runId! }),
      )
    ).data;
    url = run.html_url;
    if (run.status !== last) options.onStatus?.(run.status ?? 'unknown', url);
    last = run.status ?? '';
    if (run.status === 'completed') return { runId, url, conclusion: run.conclusion ?? 'unknown' };
    await sleep(options.pollMs ?? 5000);
  }
}
