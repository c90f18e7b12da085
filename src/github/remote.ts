// Which GitHub repository a git remote URL names, and the web links of a run recorded there:
// its definitions' commit, its Actions run and its pull request.
import { type Env, gitQuery } from '../git/git.js';
import type { RunRecord } from '../runner/records.js';

/** "owner/repo" of a remote on a server (a local path or file:// URL names none). */
export function repositorySlug(url: string): string | undefined {
  const onServer = /^(https?|ssh|git):\/\/[^/]+\/|^[\w.-]+@[\w.-]+:/.test(url);
  const match = onServer ? /[/:]([^/:]+)\/([^/]+?)(?:\.git)?\/?$/.exec(url) : null;
  return match ? `${match[1]}/${match[2]}` : undefined;
}

export interface GitHubWeb {
  /** https://github.com, or a GitHub Enterprise server's address. */
  server: string;
  slug: string;
}

/** The GitHub web address of a remote URL, when it is on github.com (or on `server`'s host). */
export function githubWeb(url: string, server = 'https://github.com'): GitHubWeb | undefined {
  const slug = repositorySlug(url.trim());
  const host = /^https?:\/\/([^/]+)/.exec(server)?.[1];
  if (!slug || !host) return undefined;
  const onHost = url.includes(`@${host}:`) || url.includes(`@${host}/`) || url.includes(`://${host}/`);
  return onHost ? { server: server.replace(/\/+$/, ''), slug } : undefined;
}

/** The GitHub web address of a repository's origin remote, if it is on GitHub. */
export async function originWeb(repo: string, env: Env): Promise<GitHubWeb | undefined> {
  const url = await gitQuery(repo, ['remote', 'get-url', 'origin'], env);
  return url ? githubWeb(url, env.GITHUB_SERVER_URL) : undefined;
}

export interface RunLinks {
  commit: string | null;
  actions_run: string | null;
  pull_request: string | null;
}

const SLUG = /^[\w.-]+\/[\w.-]+$/;
const WEB = /^https?:\/\/[^\s/?#]+/;

/**
 * Links for a run: from its Actions context when it ran there, else from the repository's
 * GitHub remote. Records are untrusted text: only http(s) addresses of well-formed names.
 */
export function runLinks(run: RunRecord, remote: GitHubWeb | undefined): RunLinks {
  const ci = run.trigger.ci;
  const actionsRun = ci?.url && WEB.test(ci.url) ? ci.url : null;
  const server = (actionsRun ? WEB.exec(actionsRun)![0] : undefined) ?? remote?.server;
  const slug = ci?.repository && SLUG.test(ci.repository) ? ci.repository : remote?.slug;
  const base = server && slug ? `${server}/${slug}` : undefined;
  const commit = [run.definitions.commit, ci?.sha].find((sha) => sha && /^[0-9a-f]{40,64}$/.test(sha));
  const pull = /^refs\/pull\/(\d+)\//.exec(ci?.ref ?? '')?.[1];
  return {
    commit: base && commit ? `${base}/commit/${commit}` : null,
    actions_run: actionsRun,
    pull_request: base && pull ? `${base}/pull/${pull}` : null,
  };
}
