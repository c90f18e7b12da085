// etl ledger prune: old run folders removed in a commit of their own (git history keeps them),
// by age or by count, sequence by sequence; a dry run that changes nothing; bad options refused.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pruneLedger } from '../../src/ledger/retention/prune.js';
import type { RunRecord } from '../../src/runner/records.js';
import { bareRemote, cloneOf, git, initRepo, runFolders } from '../helpers/git.js';
import { pipelineRepo, runCli } from '../helpers/repo.js';
import { writeRunRecords } from '../helpers/runs.js';

/** A repository with `count` committed hourly runs of a and of b (from 2025-01-01), pushed to a bare remote. */
function ledgerWithRuns(t: Parameters<typeof pipelineRepo>[0], count = 30) {
  const repo = initRepo(
    pipelineRepo(t, {
      modules: { ok: { cmd: './modules/ok.sh' } },
      sequences: { a: [{ module_name: 'ok' }], b: [{ module_name: 'ok' }] },
      files: { '.gitignore': 'runs/**/.lock\n' },
    }),
  );
  // Every run succeeded: the newest finished one is no run --resume could pick up.
  const succeeded = (run: RunRecord): RunRecord => ({
    ...run,
    status: 'succeeded',
    failed_step: null,
    error: null,
    steps: run.steps.map((s) => ({ ...s, status: 'succeeded', exit_code: 0 })),
  });
  const ids = { a: writeRunRecords(repo, 'a', count, succeeded), b: writeRunRecords(repo, 'b', count, succeeded) };
  git(repo, 'add', 'runs');
  git(repo, 'commit', '--quiet', '-m', 'runs');
  const remote = bareRemote(t);
  git(repo, 'remote', 'add', 'origin', remote);
  git(repo, 'push', '--quiet', 'origin', 'main');
  return { repo, remote, ids };
}

const folderOf = (sequence: string, id: string) =>
  `runs/${sequence}/${id.slice(0, 4)}/${id.slice(4, 6)}/${id.slice(6, 8)}/${id}`;

/** Every file under a folder (the git directory included) with its content and mtime, for "nothing changed". */
function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    const stat = statSync(path);
    const content = entry.isFile() ? createHash('sha1').update(readFileSync(path)).digest('hex') : 'folder';
    files.set(path, `${content} ${stat.mtimeMs}`);
  }
  return files;
}

test('prune --keep-runs N keeps the newest N of the sequence named, in one commit; a fresh clone lacks the rest, git log still has them', async (t) => {
  const { repo, remote, ids } = ledgerWithRuns(t);
  const head = git(repo, 'rev-parse', 'HEAD');
  const pruned = await runCli(['ledger', 'prune', '--keep-runs', '5', '--sequence', 'a'], { cwd: repo });
  assert.equal(pruned.code, 0, pruned.stdout + pruned.stderr);
  assert.match(pruned.stdout, new RegExp(`^removed 25 runs of a: ${ids.a[0]} \\.\\. ${ids.a[24]}$`, 'm'));
  assert.match(pruned.stdout, /^25 runs removed from 1 sequence; 0 older kept, 5 kept by the policy$/m);

  // One commit on top of the one before, saying what it removed.
  assert.equal(git(repo, 'rev-parse', 'HEAD~1'), head);
  assert.equal(
    git(repo, 'log', '-1', '--format=%B'),
    `etl ledger prune: removed 25 runs of a (keep_runs 5)\n\na: 25 runs (keep_runs 5), ${ids.a[0]} .. ${ids.a[24]}\n\nEtl-Pruned-Runs: 25`,
  );
  const left = runFolders(repo);
  assert.deepEqual(
    left.filter((f) => f.startsWith('runs/a/')),
    ids.a.slice(25).map((id) => folderOf('a', id)),
  );
  assert.equal(left.filter((f) => f.startsWith('runs/b/')).length, 30, 'b is not pruned');
  assert.equal(git(repo, 'status', '--porcelain'), '', 'the working tree and the index agree with the commit');
  assert.deepEqual(readdirSync(join(repo, 'runs/a/2025/01')), ['02'], "the emptied day's folder is gone");

  // Delivered: a fresh clone has no pruned folder, and history still has every one.
  git(repo, 'push', '--quiet', 'origin', 'main');
  const clone = cloneOf(t, remote);
  assert.deepEqual(readdirSync(join(clone, 'runs/a/2025/01')), ['02']);
  assert.equal(runFolders(clone).length, 35);
  const gone = folderOf('a', ids.a[0]!);
  assert.deepEqual(git(clone, 'log', '--format=%s', '--', gone).split('\n'), [
    'etl ledger prune: removed 25 runs of a (keep_runs 5)',
    'runs',
  ]);
  assert.match(git(clone, 'show', `HEAD~1:${gone}/run.json`), new RegExp(ids.a[0]!));
});

test('prune by days removes the runs started before the last N days; runs not committed stay', async (t) => {
  const { repo, ids } = ledgerWithRuns(t);
  writeRunRecords(repo, 'c', 3); // on disk, never committed
  const result = await pruneLedger({
    view: repo,
    repo,
    policies: ['a', 'c'].map((sequence) => ({ sequence, policy: { keep_days: 1 } })),
    now: new Date('2025-01-02T05:00:00Z'), // the runs from 2025-01-01T05:00 stay
  });
  assert.deepEqual(
    result.removed.map((ref) => ref.id),
    ids.a.slice(0, 5),
  );
  assert.deepEqual(
    result.kept.map((ref) => [ref.sequence, ref.reasons]),
    [0, 1, 2].map(() => ['c', ['not committed yet ("etl ledger sync" commits it)']]),
  );
  assert.equal(result.keptByPolicy, 25);
  assert.equal(runFolders(repo).filter((f) => f.startsWith('runs/a/')).length, 25);
  assert.equal(readdirSync(join(repo, 'runs/c/2025/01/01')).length, 3, 'the uncommitted runs are on disk still');
});

test('prune --dry-run lists what would go and changes no byte of the repository', async (t) => {
  const { repo, ids } = ledgerWithRuns(t, 12);
  const before = snapshot(repo);
  const head = git(repo, 'rev-parse', 'HEAD');
  const dry = await runCli(['ledger', 'prune', '--keep-runs', '10', '--dry-run'], { cwd: repo });
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal(
    dry.stdout,
    `${[...ids.a.slice(0, 2).map((id) => folderOf('a', id)), ...ids.b.slice(0, 2).map((id) => folderOf('b', id))]
      .map((f) => `would remove ${f}\n`)
      .join(
        '',
      )}4 runs would be removed from 2 sequences; 0 older kept, 20 kept by the policy (dry run: nothing changed)\n`,
  );
  const json = JSON.parse(
    (await runCli(['ledger', 'prune', '--keep-runs', '10', '--dry-run', '--json'], { cwd: repo })).stdout,
  );
  assert.equal(json.removed.length, 4);
  assert.deepEqual(json.commits, []);
  assert.equal(git(repo, 'rev-parse', 'HEAD'), head);
  assert.deepEqual(snapshot(repo), before);
});

test('prune refuses bad options with a clear error and exit 2, changing nothing', async (t) => {
  const { repo } = ledgerWithRuns(t, 3);
  const head = git(repo, 'rev-parse', 'HEAD');
  const cases: Array<[string[], RegExp]> = [
    [['--keep-days=-1'], /--keep-days takes a whole number of days, at least 1, got "-1" \[usage\]/],
    [['--keep-days', '-1'], /--keep-days needs a value; one that starts with "-" is written --keep-days=-1/],
    [['--keep-runs', '0'], /--keep-runs takes a whole number of runs, at least 1, got "0"/],
    [['--keep-runs', '1.5'], /--keep-runs takes a whole number of runs, at least 1, got "1.5"/],
    [
      ['--keep-days', '3', '--keep-runs', '2'],
      /--keep-days and --keep-runs cannot be used together: give one of the two/,
    ],
    [
      ['--keep-runs', '2', '--sequence', 'bb'],
      /no sequence "bb" in etl_sequences\/, and no runs of it in the ledger \(did you mean "b"\?\) \[unknown-sequence\]/,
    ],
    [[], /no valid sequence says no retention: give --keep-days N or --keep-runs N/],
    [['--keep-runs', '2', '--push'], /--scan, --push, --remote and --branch go with "etl ledger sync"/],
  ];
  for (const [args, message] of cases) {
    const result = await runCli(['ledger', 'prune', ...args], { cwd: repo });
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  }
  const sync = await runCli(['ledger', 'sync', '--dry-run'], { cwd: repo });
  assert.equal(sync.code, 2);
  assert.match(sync.stderr, /--keep-days, --keep-runs, --sequence, --dry-run and --json go with "etl ledger prune"/);
  assert.equal(git(repo, 'rev-parse', 'HEAD'), head);
  assert.equal(runFolders(repo).length, 6);
});

test('prune outside a git repository says that it needs one', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: { a: [{ module_name: 'ok' }] },
  });
  writeRunRecords(repo, 'a', 3);
  const result = await runCli(['ledger', 'prune', '--keep-runs', '1'], { cwd: repo });
  assert.equal(result.code, 2, result.stderr);
  assert.match(
    result.stderr,
    /is not in a git working tree: pruning removes run folders in a commit, so that git history keeps them \[not-a-repository\]/,
  );
  assert.equal(readdirSync(join(repo, 'runs/a/2025/01/01')).length, 3);
});
