// Lineage: each step's local input, config and output hashed into its record, and etl lineage
// reading them back: who wrote or read a file, and (--upstream) where its content came from.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { LineageEntry, UpstreamNode } from '../../src/ledger/lineage.js';
import { describeArtifact, FOLDER_MAX_FILES, hashFile } from '../../src/runner/lineage.js';
import type { StepRecord } from '../../src/runner/records.js';
import { initRepo } from '../helpers/git.js';
import { pipelineRepo, runCli, startCli, tempRepo } from '../helpers/repo.js';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

test('a file is hashed as sha256sum hashes it; a folder by a manifest of its files; URLs and databases as given', async (t) => {
  const dir = tempRepo(t, {
    'a.bin': Buffer.alloc(3 * 1024 * 1024 + 7, 'x'),
    'tree/b.txt': 'b\n',
    'tree/sub/c.txt': 'c\n',
  });
  const sum = execFileSync('sha256sum', [join(dir, 'a.bin')], { encoding: 'utf8' }).split(' ')[0];
  assert.equal(await hashFile(join(dir, 'a.bin')), sum, 'read in several 1 MiB pieces, the same hash');
  assert.deepEqual(await describeArtifact('a.bin', 'a.bin', dir), {
    path: 'a.bin',
    kind: 'file',
    size: 3 * 1024 * 1024 + 7,
    sha256: sum,
  });
  const folder = await describeArtifact('tree', 'tree', dir);
  assert.deepEqual(folder, {
    path: 'tree',
    kind: 'folder',
    size: 4,
    files: 2,
    sha256: sha(`${sha('b\n')}  b.txt\n${sha('c\n')}  sub/c.txt\n`),
  });
  // A symbolic link is followed, its target in its line; a changed file changes the hash.
  writeFileSync(join(dir, 'outside.txt'), 'o\n');
  symlinkSync('../outside.txt', join(dir, 'tree/elsewhere'));
  assert.equal(
    (await describeArtifact('tree', 'tree', dir))?.sha256,
    sha(`${sha('b\n')}  b.txt\n${sha('o\n')}  elsewhere -> ../outside.txt\n${sha('c\n')}  sub/c.txt\n`),
  );
  writeFileSync(join(dir, 'tree/sub/c.txt'), 'C\n');
  assert.notEqual((await describeArtifact('tree', 'tree', dir))?.sha256, folder?.sha256);

  for (const external of ['https://example.org/x.csv', 's3://bucket/key', 'postgres://u@h/db', 'sqlite:///x.db'])
    assert.deepEqual(await describeArtifact(external, external, dir), { path: external, kind: 'external' });
  assert.deepEqual(await describeArtifact('nope.csv', 'nope.csv', dir), { path: 'nope.csv', kind: 'missing' });
  assert.equal(await describeArtifact(undefined, null, dir), null);
});

test("a folder's hash stops at its bound and says so", async (t) => {
  const dir = tempRepo(t);
  mkdirSync(join(dir, 'lake'));
  for (let i = 0; i <= FOLDER_MAX_FILES; i++) writeFileSync(join(dir, 'lake', `f${String(i).padStart(5, '0')}`), '');
  const described = await describeArtifact('lake', 'lake', dir);
  assert.equal(described?.files, FOLDER_MAX_FILES);
  assert.equal(described?.bounded, `stopped after ${FOLDER_MAX_FILES} files`);
});

/** A pipeline where `copy` writes its input (and its config's text) to its output. */
function copyPipeline(t: Parameters<typeof pipelineRepo>[0]) {
  const repo = pipelineRepo(t, {
    modules: { copy: { cmd: './modules/copy.sh' } },
    sequences: {
      make: {
        steps: [
          { module_name: 'copy', name: 'raw', input: 'data/source.csv', output: 'work/raw.csv' },
          { module_name: 'copy', name: 'clean', input: 'work/raw.csv', output: 'work/clean.csv', conf: 'conf/c.json' },
          { module_name: 'copy', name: 'remote', input: 'https://example.invalid/never-fetched.csv', output: '' },
        ],
      },
      use: {
        steps: [{ module_name: 'copy', name: 'publish', input: 'work/clean.csv', output: 'out/published.csv' }],
      },
    },
    files: {
      'data/source.csv': 'a,b\n1,2\n',
      'conf/c.json': '{"keep": "all"}\n',
    },
  });
  // work/ and out/ are what runs make, not definitions.
  writeFileSync(join(repo, '.gitignore'), 'work/\nout/\n');
  return initRepo(repo);
}

test('a real run records what each step read and wrote; etl lineage lists them newest first, with whether they match now', async (t) => {
  const repo = copyPipeline(t);
  assert.equal((await runCli(['run', 'make'], { cwd: repo })).code, 0);
  const shown = JSON.parse((await runCli(['show', 'make', '--json'], { cwd: repo })).stdout) as { steps: StepRecord[] };
  const [raw, clean, remote] = shown.steps;
  assert.deepEqual(raw!.lineage, {
    input: { path: 'data/source.csv', kind: 'file', size: 8, sha256: sha('a,b\n1,2\n') },
    config: null,
    output: { path: 'work/raw.csv', kind: 'file', size: 8, sha256: sha('a,b\n1,2\n') },
  });
  assert.equal(clean!.lineage?.config?.sha256, sha('{"keep": "all"}\n'));
  assert.equal(clean!.lineage?.output?.sha256, sha('a,b\n1,2\n{"keep": "all"}\n'));
  assert.deepEqual(remote!.lineage, {
    input: { path: 'https://example.invalid/never-fetched.csv', kind: 'external' },
    config: null,
    output: null,
  });

  assert.equal((await runCli(['run', 'use'], { cwd: repo })).code, 0);
  writeFileSync(join(repo, 'work/clean.csv'), 'changed by hand\n');
  const uses = JSON.parse((await runCli(['lineage', 'work/clean.csv', '--json'], { cwd: repo })).stdout) as Array<
    LineageEntry & { matches_now: boolean }
  >;
  assert.deepEqual(
    uses.map((u) => [u.sequence, u.step.name, u.use, u.matches_now]),
    [
      ['use', 'publish', 'read', false],
      ['make', 'clean', 'wrote', false],
    ],
  );
  assert.match(uses[0]!.commit ?? '', /^[0-9a-f]{40}$/);
  // Named from a subfolder, the same file.
  const text = await runCli(['lineage', join('..', 'work', 'clean.csv')], { cwd: join(repo, 'conf') });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^work\/clean\.csv \(now 16 bytes, sha256 [0-9a-f]{12}\)\nRUN +STARTED/);
  assert.match(text.stdout, /make 2 clean +wrote +[0-9a-f]{12} +[0-9a-f]{7} +no\n/);
  const none = await runCli(['lineage', 'data/other.csv'], { cwd: repo });
  assert.equal(none.code, 1);
  assert.match(none.stdout, /data\/other\.csv \(now missing\): no recorded step wrote or read it/);

  const usage = await runCli(['lineage'], { cwd: repo });
  assert.deepEqual([usage.code, usage.stderr], [2, 'etl lineage: error: lineage takes one path, got 0 [usage]\n']);
  const runs = await runCli(['lineage', 'work/clean.csv', '--runs', 'abc'], { cwd: repo });
  assert.deepEqual(
    [runs.code, runs.stderr],
    [2, 'etl lineage: error: --runs must be a positive whole number, got "abc" [usage]\n'],
  );

  // --no-lineage: nothing hashed, nothing recorded.
  assert.equal((await runCli(['run', 'use', '--no-lineage'], { cwd: repo })).code, 0);
  const bare = JSON.parse((await runCli(['show', 'use', '--json'], { cwd: repo })).stdout) as { steps: StepRecord[] };
  assert.equal(bare.steps[0]!.lineage, undefined);
});

test('etl lineage --upstream follows inputs back through earlier steps and earlier runs of other sequences', async (t) => {
  const repo = copyPipeline(t);
  assert.equal((await runCli(['run', 'make'], { cwd: repo })).code, 0);
  assert.equal((await runCli(['run', 'use'], { cwd: repo })).code, 0);
  const result = await runCli(['lineage', 'out/published.csv', '--upstream', '--json'], { cwd: repo });
  assert.equal(result.code, 0, result.stderr);
  const tree = JSON.parse(result.stdout) as UpstreamNode;
  const flat = (node: UpstreamNode, depth = 0): string[] => [
    `${depth} ${node.use} ${node.path} ${node.written_by ? `${node.written_by.sequence}/${node.written_by.step.name}` : '-'}`,
    ...node.inputs.flatMap((child) => flat(child, depth + 1)),
  ];
  assert.deepEqual(flat(tree), [
    '0 target out/published.csv use/publish',
    '1 read work/clean.csv make/clean',
    '2 read work/raw.csv make/raw',
    '3 read data/source.csv -',
    '2 config conf/c.json -',
  ]);
  const text = await runCli(['lineage', 'out/published.csv', '--upstream'], { cwd: repo });
  assert.match(
    text.stdout,
    /^out\/published\.csv sha256 [0-9a-f]{12}: written by use 1 publish in run \S+ \(commit [0-9a-f]{7}\)\n└─ read work\/clean\.csv/,
  );
  assert.match(
    text.stdout,
    /\n {3}│ {2}└─ read data\/source\.csv sha256 [0-9a-f]{12}: no recorded step wrote this content there: a source\n/,
  );

  // The published file edited by hand: its content now was written by no step.
  writeFileSync(join(repo, 'out/published.csv'), 'edited\n');
  const edited = await runCli(['lineage', 'out/published.csv', '--upstream', '--json'], { cwd: repo });
  assert.equal(edited.code, 1);
  assert.deepEqual(flat(JSON.parse(edited.stdout) as UpstreamNode), ['0 target out/published.csv -']);

  // Content no recorded step wrote is not pinned on the step that last wrote that path.
  writeFileSync(join(repo, 'work/clean.csv'), 'by hand\n');
  assert.equal((await runCli(['run', 'use'], { cwd: repo })).code, 0);
  const after = JSON.parse(
    (await runCli(['lineage', 'out/published.csv', '--upstream', '--json'], { cwd: repo })).stdout,
  ) as UpstreamNode;
  assert.deepEqual(flat(after), ['0 target out/published.csv use/publish', '1 read work/clean.csv -']);
});

test("a step's output is hashed as it left it, even when the next step writes the same file", async (t) => {
  const big = 'x'.repeat(64 * 1024 * 1024);
  const repo = pipelineRepo(t, {
    modules: { copy: { cmd: './modules/copy.sh' } },
    sequences: {
      twice: {
        steps: [
          // A big output takes a while to hash: the next step, were it started, would be rewriting it.
          { module_name: 'copy', name: 'one', input: 'data/big.txt', output: 'work/out.txt' },
          { module_name: 'copy', name: 'two', input: 'data/two.txt', output: 'work/out.txt' },
        ],
      },
    },
    files: {
      'data/two.txt': 'two\n',
      'data/big.txt': big,
    },
  });
  for (let round = 0; round < 3; round++) {
    assert.equal((await runCli(['run', 'twice'], { cwd: repo })).code, 0);
    const shown = JSON.parse((await runCli(['show', 'twice', '--json'], { cwd: repo })).stdout) as {
      steps: StepRecord[];
    };
    // A file past 1 MiB is streamed: the same hash, of what step one left.
    assert.equal(shown.steps[0]!.lineage?.output?.sha256, sha(big), 'not the next step\'s "two"');
    assert.equal(shown.steps[1]!.lineage?.output?.sha256, sha('two\n'));
  }
});

test('Ctrl-C while a big input is hashed stops the hash at once: the run is cancelled, the input said not hashed', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { copy: { cmd: './modules/copy.sh' } },
    sequences: { big: [{ module_name: 'copy', input: 'data/big.bin', output: 'work/big.bin' }] },
  });
  // 8 GiB with no data written (sparse): some seconds to hash, no disk used.
  mkdirSync(join(repo, 'data'), { recursive: true });
  writeFileSync(join(repo, 'data/big.bin'), '');
  truncateSync(join(repo, 'data/big.bin'), 8 * 1024 ** 3);
  const run = startCli(['run', 'big'], { cwd: repo });
  await run.line(/^etl run big /);
  run.child.kill('SIGINT');
  const ended = await run.done;
  assert.equal(ended.code, 130, ended.stdout + ended.stderr);
  const shown = JSON.parse((await runCli(['show', 'big', '--json'], { cwd: repo })).stdout) as {
    run: { status: string };
    steps: StepRecord[];
  };
  assert.equal(shown.run.status, 'cancelled');
  assert.equal(shown.steps[0]!.status, 'cancelled');
  assert.deepEqual(shown.steps[0]!.lineage?.input, {
    path: 'data/big.bin',
    kind: 'unreadable',
    error: 'not hashed: the run was stopped',
  });
  assert.equal(existsSync(join(repo, 'work/big.bin')), false, 'the module never started');
});

test("a step's or the sequence's timeout stops the hash of a big input or output near it, as a stop does; the record says why", async (t) => {
  const repo = pipelineRepo(t, {
    modules: {
      copy: { cmd: './modules/copy.sh' },
      big: { cmd: './modules/big.sh' },
    },
    sequences: {
      // The sequence's deadline comes while the input is hashed: the module is never started.
      reads: { timeout: '2s', steps: [{ module_name: 'copy', input: 'data/big.bin', output: 'work/copy.bin' }] },
      readsSlowly: { steps: [{ module_name: 'copy', input: 'data/big.bin', output: 'work/copy.bin', timeout: '1s' }] },
      // The module writes a big output at once: hashing it is bounded by the step's timeout.
      writes: { steps: [{ module_name: 'big', input: 'data/small.csv', output: 'work/big.bin', timeout: '1s' }] },
    },
    files: {
      'data/small.csv': 'a\n',
      'modules/big.sh': {
        content: `#!/bin/sh
while [ $# -gt 0 ]; do case "$1" in --output) o="$2";; esac; shift 2; done
mkdir -p "$(dirname "$o")" && : > "$o" && truncate -s 16G "$o"
`,
        mode: 0o755,
      },
    },
  });
  // 16 GiB with no data written (sparse): far longer to hash than the timeouts, no disk used.
  writeFileSync(join(repo, 'data/big.bin'), '');
  truncateSync(join(repo, 'data/big.bin'), 16 * 1024 ** 3);
  const shown = async (sequence: string) =>
    JSON.parse((await runCli(['show', sequence, '--json'], { cwd: repo })).stdout) as {
      run: { status: string; duration_ms: number; error: string };
      steps: StepRecord[];
    };

  const reads = await runCli(['run', 'reads'], { cwd: repo });
  assert.equal(reads.code, 1, reads.stdout + reads.stderr);
  const read = await shown('reads');
  assert.equal(read.steps[0]!.status, 'timed_out');
  assert.deepEqual(read.steps[0]!.lineage?.input, {
    path: 'data/big.bin',
    kind: 'unreadable',
    error: 'not hashed: the sequence timeout (2s) ran out',
  });
  assert.equal(read.run.error, 'the sequence timeout (2s) ran out');
  assert.equal(existsSync(join(repo, 'work/copy.bin')), false, 'the module never started');
  // Near its deadline: hashing it whole takes far longer.
  assert.ok(read.run.duration_ms < 12_000, `the run took ${read.run.duration_ms} ms`);

  // The step's own timeout counts from when its input is hashed.
  assert.equal((await runCli(['run', 'readsSlowly'], { cwd: repo })).code, 1);
  const slowly = await shown('readsSlowly');
  assert.equal(slowly.steps[0]!.lineage?.input?.error, "not hashed: the step's timeout (1s) ran out");
  assert.equal(slowly.run.error, "step 1 (copy) timed out: the step's timeout (1s) ran out while its input was hashed");
  assert.equal(existsSync(join(repo, 'work/copy.bin')), false, 'the module never started');

  const writes = await runCli(['run', 'writes'], { cwd: repo });
  assert.equal(writes.code, 0, writes.stdout + writes.stderr);
  const wrote = await shown('writes');
  assert.equal(wrote.steps[0]!.status, 'succeeded', 'the module did its work in time');
  assert.deepEqual(wrote.steps[0]!.lineage?.output, {
    path: 'work/big.bin',
    kind: 'unreadable',
    error: "not hashed: the step's timeout (1s) ran out",
  });
  assert.ok(wrote.run.duration_ms < 11_000, `the run took ${wrote.run.duration_ms} ms`);
});

test("a folder's symbolic links are followed, with their targets, into its hash; skip_unchanged sees a linked file change or a link repointed", async (t) => {
  const repo = initRepo(
    pipelineRepo(t, {
      modules: { join: { cmd: './modules/join.sh' } },
      sequences: {
        lake: { skip_unchanged: true, steps: [{ module_name: 'join', input: 'lake', output: 'work/all.csv' }] },
      },
      files: {
        '.gitignore': 'work/\nlake/\nshared/\n',
        'modules/join.sh': {
          content: `#!/bin/sh
while [ $# -gt 0 ]; do case "$1" in --input) i="$2";; --output) o="$2";; esac; shift 2; done
mkdir -p "$(dirname "$o")" && cat "$i"/*.csv "$i"/sub/*.csv > "$o"
`,
          mode: 0o755,
        },
        'lake/own.csv': 'own\n',
        'shared/a.csv': 'a\n',
        'shared/b.csv': 'b\n',
        'shared/dir/x.csv': 'x\n',
      },
    }),
  );
  symlinkSync('../shared/a.csv', join(repo, 'lake/linked.csv'));
  symlinkSync('../shared/dir', join(repo, 'lake/sub'));
  const hash = async () => (await describeArtifact('lake', 'lake', repo))!;
  const first = await hash();
  assert.equal(first.files, 3, 'own.csv, linked.csv and sub/x.csv');
  const run = async () => {
    const result = await runCli(['run', 'lake'], { cwd: repo });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const shown = JSON.parse((await runCli(['show', 'lake', '--json'], { cwd: repo })).stdout) as {
      steps: StepRecord[];
    };
    return shown.steps[0]!;
  };
  assert.equal((await run()).status, 'succeeded');
  assert.equal((await run()).skipped_as?.reason, 'unchanged');

  // The file a link points at changed: a new hash, and the step runs.
  writeFileSync(join(repo, 'shared/a.csv'), 'a2\n');
  assert.notEqual((await hash()).sha256, first.sha256);
  assert.equal((await run()).status, 'succeeded');
  assert.equal((await run()).skipped_as?.reason, 'unchanged');
  // A file inside a linked folder changed.
  writeFileSync(join(repo, 'shared/dir/x.csv'), 'x2\n');
  assert.equal((await run()).status, 'succeeded');
  // The link repointed at another file (of the same content, even): the step runs.
  writeFileSync(join(repo, 'shared/b.csv'), 'a2\n');
  rmSync(join(repo, 'lake/linked.csv'));
  symlinkSync('../shared/b.csv', join(repo, 'lake/linked.csv'));
  assert.equal((await run()).status, 'succeeded');
  assert.equal((await run()).skipped_as?.reason, 'unchanged');

  // A link to nothing is in the manifest; one that loops leaves the content unknown.
  const before = (await hash()).sha256;
  symlinkSync('../nowhere.csv', join(repo, 'lake/dangling.csv'));
  assert.notEqual((await hash()).sha256, before);
  rmSync(join(repo, 'lake/dangling.csv'));
  symlinkSync('../../lake', join(repo, 'shared/dir/loop'));
  assert.equal((await hash()).bounded, 'a symbolic link loops: sub/loop -> ../../lake');
  assert.match((await run()).ran_because ?? '', /its input is not a local file or folder whose content is known/);
});
