import type { CiContext, Trigger } from '../runner/records.js';

/** The GitHub Actions context of this process, or null outside Actions. */
export function ciContext(env: Record<string, string | undefined>): CiContext | null {
  if (env.GITHUB_ACTIONS !== 'true') return null;
  const server = env.GITHUB_SERVER_URL ?? 'https://github.com';
  const url =
    env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
      ? `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
      : null;
  return {
    provider: 'github-actions',
    workflow: env.GITHUB_WORKFLOW ?? null,
    run_id: env.GITHUB_RUN_ID ?? null,
    run_attempt: env.GITHUB_RUN_ATTEMPT ?? null,
    sha: env.GITHUB_SHA ?? null,
    ref: env.GITHUB_REF ?? null,
    event: env.GITHUB_EVENT_NAME ?? null,
    actor: env.GITHUB_ACTOR ?? null,
    repository: env.GITHUB_REPOSITORY ?? null,
    url,
  };
}

const EVENT_KINDS: Record<string, string> = {
  schedule: 'schedule',
  push: 'push',
  workflow_dispatch: 'dispatch',
  pull_request: 'pull_request',
};

/** Who or what started a run: a person at a terminal, or a GitHub Actions event. */
export function triggerFrom(env: Record<string, string | undefined>, localUser: string | null, kind?: string): Trigger {
  const ci = ciContext(env);
  return {
    kind: kind ?? (ci ? (EVENT_KINDS[ci.event ?? ''] ?? ci.event ?? 'ci') : 'manual'),
    actor: ci?.actor ?? localUser,
    ci,
  };
}
