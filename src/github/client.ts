import { Octokit } from '@octokit/rest';
import { EtlError, type ErrorCode } from '../errors.js';
import { openGit, type Env } from '../git/git.js';
import { sleep } from '../timers.js';
import { repositorySlug } from './remote.js';

export interface GitHub {
  octokit: Octokit;
  owner: string;
  repo: string;
  baseUrl: string;
  /** Says who did what, for messages: "office/pipelines". */
  slug: string;
}

/**
 * A client for the repository's GitHub API: the token from GITHUB_TOKEN, the API from
 * GITHUB_API_URL (GitHub Enterprise, or a test server), the repository from
 * GITHUB_REPOSITORY or the origin remote.
 */
export async function openGitHub(repoDir: string, env: Env): Promise<GitHub> {
  const token = env.GITHUB_TOKEN;
  if (!token)
    throw new EtlError(
      'github-token-missing',
      'GITHUB_TOKEN is not set: create a token with the permissions this command needs (in Actions, pass ${{ secrets.GITHUB_TOKEN }} as GITHUB_TOKEN)',
    );
  const baseUrl = (env.GITHUB_API_URL ?? 'https://api.github.com').replace(/\/+$/, '');
  const slug = env.GITHUB_REPOSITORY || (await slugFromRemote(repoDir, env));
  const [owner, repo] = slug.split('/') as [string, string];
  const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
  return {
    octokit: new Octokit({ auth: token, baseUrl, log: quiet, userAgent: 'etl-ledger' }),
    owner,
    repo,
    baseUrl,
    slug,
  };
}

async function slugFromRemote(repoDir: string, env: Env): Promise<string> {
  const url = (
    await openGit(repoDir, env)
      .raw(['remote', 'get-url', 'origin'])
      .catch(() => '')
  ).trim();
  const slug = repositorySlug(url);
  if (!slug) {
    throw new EtlError(
      'github-repository',
      `cannot tell which GitHub repository this is${url ? ` (origin is ${JSON.stringify(url.replace(/(\w+:\/\/)[^/@\s]+@/, '$1***@'))}, not a GitHub URL)` : ''}: set GITHUB_REPOSITORY=owner/repo, or add a GitHub "origin" remote`,
    );
  }
  return slug;
}

interface RequestFailure {
  status?: number;
  message?: string;
  code?: string;
  cause?: { code?: string };
  response?: { headers?: Record<string, string | undefined>; data?: { message?: string; errors?: unknown[] } };
}

/** Rate limits: waits as the response headers say, at most this long in all. */
const MAX_RATE_LIMIT_WAIT_MS = 5 * 60_000;

/**
 * Makes one API call with the failures a person can act on turned into clear errors: a
 * missing or refused token, a missing permission (and which), a repository or workflow not
 * found, an invalid request, the network. Rate limits are waited out as GitHub's headers
 * say. The token never appears in a message.
 */
export async function callGitHub<T>(github: GitHub, what: string, call: () => Promise<T>): Promise<T> {
  let waited = 0;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      const failure = error as RequestFailure;
      const headers = failure.response?.headers ?? {};
      const wait = rateLimitWait(failure.status, headers);
      if (wait !== undefined && waited + wait <= MAX_RATE_LIMIT_WAIT_MS) {
        waited += wait;
        await sleep(wait);
        continue;
      }
      throw describe(github, what, failure, wait !== undefined);
    }
  }
}

function rateLimitWait(status: number | undefined, headers: Record<string, string | undefined>): number | undefined {
  if (status !== 403 && status !== 429) return undefined;
  if (headers['retry-after'] !== undefined) return Number(headers['retry-after']) * 1000;
  if (headers['x-ratelimit-remaining'] === '0' && headers['x-ratelimit-reset'] !== undefined) {
    return Math.max(0, Number(headers['x-ratelimit-reset']) * 1000 - Date.now()) + 1000;
  }
  return status === 429 ? 60_000 : undefined;
}

function describe(github: GitHub, what: string, failure: RequestFailure, rateLimited: boolean): EtlError {
  const said = failure.response?.data?.message ?? failure.message ?? 'no message';
  const where = `${github.slug} at ${github.baseUrl}`;
  let code: ErrorCode = 'github-failed';
  let message: string;
  // Octokit reports a request that never got an answer as status 500 without a response.
  if (failure.status === undefined || failure.response === undefined) {
    code = 'github-unreachable';
    const reason = failure.cause?.code ?? /\b(E[A-Z]{3,})\b/.exec(said)?.[1] ?? said;
    message = `cannot reach the GitHub API at ${github.baseUrl} to ${what}: ${reason}`;
  } else if (rateLimited) {
    code = 'github-rate-limit';
    message = `GitHub's rate limit stopped ${what} (${failure.status}) and resets too late to wait for`;
  } else if (failure.status === 401) {
    code = 'github-token';
    message = `GitHub refused the token to ${what} (401 ${said}): check that GITHUB_TOKEN is valid and not expired`;
  } else if (failure.status === 403) {
    code = 'github-permission';
    const needed = failure.response?.headers?.['x-accepted-github-permissions'];
    message = `GitHub denied ${what} in ${where} (403 ${said})${needed ? `: the token needs the permission ${needed.replace(/=/g, ': ')}` : ': the token lacks a permission it needs'}`;
  } else if (failure.status === 404) {
    code = 'github-not-found';
    message = `GitHub found nothing to ${what} in ${where} (404): check the repository, the workflow file on the default branch, and that the token can see them`;
  } else if (failure.status === 422) {
    const errors = failure.response?.data?.errors;
    message = `GitHub rejected the request to ${what} (422 ${said}${errors?.length ? `: ${JSON.stringify(errors)}` : ''})`;
  } else {
    message = `GitHub answered ${failure.status} to ${what} in ${where}: ${said}`;
  }
  return new EtlError(code, message);
}
