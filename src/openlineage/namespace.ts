// The namespace of the jobs: which repository's sequences they are. ETL_OPENLINEAGE_NAMESPACE
// when set; else the repository as "HOST/OWNER/NAME", the same in GitHub Actions
// (GITHUB_SERVER_URL, GITHUB_REPOSITORY) and in a clone (its origin remote); else the
// repository folder's name.
import { basename } from 'node:path';
import { type Env, gitQuery } from '../git/git.js';

export async function jobNamespace(repo: string, env: Env): Promise<string> {
  const given = env.ETL_OPENLINEAGE_NAMESPACE?.trim();
  if (given) return given;
  if (env.GITHUB_REPOSITORY) {
    const host = remoteName(`${env.GITHUB_SERVER_URL || 'https://github.com'}/${env.GITHUB_REPOSITORY}`);
    if (host) return host;
  }
  const origin = await gitQuery(repo, ['remote', 'get-url', 'origin'], env);
  return (origin && remoteName(origin.trim())) || basename(repo);
}

/**
 * "host/owner/repo" of a remote on a server: https://github.com/o/r.git, git@github.com:o/r,
 * ssh://git@github.com:22/o/r all give "github.com/o/r" (no user, port or ".git"). A local
 * path or file:// URL names no server: undefined.
 */
export function remoteName(url: string): string | undefined {
  let host: string;
  let path: string;
  const scp = /^(?:[^@/:]+@)?([\w.-]+):(?!\/\/)(.+)$/.exec(url);
  if (scp && !/^[a-z]:[\\/]/i.test(url)) {
    [host, path] = [scp[1]!, scp[2]!];
  } else {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return undefined;
    }
    if (parsed.protocol === 'file:' || !parsed.hostname) return undefined;
    [host, path] = [parsed.hostname, decodeURIComponent(parsed.pathname)];
  }
  const name = path.replace(/^\/+|\/+$/g, '').replace(/\.git$/, '');
  return name ? `${host.toLowerCase()}/${name}` : undefined;
}
