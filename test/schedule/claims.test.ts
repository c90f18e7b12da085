// Tick claims on a real bare remote (one that takes fast-forwards only), from several clones at once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EtlError } from '../../src/errors.js';
import { type ClaimOptions, claimTick, readClaims } from '../../src/schedule/claims.js';
import { cloneOf, git, pipelineWithRemote } from '../helpers/git.js';

const DEFINITIONS = { modules: { ok: { cmd: './modules/ok.sh' } }, sequences: { daily: [{ module_name: 'ok' }] } };

test('of daemons claiming one tick at once from four clones, exactly one wins; the others learn who', async (t) => {
  const { repo, remote } = pipelineWithRemote(t, DEFINITIONS);
  const daemons: ClaimOptions[] = [repo, cloneOf(t, remote), cloneOf(t, remote), cloneOf(t, remote)].map((dir, i) => ({
    repo: dir,
    remote: 'origin',
    env: process.env,
    host: `host-${i}`,
    pid: 100 + i,
  }));
  for (let minute = 0; minute < 5; minute++) {
    const tick = new Date(Date.UTC(2026, 11, 1, 10, minute));
    const results = await Promise.all(daemons.map((d) => claimTick(d, minute % 2 ? 'daily' : 'hourly', tick)));
    const winners = results.filter((r) => r.won);
    assert.equal(winners.length, 1, `one winner for ${tick.toISOString()}`);
    const winner = daemons[results.findIndex((r) => r.won)]!;
    for (const result of results)
      if (!result.won) {
        assert.equal(result.by.tick, tick.toISOString());
        assert.equal(result.by.pid, winner.pid);
      }
  }
  // The remote's ref: one commit a claim, each on the last (a fast-forward), both sequences kept.
  const log = git(remote, 'log', '--format=%s', 'refs/etl/claims').split('\n');
  assert.equal(log.length, 5);
  assert.match(log[0]!, /^claim hourly 2026-12-01T10:04:00\.000Z \(host-\d, pid 10\d\)$/);
  const { claims } = await readClaims(daemons[1]!);
  assert.deepEqual(Object.keys(claims).sort(), ['daily', 'hourly']);
  assert.deepEqual(
    claims.daily!.map((c) => c.tick),
    ['2026-12-01T10:03:00.000Z', '2026-12-01T10:01:00.000Z'],
  );
  // A tick claimed before a later one is still taken, by whoever claimed it.
  const late = await claimTick(daemons[0]!, 'daily', new Date(Date.UTC(2026, 11, 1, 10, 1)));
  assert.equal(late.won, false);
  assert.equal(!late.won && late.by.tick, '2026-12-01T10:01:00.000Z');
  // Nothing else on the remote changed: the branches are as they were.
  assert.equal(
    git(remote, 'for-each-ref', '--format=%(refname)').split('\n').sort().join(' '),
    'refs/etl/claims refs/heads/main',
  );
});

test('a remote that cannot be reached is an error, never a won claim', async (t) => {
  const { repo } = pipelineWithRemote(t, DEFINITIONS);
  git(repo, 'remote', 'set-url', 'origin', '/nonexistent/remote.git');
  await assert.rejects(
    claimTick({ repo, remote: 'origin', env: process.env, host: 'h', pid: 1 }, 'daily', new Date()),
    (error: unknown) =>
      error instanceof EtlError &&
      error.code === 'claim-failed' &&
      /cannot read the claims of origin: .*nonexistent/.test(error.message),
  );
  await assert.rejects(
    claimTick({ repo, remote: 'nowhere', env: process.env, host: 'h', pid: 1 }, 'daily', new Date()),
    /cannot read the claims of nowhere/,
  );
});

test('a claim for a tick far ahead (a daemon whose clock runs an hour fast) is said and ignored; a tick nobody ran runs once', async (t) => {
  const { repo, remote } = pipelineWithRemote(t, DEFINITIONS);
  const at = (minute: number) => Date.UTC(2026, 11, 1, 10, minute);
  const honest = (dir: string, pid: number): ClaimOptions => ({
    repo: dir,
    remote: 'origin',
    env: process.env,
    host: `honest-${pid}`,
    pid,
    now: () => at(0) + 5_000,
  });
  // Its clock says 11:00:05 while it is 10:00:05: it claims (and runs) the tick of 11:00.
  const fast: ClaimOptions = { ...honest(cloneOf(t, remote), 9), host: 'fast', now: () => at(60) + 5_000 };
  assert.equal((await claimTick(fast, 'daily', new Date(at(60)))).won, true);
  const [a, b] = [honest(repo, 1), honest(cloneOf(t, remote), 2)];

  const first = await claimTick(a, 'daily', new Date(at(0)));
  assert.equal(first.won, true, 'the claim for 11:00 does not take 10:00');
  assert.deepEqual(
    first.ignored.map((c) => [c.host, c.tick]),
    [['fast', '2026-12-01T11:00:00.000Z']],
  );
  // Still one run a tick: the other honest daemon finds 10:00 taken.
  const second = await claimTick(b, 'daily', new Date(at(0)));
  assert.equal(second.won, false);
  assert.equal(!second.won && second.by.host, 'honest-1');
  // A tick nobody ran, older than the latest claimed one (a catch-up), runs once.
  assert.equal((await claimTick(b, 'daily', new Date(at(-1)))).won, true);
  assert.equal((await claimTick(a, 'daily', new Date(at(-1)))).won, false);
  // The claim from the fast clock is no longer counted by anyone: the claims hold honest ones.
  const { claims } = await readClaims(a);
  assert.deepEqual(
    claims.daily!.map((c) => c.tick),
    ['2026-12-01T10:00:00.000Z', '2026-12-01T09:59:00.000Z'],
  );
});
