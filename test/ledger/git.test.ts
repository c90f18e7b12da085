import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { commitRunFolder } from '../../src/ledger/commit.js';
import { gitMessage } from '../../src/git/run-git.js';
import type { RunRecord } from '../../src/runner/records.js';
import { cloneOf, git, initRepo, pipelineWithRemote, runFolders } from '../helpers/git.js';
import { pipelineRepo, runCli } from '../helpers/repo.js';
import { stressTest } from '../helpers/stress.js';

const OK = {
  modules: { ok: { cmd: './modules/ok.sh' }, fail: { cmd: './modules/fail.sh 4' } },
  sequences: {
    s: [
      { module_name: 'ok', name: 'first' },
      { module_name: 'ok', name: 'second' },
    ],
    bad: [{ module_name: 'fail' }],
  },
};

test('--commit commits exactly the run folder; staged and unstaged user changes stay as they were', async (t) => {
  const repo = initRepo(pipelineRepo(t, OK));
  writeFileSync(join(repo, 'staged.txt'), 'staged by the user\n');
  git(repo, 'add', 'staged.txt');
  writeFileSync(join(repo, 'modules.json'), `${readFileSync(join(repo, 'modules.json'), 'utf8')}\n`); // an unstaged edit
  const result = await runCli(['run', 's', '--commit'], { cwd: repo });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /committed [0-9a-f]{12}/);
  const files = git(repo, 'show', '--name-only', '--format=', 'HEAD').split('\n');
  assert.ok(
    files.length > 0 && files.every((f) => /^runs\/s\/\d{4}\/\d\d\/\d\d\/\d{8}T\d{9}Z-[0-9a-f]{8}\//.test(f)),
    files.join('\n'),
  );
  // (git() trims the output, so the first line loses the leading space of " M")
  assert.equal(git(repo, 'status', '--porcelain'), 'M modules.json\nA  staged.txt');
  const [run] = runFolders(repo);
  const record = JSON.parse(readFileSync(join(repo, run!, 'run.json'), 'utf8')) as RunRecord;
  assert.equal(record.definitions.dirty, true, 'modules.json differed from the commit');
});

test('the commit message has the subject, a step table and trailers git can read', async (t) => {
  const repo = initRepo(pipelineRepo(t, OK));
  assert.equal((await runCli(['run', 'bad', '--commit'], { cwd: repo })).code, 1);
  const subject = git(repo, 'log', '-1', '--format=%s');
  assert.match(subject, /^etl\(bad\): failed in \S+ \[\d{8}T\d{9}Z-[0-9a-f]{8}\]$/);
  const body = git(repo, 'log', '-1', '--format=%b');
  assert.match(body, /^1\. fail {2}failed {2}\S+$/m);
  const trailer = (key: string) => git(repo, 'log', '-1', `--format=%(trailers:key=${key},valueonly)`);
  assert.match(trailer('Etl-Run-Id'), /^\d{8}T\d{9}Z-[0-9a-f]{8}$/);
  assert.equal(trailer('Etl-Sequence'), 'bad');
  assert.equal(trailer('Etl-Status'), 'failed');
  assert.match(trailer('Etl-Trigger'), /^manual/);
  assert.equal(trailer('Etl-Definitions'), git(repo, 'rev-parse', 'HEAD~1'));
  assert.equal(trailer('Etl-Failed-Step'), '1 fail');
  assert.equal(git(repo, 'log', '-1', '--format=%an <%ae>'), 'Test Person <person@example.com>');
  // git log can filter on them.
  assert.equal(git(repo, 'log', '--format=%s', '--grep=^Etl-Status: failed$').split('\n').length, 1);
});

test('without a configured identity ledger commits are by etl-ledger, and by github-actions[bot] in Actions', async (t) => {
  const repo = initRepo(pipelineRepo(t, OK), false);
  const env = { HOME: join(repo, 'no-home'), XDG_CONFIG_HOME: join(repo, 'no-home'), GIT_CONFIG_NOSYSTEM: '1' };
  assert.equal((await runCli(['run', 's', '--commit'], { cwd: repo, env })).code, 0);
  assert.equal(git(repo, 'log', '-1', '--format=%an <%ae>'), 'etl-ledger <etl-ledger@users.noreply.github.com>');
  assert.equal(
    (
      await runCli(['run', 's', '--commit'], {
        cwd: repo,
        env: { ...env, GITHUB_ACTIONS: 'true', GITHUB_EVENT_NAME: 'schedule' },
      })
    ).code,
    0,
  );
  assert.equal(
    git(repo, 'log', '-1', '--format=%an <%ae>'),
    'github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>',
  );
  assert.match(git(repo, 'log', '-1', '--format=%(trailers:key=Etl-Trigger,valueonly)'), /^schedule/);
});

test('--push from a detached HEAD pushes HEAD to the branch named with --branch', async (t) => {
  const { repo, remote } = pipelineWithRemote(t, OK);
  git(repo, 'checkout', '--quiet', '--detach');
  // Refused before any module runs: nothing is recorded.
  const refused = await runCli(['run', 's', '--push'], { cwd: repo });
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /HEAD is detached: say which remote branch to push to with --branch/);
  assert.equal(existsSync(join(repo, 'runs')), false, 'nothing ran');
  const pushed = await runCli(['run', 's', '--push', '--branch', 'main'], { cwd: repo });
  assert.equal(pushed.code, 0, pushed.stderr);
  assert.match(pushed.stdout, /committed [0-9a-f]{12}, pushed to origin main/);
  assert.equal(runFolders(remote, 'main').length, 1);
});

test('--push works from a shallow clone (depth 1) after the remote moved on', async (t) => {
  const { repo, remote } = pipelineWithRemote(t, OK);
  const shallow = cloneOf(t, remote, 1);
  assert.equal(git(shallow, 'rev-parse', '--is-shallow-repository'), 'true');
  assert.equal((await runCli(['run', 's', '--push'], { cwd: repo })).code, 0); // the remote moves
  const result = await runCli(['run', 's', '--push'], { cwd: shallow });
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stdout,
    /^push rejected, the remote moved on \(fetch first\): fetching, rebasing, trying again \(1\)$/m,
  );
  assert.equal(runFolders(remote, 'main').length, 2);
  assert.equal(git(remote, 'rev-list', '--merges', 'main'), '');
});

const [RUNNERS, RUNS] = [8, 20];

stressTest(
  `${RUNNERS} runners doing ${RUNS} runs each against one remote: every run arrives, history stays linear, nothing is forced`,
  {
    timeout: 600_000,
  },
  async (t) => {
    const { remote } = pipelineWithRemote(t, {
      modules: { ok: { cmd: './modules/ok.sh' } },
      sequences: { s: [{ module_name: 'ok' }] },
    });
    const clones = Array.from({ length: RUNNERS }, () => cloneOf(t, remote));
    const runner = async (clone: string) => {
      for (let i = 0; i < RUNS; i++) {
        const result = await runCli(['run', 's', '--push'], { cwd: clone });
        assert.equal(result.code, 0, `${clone}: ${result.stdout}${result.stderr}`);
      }
    };
    await Promise.all(clones.map(runner));
    const total = RUNNERS * RUNS;
    const folders = runFolders(remote, 'main');
    assert.equal(folders.length, total);
    assert.equal(new Set(folders).size, total);
    assert.equal(git(remote, 'rev-list', '--merges', 'main'), '', 'no merge commits');
    assert.equal(
      git(remote, 'rev-list', '--count', 'main'),
      String(total + 1),
      'one commit per run, on top of the definitions',
    );
    assert.equal(
      git(remote, 'log', '--format=%(trailers:key=Etl-Run-Id,valueonly)', 'main').split('\n').filter(Boolean).length,
      total,
    );
  },
);

test('a push refused by a pre-receive hook keeps the records; etl ledger sync delivers them later', async (t) => {
  const { repo, remote } = pipelineWithRemote(t, OK);
  const hook = join(remote, 'hooks/pre-receive');
  writeFileSync(hook, '#!/bin/sh\necho "ledger pushes are paused for maintenance" >&2\nexit 1\n');
  chmodSync(hook, 0o755);
  const result = await runCli(['run', 's', '--push'], { cwd: repo });
  assert.equal(result.code, 4, 'the run succeeded; its push failed');
  assert.match(
    result.stderr,
    /the run is recorded in runs\/s\/.*, but git push to origin main failed: .*pre-receive hook declined.*\[push-failed\]/,
  );
  assert.match(result.stderr, /ledger pushes are paused for maintenance/);
  assert.match(result.stderr, /the runs are committed locally; deliver them later with "etl ledger sync --push"/);
  assert.equal(runFolders(repo).length, 1, 'committed locally');
  // Without --push, sync says what waits to be pushed instead of "nothing to do".
  const waiting = await runCli(['ledger', 'sync'], { cwd: repo });
  assert.equal(waiting.code, 0, waiting.stderr);
  assert.match(waiting.stdout, /1 ledger commit is not on origin\/main yet: push with "etl ledger sync --push"/);
  assert.equal(runFolders(remote, 'main').length, 0);
  rmSync(hook);
  const sync = await runCli(['ledger', 'sync', '--push'], { cwd: repo });
  assert.equal(sync.code, 0, sync.stderr);
  assert.match(sync.stdout, /pushed to origin main/);
  assert.equal(runFolders(remote, 'main').length, 1);
  const nothing = await runCli(['ledger', 'sync', '--push'], { cwd: repo });
  assert.match(nothing.stdout, /nothing to push: origin main has every ledger commit/);
  assert.doesNotMatch(nothing.stdout, /pushed to/);
});

test('a push that fails never prints the token of a remote URL', async (t) => {
  const { repo } = pipelineWithRemote(t, OK);
  const token = 'ghs_in_the_url_0123456789';
  git(repo, 'remote', 'set-url', 'origin', `http://x-access-token:${token}@127.0.0.1:9/office/pipelines.git`);
  const result = await runCli(['run', 's', '--push'], { cwd: repo, env: { GIT_TERMINAL_PROMPT: '0' } });
  assert.equal(result.code, 4);
  // etl ledger sync --push fails the same way, with the same exit (it exited 2 once).
  const sync = await runCli(['ledger', 'sync', '--push'], { cwd: repo, env: { GIT_TERMINAL_PROMPT: '0' } });
  assert.equal(sync.code, 4, sync.stderr);
  assert.doesNotMatch(sync.stdout + sync.stderr, new RegExp(token));
  assert.match(result.stderr, /git push to origin main failed/);
  assert.doesNotMatch(result.stdout + result.stderr, new RegExp(token));
  assert.equal(runFolders(repo).length, 1, 'the run is kept');
  // Git hides it in this message itself; older gits and other messages may not.
  assert.equal(
    gitMessage(new Error(`fatal: could not read from 'https://x-access-token:${token}@github.com/o/p.git'`)),
    "fatal: could not read from 'https://***@github.com/o/p.git'",
  );
});

test('etl ledger sync commits records never committed (a run without --commit, a crashed one)', async (t) => {
  const { repo, remote } = pipelineWithRemote(t, OK);
  assert.equal((await runCli(['run', 's'], { cwd: repo })).code, 0);
  assert.equal((await runCli(['run', 'bad'], { cwd: repo })).code, 1);
  const sync = await runCli(['ledger', 'sync', '--push'], { cwd: repo });
  assert.equal(sync.code, 0, sync.stderr);
  assert.equal(sync.stdout.match(/^committed runs\//gm)?.length, 2);
  assert.equal(runFolders(remote, 'main').length, 2);
  assert.deepEqual(
    git(remote, 'log', '--format=%(trailers:key=Etl-Sequence,valueonly)', 'main').split('\n').filter(Boolean).sort(),
    ['bad', 's'],
  );
  assert.equal(git(repo, 'status', '--porcelain'), '');
  const again = await runCli(['ledger', 'sync'], { cwd: repo });
  assert.match(again.stdout, /no records waiting to be committed/);
});

test('etl ledger sync reads the runs noted as unrecorded, not every file under runs/; --scan looks at them all', async (t) => {
  const repo = initRepo(pipelineRepo(t, OK));
  const sync = (...args: string[]) => runCli(['ledger', 'sync', ...args], { cwd: repo });
  assert.match((await sync()).stdout, /no records waiting/, 'the first sync in a working tree looks at everything');
  assert.equal((await runCli(['run', 's'], { cwd: repo })).code, 0);
  const [folder] = readdirSync(join(repo, 'runs/s'), { recursive: true, encoding: 'utf8' })
    .filter((p) => p.endsWith('run.json'))
    .map((p) => `runs/s/${p.slice(0, -'/run.json'.length)}`);
  // A run folder copied in by hand is on no list; a note whose run never made its folder is stale.
  const copied = folder!.replace(/-[0-9a-f]{8}$/, '-0000beef');
  cpSync(join(repo, folder!), join(repo, copied), { recursive: true });
  const notes = join(repo, '.git/etl/unrecorded');
  writeFileSync(join(notes, '20200101T000000000Z-deadbeef'), 'runs/s/2020/01/01/20200101T000000000Z-deadbeef\n');
  const noted = await sync();
  assert.equal(noted.code, 0, noted.stderr);
  assert.deepEqual(noted.stdout.match(/^committed (\S+)/gm), [`committed ${folder}`]);
  assert.deepEqual(readdirSync(notes), [], 'the notes of recorded and of never-made runs are gone');
  assert.match(git(repo, 'status', '--porcelain'), /\?\? runs\/s\/.*-0000beef\//, 'the copy is left for --scan');
  const scanned = await sync('--scan');
  assert.deepEqual(scanned.stdout.match(/^committed (\S+)/gm), [`committed ${copied}`]);
  assert.equal(git(repo, 'status', '--porcelain'), '');
});

test('a run killed before it wrote run.json is recorded as abandoned by sync, unless its runner still starts it', async (t) => {
  const repo = initRepo(pipelineRepo(t, OK));
  const id = '20261201T070517651Z-2a834b4c';
  const folder = `runs/s/2026/12/01/${id}`;
  mkdirSync(join(repo, folder, 'steps'), { recursive: true });
  writeFileSync(join(repo, folder, `.run.json.${process.pid}.0.tmp`), '{"half": '); // killed mid-write
  // While a live runner holds the sequence's lock for this run, it is starting: left alone.
  writeFileSync(join(repo, 'runs/s/.lock'), JSON.stringify({ pid: process.pid, host: hostname(), run_id: id }));
  const starting = await runCli(['ledger', 'sync'], { cwd: repo });
  assert.match(starting.stdout, new RegExp(`still running, left to its runner: ${folder}`));
  rmSync(join(repo, 'runs/s/.lock'));
  const sync = await runCli(['ledger', 'sync'], { cwd: repo });
  assert.equal(sync.code, 0, sync.stderr);
  assert.match(sync.stdout, new RegExp(`committed ${folder}`));
  const run = JSON.parse(git(repo, 'show', `HEAD:${folder}/run.json`)) as RunRecord;
  assert.deepEqual([run.status, run.started_at], ['abandoned', '2026-12-01T07:05:17.651Z']);
  assert.match(run.error ?? '', /stopped while the run was starting/);
  assert.equal(git(repo, 'status', '--porcelain'), '', 'recorded, and nothing half-written left behind');
  assert.match((await runCli(['history', 's'], { cwd: repo })).stdout, /abandoned/);
});

test('a commit waits while another git process holds index.lock, and never removes it', async (t) => {
  const repo = initRepo(pipelineRepo(t, { ...OK, files: { 'notes.txt': 'v1\n' } }));
  assert.equal((await runCli(['run', 's'], { cwd: repo })).code, 0);
  const [folder] = readdirSync(join(repo, 'runs/s'), { recursive: true, encoding: 'utf8' })
    .filter((p) => p.endsWith('run.json'))
    .map((p) => join('runs/s', p, '..'));
  const run = JSON.parse(readFileSync(join(repo, folder!, 'run.json'), 'utf8')) as RunRecord;
  const lock = join(repo, '.git/index.lock');
  // A real git process holding the lock: `git commit -- PATH` keeps index.lock while its
  // editor runs, and this editor runs until the test releases it (a synchronisation point,
  // not a guess at how long things take).
  writeFileSync(join(repo, 'notes.txt'), 'v2\n');
  const release = join(repo, '.git/release-editor');
  const editor = `f() { while [ ! -e "${release}" ]; do sleep 0.02; done; echo "person commit" > "$1"; }; f`;
  const holder = execFile('git', ['-c', `core.editor=${editor}`, 'commit', '--quiet', '--', 'notes.txt'], {
    cwd: repo,
  });
  const exited = new Promise((resolve) => holder.on('exit', resolve));
  for (let waited = 0; !existsSync(lock); waited += 10) {
    assert.ok(waited < 10_000, 'git never took index.lock');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const waiting: string[] = [];
  let told!: () => void;
  const toldToWait = new Promise<void>((resolve) => (told = resolve));
  const committing = commitRunFolder(repo, folder!, run, {
    lockWaitMs: 60_000,
    onWait: (message) => {
      waiting.push(message);
      told();
    },
  });
  await toldToWait; // the commit is waiting for git's lock: now let git finish
  writeFileSync(release, '');
  const commit = await committing;
  assert.match(commit!, /^[0-9a-f]{40}$/);
  assert.deepEqual(waiting, ['waiting for another git process to release .git/index.lock']);
  await exited;
  assert.deepEqual(
    git(repo, 'log', '--format=%s', '-2')
      .split('\n')
      .map((s) => s.replace(/ \[.*/, '').replace(/ in \S+$/, '')),
    ['etl(s): succeeded', 'person commit'],
  );

  writeFileSync(lock, ''); // a lock nobody releases
  const changed = { ...run, error: 'edited' };
  writeFileSync(join(repo, folder!, 'run.json'), JSON.stringify(changed));
  await assert.rejects(
    commitRunFolder(repo, folder!, changed, { lockWaitMs: 300 }),
    /another git process has held \.git\/index\.lock for more than 0 s/,
  );
  assert.equal(existsSync(lock), true, 'the lock is left alone');
});

test('git works whatever the user has in the environment: EDITOR, PAGER, SSH settings, GIT_* variables', async (t) => {
  const repo = initRepo(pipelineRepo(t, OK));
  const env = {
    EDITOR: 'vi',
    VISUAL: 'vim',
    PAGER: 'less',
    GIT_PAGER: 'cat',
    GIT_EDITOR: 'vi',
    PREFIX: '/usr',
    SSH_ASKPASS: '/bin/true',
    GIT_SSH_COMMAND: 'ssh -o BatchMode=yes',
    GIT_DIR: '/nonexistent',
  };
  const result = await runCli(['run', 's', '--commit'], { cwd: repo, env });
  assert.equal(result.code, 0, result.stderr);
  assert.match(git(repo, 'log', '-1', '--format=%s'), /^etl\(s\): succeeded/);
  assert.equal(
    git(repo, 'log', '-1', '--format=%(trailers:key=Etl-Definitions,valueonly)'),
    git(repo, 'rev-parse', 'HEAD~1'),
    'the definitions are pinned too',
  );
});

test('--commit in a repository without commits makes the first one; outside git it says so plainly', async (t) => {
  const repo = pipelineRepo(t, OK);
  git(repo, 'init', '--quiet', '--initial-branch=main');
  git(repo, 'config', 'user.name', 'Test Person');
  git(repo, 'config', 'user.email', 'person@example.com');
  const first = await runCli(['run', 's', '--commit'], { cwd: repo });
  assert.equal(first.code, 0, first.stderr);
  assert.equal(git(repo, 'rev-list', '--count', 'HEAD'), '1');
  assert.match(git(repo, 'log', '-1', '--format=%s'), /^etl\(s\): succeeded/);

  const plain = pipelineRepo(t, OK);
  // Known before the first module starts: nothing runs, nothing is recorded.
  const outside = await runCli(['run', 's', '--commit'], {
    cwd: plain,
    env: { GIT_CEILING_DIRECTORIES: join(plain, '..') },
  });
  assert.equal(outside.code, 2);
  assert.match(
    outside.stderr,
    /\S+ is not in a git repository: --commit and --push record runs in git \("git init" first\) \[not-a-repository\]/,
  );
  assert.doesNotMatch(outside.stderr, /\n\s+at /);
  assert.equal(existsSync(join(plain, 'runs')), false, 'nothing ran');
});

test('--ledger-branch keeps runs on their own branch; history, show, logs, log and sync read it without asking', async (t) => {
  const { repo, remote } = pipelineWithRemote(t, OK);
  const main = git(repo, 'rev-parse', 'HEAD');
  const result = await runCli(['run', 's', '--push', '--ledger-branch', 'etl-runs'], { cwd: repo });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(git(repo, 'rev-parse', 'HEAD'), main, 'main did not move');
  assert.equal(git(repo, 'status', '--porcelain'), '', 'the main working tree stays clean');
  assert.equal(existsSync(join(repo, 'runs/s')), false);
  assert.equal(runFolders(remote, 'etl-runs').length, 1);
  assert.equal(git(remote, 'rev-parse', 'main'), main);
  // Later commands find the ledger branch on their own (git config etl.ledgerBranch).
  assert.equal((await runCli(['run', 'bad', '--commit'], { cwd: repo })).code, 1);
  const history = await runCli(['history', '--json'], { cwd: repo });
  assert.deepEqual(
    JSON.parse(history.stdout).map((r: { sequence: string }) => r.sequence),
    ['bad', 's'],
  );
  assert.match((await runCli(['show', 'bad@latest'], { cwd: repo })).stdout, /1\. fail {2}failed/);
  assert.match((await runCli(['logs', 'bad@latest'], { cwd: repo })).stdout, /something went wrong/);
  assert.deepEqual(
    JSON.parse((await runCli(['log', '--json'], { cwd: repo })).stdout).map((r: { sequence: string }) => r.sequence),
    ['bad', 's'],
  );
  const sync = await runCli(['ledger', 'sync', '--push'], { cwd: repo });
  assert.equal(sync.code, 0, sync.stderr);
  assert.equal(runFolders(remote, 'etl-runs').length, 2);
  // A fresh clone picks the ledger branch up from the remote.
  const clone = cloneOf(t, remote);
  const again = await runCli(['run', 's', '--push', '--ledger-branch', 'etl-runs'], { cwd: clone });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(runFolders(remote, 'etl-runs').length, 3);
  assert.equal(git(remote, 'rev-list', '--merges', 'etl-runs'), '');
});
