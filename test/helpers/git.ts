import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { pipelineRepo, tempRepo } from './repo.js';

/** Runs git in a folder and returns its trimmed stdout. */
export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
  }).trim();
}

/** Makes a folder a git repository with an identity, no background gc, and a first commit. */
export function initRepo(dir: string, identity = true): string {
  git(dir, 'init', '--quiet', '--initial-branch=main');
  if (identity) {
    git(dir, 'config', 'user.name', 'Test Person');
    git(dir, 'config', 'user.email', 'person@example.com');
  }
  git(dir, 'config', 'gc.auto', '0');
  git(dir, 'add', '-A');
  git(
    dir,
    ...(identity ? [] : ['-c', 'user.name=Setup', '-c', 'user.email=setup@example.com']),
    'commit',
    '--quiet',
    '--allow-empty',
    '-m',
    'definitions',
  );
  return dir;
}

/** A bare remote that refuses any push that is not a fast-forward (so a force push would fail). */
export function bareRemote(t: TestContext): string {
  const dir = join(tempRepo(t), 'remote.git');
  execFileSync('git', ['init', '--quiet', '--bare', '--initial-branch=main', dir]);
  git(dir, 'config', 'receive.denyNonFastForwards', 'true');
  git(dir, 'config', 'receive.denyDeletes', 'true');
  return dir;
}

/** A pipeline repository (see pipelineRepo) committed, pushed to a new bare remote. */
export function pipelineWithRemote(
  t: TestContext,
  definitions: Parameters<typeof pipelineRepo>[1],
): { repo: string; remote: string } {
  const repo = initRepo(pipelineRepo(t, definitions));
  const remote = bareRemote(t);
  git(repo, 'remote', 'add', 'origin', remote);
  git(repo, 'push', '--quiet', 'origin', 'main');
  return { repo, remote };
}

/** A clone with an identity; `depth` makes it shallow, as actions/checkout does. */
export function cloneOf(t: TestContext, remote: string, depth?: number): string {
  const dir = join(tempRepo(t), 'clone');
  execFileSync('git', ['clone', '--quiet', ...(depth ? ['--depth', String(depth)] : []), `file://${remote}`, dir]);
  git(dir, 'config', 'user.name', 'Clone Person');
  git(dir, 'config', 'user.email', 'clone@example.com');
  git(dir, 'config', 'gc.auto', '0');
  return dir;
}

/** The run folders committed at a revision of a repository (or a bare remote). */
export function runFolders(dir: string, rev = 'HEAD'): string[] {
  return git(dir, 'ls-tree', '-r', '--name-only', rev, '--', 'runs')
    .split('\n')
    .filter((p) => p.endsWith('/run.json'))
    .map((p) => p.slice(0, -'/run.json'.length));
}
