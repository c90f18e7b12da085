// Ticks claimed on the remote, so that daemons on several machines (clones of one remote, each
// with --push) run each tick once. The claims are one small JSON file, the newest ticks claimed
// per sequence, committed on the ref refs/etl/claims of the remote. Claiming is git's own
// compare-and-swap: the claim commit's parent is the one the claims were read from, and the
// remote takes only a fast-forward, so of two daemons that read the same claims one push goes
// through; the other reads again and finds the tick taken. The ref is not a branch, so no
// workflow sees it; `git log refs/etl/claims` shows who ran what.
import { EtlError } from '../errors.js';
import { DEFAULT_IDENTITY, type Env } from '../git/git.js';
import { gitMessage, runGit } from '../git/run-git.js';
import { sleep } from '../timers.js';

export const CLAIMS_REF = 'refs/etl/claims';
const CLAIMS_FILE = 'claims.json';
/** Claims kept per sequence, newest tick first: a tick older than all of them counts as taken. */
export const CLAIMS_KEPT = 100;
/**
 * A claim for a tick (or made at a time) further ahead of this machine's clock than this was
 * made by a clock that runs ahead: it is said, and not counted (it would take a tick that has
 * not come yet). Daemons claim a tick at most a few seconds before it.
 */
export const MAX_CLOCK_AHEAD_MS = 5 * 60_000;
/** Rejections that mean another daemon claimed in between: read again and retry. */
const RACED = /stale info|cannot lock ref|incorrect old value|failed to update ref|fetch first|non-fast-forward/;

export interface Claim {
  tick: string;
  host: string;
  pid: number;
  claimed_at: string;
}

export type ClaimResult = (
  | { won: true }
  /** `older`: the tick is older than every claim kept, so it may have run: not run again. */
  | { won: false; by: Claim; older?: boolean }
) & {
  /** Claims of the sequence made by a clock far ahead of this one: not counted, dropped from the claims. */
  ignored: Claim[];
};

export interface ClaimOptions {
  repo: string;
  remote: string;
  env: Env;
  host: string;
  pid: number;
  /** Tries when other daemons keep claiming in between. */
  attempts?: number;
  /** This daemon's clock (the time of its claims, and what is far ahead of it). */
  now?: () => number;
}

/**
 * Claims `tick` of `sequence` on the remote: won when no daemon claimed this very tick, else
 * who did. A tick nobody claimed is won even when a later one was (a catch-up, a daemon whose
 * clock runs ahead). A tick older than every claim kept is not: it may have run. A remote that
 * cannot be reached is an error (the tick is not run: running it might run it twice).
 */
export async function claimTick(options: ClaimOptions, sequence: string, tick: Date): Promise<ClaimResult> {
  const attempts = options.attempts ?? 20;
  const now = options.now ?? Date.now;
  for (let attempt = 1; ; attempt++) {
    const { commit, claims } = await readClaims(options);
    const ahead = now() + MAX_CLOCK_AHEAD_MS;
    const outOfStep = (claim: Claim) => Date.parse(claim.tick) > ahead || Date.parse(claim.claimed_at) > ahead;
    const ignored = (claims[sequence] ?? []).filter(outOfStep);
    const kept = (claims[sequence] ?? []).filter((claim) => !outOfStep(claim)).sort(newestFirst);
    const same = kept.find((claim) => Date.parse(claim.tick) === tick.getTime());
    if (same) return { won: false, by: same, ignored };
    const oldest = kept.at(-1);
    if (oldest && kept.length >= CLAIMS_KEPT && Date.parse(oldest.tick) > tick.getTime())
      return { won: false, by: oldest, older: true, ignored };
    const mine: Claim = {
      tick: tick.toISOString(),
      host: options.host,
      pid: options.pid,
      claimed_at: new Date(now()).toISOString(),
    };
    claims[sequence] = [mine, ...kept].sort(newestFirst).slice(0, CLAIMS_KEPT);
    const next = await writeClaims(
      options,
      claims,
      commit,
      `claim ${sequence} ${tick.toISOString()} (${options.host}, pid ${options.pid})`,
    );
    const pushed = await git(options, ['push', '--porcelain', '--', options.remote, `${next}:${CLAIMS_REF}`]);
    if (pushed.code === 0) return { won: true, ignored };
    if (!RACED.test(pushed.output))
      throw new EtlError('claim-failed', `cannot claim the tick on ${options.remote}: ${firstLines(pushed.output)}`);
    if (attempt >= attempts)
      throw new EtlError(
        'claim-failed',
        `cannot claim the tick on ${options.remote}: other daemons claimed first ${attempts} times in a row`,
      );
    await sleep(20 + Math.random() * 100 * Math.min(attempt, 5));
  }
}

/**
 * The remote's claims: the commit they were read from ('' when the remote has none) and the
 * claims of each sequence (a single claim, as written before several were kept, is a list of one).
 */
export async function readClaims(options: ClaimOptions): Promise<{ commit: string; claims: Record<string, Claim[]> }> {
  const local = `refs/etl/remotes/${options.remote}/claims`;
  const fetched = await git(options, [
    'fetch',
    '--quiet',
    '--no-tags',
    '--no-write-fetch-head',
    '--',
    options.remote,
    `+${CLAIMS_REF}:${local}`,
  ]);
  if (fetched.code !== 0) {
    if (/couldn't find remote ref/.test(fetched.output)) return { commit: '', claims: {} };
    throw new EtlError('claim-failed', `cannot read the claims of ${options.remote}: ${firstLines(fetched.output)}`);
  }
  const commit = (await git(options, ['rev-parse', '--verify', '--quiet', local])).stdout.trim();
  const file = await git(options, ['cat-file', 'blob', `${commit}:${CLAIMS_FILE}`]);
  try {
    const claims = JSON.parse(file.stdout) as unknown;
    if (claims && typeof claims === 'object' && !Array.isArray(claims)) {
      const bySequence: Record<string, Claim[]> = {};
      for (const [sequence, held] of Object.entries(claims))
        bySequence[sequence] = (Array.isArray(held) ? held : [held]).filter(isClaim);
      return { commit, claims: bySequence };
    }
  } catch {
    // not ours, or damaged: claiming starts over (the fast-forward still guards the swap)
  }
  return { commit, claims: {} };
}

function isClaim(value: unknown): value is Claim {
  const claim = value as Claim;
  return (
    typeof claim === 'object' &&
    claim !== null &&
    typeof claim.tick === 'string' &&
    !Number.isNaN(Date.parse(claim.tick)) &&
    typeof claim.claimed_at === 'string' &&
    typeof claim.host === 'string' &&
    typeof claim.pid === 'number'
  );
}

const newestFirst = (a: Claim, b: Claim) => Date.parse(b.tick) - Date.parse(a.tick);

/** A commit holding the claims, on top of the one they were read from. */
async function writeClaims(
  options: ClaimOptions,
  claims: Record<string, Claim[]>,
  parent: string,
  message: string,
): Promise<string> {
  const blob = await gitOk(options, ['hash-object', '-w', '--stdin'], `${JSON.stringify(claims, null, 2)}\n`);
  const tree = await gitOk(options, ['mktree'], `100644 blob ${blob}\t${CLAIMS_FILE}\n`);
  const who = { name: 'etl schedule', email: DEFAULT_IDENTITY.email };
  return gitOk(options, ['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-m', message], '', {
    GIT_AUTHOR_NAME: who.name,
    GIT_AUTHOR_EMAIL: who.email,
    GIT_COMMITTER_NAME: who.name,
    GIT_COMMITTER_EMAIL: who.email,
  });
}

async function gitOk(options: ClaimOptions, args: string[], input: string, extra: Env = {}): Promise<string> {
  const result = await git(options, args, input, extra);
  if (result.code !== 0)
    throw new EtlError('claim-failed', `git ${args[0]} failed while claiming a tick: ${firstLines(result.output)}`);
  return result.stdout.trim();
}

interface GitResult {
  code: number;
  stdout: string;
  /** stdout and stderr together, for the messages matched above. */
  output: string;
}

async function git(options: ClaimOptions, args: string[], input = '', extra: Env = {}): Promise<GitResult> {
  const { code, stdout, stderr } = await runGit(options.repo, args, { env: options.env, extra, input });
  return { code, stdout, output: `${stdout}\n${stderr}` };
}

/** git's message without the progress lines of a push. */
function firstLines(text: string): string {
  return gitMessage(
    text
      .split('\n')
      .filter((line) => !/^(To |Done$)/.test(line.trim()))
      .join('\n'),
  );
}
