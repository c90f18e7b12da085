// etl diff over real runs in a real git repository: the definitions each pinned, read back
// from git, params, statuses, durations, metrics, content hashes and the first step given
// something different.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RunDiff } from '../../src/review/run-diff.js';
import { git, initRepo } from '../helpers/git.js';
import { pipelineRepo, runCli } from '../helpers/repo.js';

function repo(t: Parameters<typeof pipelineRepo>[0]) {
  return initRepo(
    pipelineRepo(t, {
      modules: { extract: { cmd: './modules/extract.sh' }, load: { cmd: './modules/load.sh' } },
      sequences: {
        daily: {
          params: { region: { default: 'north' } },
          steps: [
            { module_name: 'extract', conf: 'conf/extract.conf', output: 'work/raw.csv' },
            { module_name: 'load', input: 'work/raw.csv', output: 'work/${params.region}.csv' },
          ],
        },
      },
      files: {
        'conf/extract.conf': 'rows=3\n',
        // Its config is a metric line: rows=N.
        'modules/extract.sh': {
          content:
            '#!/bin/sh\nmkdir -p work\ncat conf/extract.conf > work/raw.csv\ncat conf/extract.conf >> "$ETL_METRICS"\n',
          mode: 0o755,
        },
        // Fails for the south.
        'modules/load.sh': {
          content: '#!/bin/sh\ncase "$ETL_PARAM_REGION" in south) echo "no south table" >&2; exit 4;; esac\n',
          mode: 0o755,
        },
        '.gitignore': 'work/\n',
      },
    }),
  );
}

test('etl diff: the definitions that changed (a diff read from git), params, statuses, durations, and the first step given something different', async (t) => {
  const dir = repo(t);
  assert.equal((await runCli(['run', 'daily', '--commit'], { cwd: dir })).code, 0);
  writeFileSync(join(dir, 'conf/extract.conf'), 'rows=4\n');
  git(dir, 'commit', '--quiet', '-am', 'four rows');
  assert.equal((await runCli(['run', 'daily', '--commit', '--param', 'region=south'], { cwd: dir })).code, 1);

  const result = await runCli(['diff', 'daily@latest~1', 'daily@latest', '--json'], { cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  const diff = JSON.parse(result.stdout) as RunDiff;
  const history = JSON.parse((await runCli(['history', 'daily', '--json'], { cwd: dir })).stdout) as Array<{
    id: string;
  }>;
  assert.deepEqual([diff.a.id, diff.b.id], [history[1]!.id, history[0]!.id]);
  assert.deepEqual([diff.a.status, diff.b.status], ['succeeded', 'failed']);
  assert.equal(diff.same_sequence, true);
  assert.deepEqual(
    diff.definitions.map((d) => [d.path, d.change]),
    [['conf/extract.conf', 'changed']],
  );
  assert.match(
    diff.definitions[0]!.patch!,
    /^--- a\/conf\/extract\.conf\t\w+\n\+\+\+ b\/conf\/extract\.conf\t\w+\n@@ -1,1 \+1,1 @@\n-rows=3\n\+rows=4\n$/,
  );
  assert.deepEqual(diff.params, { region: ['north', 'south'] });
  assert.deepEqual(
    diff.steps.map((s) => [s.index, s.role, s.a?.status, s.b?.status, s.given]),
    [
      [1, 'step', 'succeeded', 'succeeded', ['config content', 'params']],
      [2, 'step', 'succeeded', 'failed', ['argv', 'output', 'input content', 'params']],
    ],
  );
  assert.deepEqual(diff.steps[0]!.metrics, { rows: { a: 3, b: 4, change_pct: 33.3 } });
  assert.equal(diff.steps[0]!.output_differs, true);
  assert.match(diff.steps[0]!.b!.config_sha256 ?? '', /^[0-9a-f]{64}$/);
  assert.equal(diff.steps[1]!.b!.exit_code, 4);
  assert.equal(typeof diff.steps[0]!.duration_change_pct, 'number');
  assert.deepEqual(diff.first_difference, {
    index: 1,
    role: 'step',
    name: 'extract',
    given: ['config content', 'params'],
  });

  const text = await runCli(['diff', 'daily@latest~1', 'daily@latest'], { cwd: dir });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /definitions: 1 file differ/);
  assert.match(text.stdout, /\n {2}-rows=3\n {2}\+rows=4\n/);
  assert.match(text.stdout, /param region: north -> south/);
  assert.match(
    text.stdout,
    /\n2 +load +succeeded -> failed +\S+ -> \S+ +[+-]?[\d.]+% +argv, output, input content, params\n/,
  );
  assert.match(text.stdout, /\nstep 1 \(extract\) metrics: rows 3 -> 4 \(\+33\.3%\)\n/);
  assert.match(text.stdout, /\nstep 1 \(extract\) output work\/raw\.csv: sha256 [0-9a-f]{12} -> [0-9a-f]{12}\n/);
  assert.match(
    text.stdout,
    /step 2 argv:\n {2}- \.\/modules\/load\.sh --input work\/raw\.csv --output work\/north\.csv\n {2}\+ \.\/modules\/load\.sh --input work\/raw\.csv --output work\/south\.csv/,
  );
  assert.match(text.stdout, /first step given something different: 1 \(extract\) \(config content, params\)\n$/);

  // The same run twice: nothing differs.
  const same = JSON.parse(
    (await runCli(['diff', 'daily@latest', history[0]!.id.slice(0, 20), '--json'], { cwd: dir })).stdout,
  ) as RunDiff;
  assert.deepEqual([same.definitions, same.params, same.first_difference], [[], {}, null]);

  // A run without lineage has no hashes: that is not a difference of content.
  assert.equal((await runCli(['run', 'daily'], { cwd: dir })).code, 0);
  assert.equal((await runCli(['run', 'daily', '--no-lineage'], { cwd: dir })).code, 0);
  const bare = JSON.parse(
    (await runCli(['diff', 'daily@latest~1', 'daily@latest', '--json'], { cwd: dir })).stdout,
  ) as RunDiff;
  assert.deepEqual(
    bare.steps.map((s) => s.given),
    [[], []],
  );
  assert.equal(bare.first_difference, null);
});

test('etl diff: two runs or a usage error; a run reference that names nothing is said', async (t) => {
  const dir = repo(t);
  assert.equal((await runCli(['run', 'daily'], { cwd: dir })).code, 0);
  const one = await runCli(['diff', 'daily@latest'], { cwd: dir });
  assert.equal(one.code, 2);
  assert.match(one.stderr, /diff takes two runs, got 1/);
  const back = await runCli(['diff', 'daily@latest~1', 'daily@latest'], { cwd: dir });
  assert.equal(back.code, 2);
  assert.match(back.stderr, /sequence "daily" has no run before its latest one in the ledger/);
  const unknown = await runCli(['diff', 'nothing@latest', 'daily@latest'], { cwd: dir });
  assert.equal(unknown.code, 2);
  assert.match(
    unknown.stderr,
    /no sequence "nothing" in etl_sequences\/, and no runs of it in the ledger \[unknown-sequence\]/,
  );
  assert.doesNotMatch(one.stderr + back.stderr + unknown.stderr, /\n {4}at /);
});

test('etl diff names a step whose module code changed (committed or not), also when a run skipped it as unchanged', async (t) => {
  const dir = initRepo(
    pipelineRepo(t, {
      modules: { copy: { cmd: './modules/copy.sh' }, late: { cmd: './modules/late.sh' } },
      sequences: {
        pair: {
          skip_unchanged: true,
          steps: [
            { module_name: 'copy', input: 'data/in.csv', output: 'work/a.csv' },
            { module_name: 'late', input: 'work/a.csv', output: 'work/b.csv' },
          ],
        },
      },
      files: {
        'data/in.csv': 'a\n',
        '.gitignore': 'work/\n',
        'modules/late.sh': {
          content: `#!/bin/sh
while [ $# -gt 0 ]; do case "$1" in --input) i="$2";; --output) o="$2";; esac; shift 2; done
cp "$i" "$o"
`,
          mode: 0o755,
        },
      },
    }),
  );
  const diff = async (a: string, b: string) => {
    const result = await runCli(['diff', a, b, '--json'], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as RunDiff;
  };
  const ids = async () =>
    (JSON.parse((await runCli(['history', 'pair', '--json'], { cwd: dir })).stdout) as Array<{ id: string }>).map(
      (r) => r.id,
    );
  assert.equal((await runCli(['run', 'pair'], { cwd: dir })).code, 0);
  assert.equal((await runCli(['run', 'pair'], { cwd: dir })).code, 0); // both steps skipped as unchanged
  // An edit not committed: what ran is what the step records.
  writeFileSync(join(dir, 'modules/late.sh'), `${readFileSync(join(dir, 'modules/late.sh'), 'utf8')}# edited\n`);
  assert.equal((await runCli(['run', 'pair'], { cwd: dir })).code, 0); // step 2 runs
  const [third, second, first] = await ids();

  const edited = await diff(first!, third!);
  assert.deepEqual(
    edited.steps.map((s) => [s.given, s.module_files]),
    [
      [[], []],
      [['module code'], ['modules/late.sh']],
    ],
  );
  assert.deepEqual(edited.first_difference, { index: 2, role: 'step', name: 'late', given: ['module code'] });

  // The run that skipped both steps stands for the first run: step 2 was given something different.
  const skipped = await diff(second!, third!);
  assert.deepEqual(
    skipped.steps.map((s) => [s.a?.status, s.a?.stands_for, s.b?.status, s.given]),
    [
      ['skipped', first, 'skipped', []],
      ['skipped', first, 'succeeded', ['module code']],
    ],
  );
  assert.equal(skipped.first_difference?.index, 2);
  const text = await runCli(['diff', second!, third!], { cwd: dir });
  assert.match(text.stdout, /\nstep 2 \(late\) module code: modules\/late\.sh\n/);
  assert.match(text.stdout, /first step given something different: 2 \(late\) \(module code\)\n$/);

  // The same edit committed: the content is what it was, nothing differs.
  git(dir, 'commit', '--quiet', '-am', 'late: a comment');
  assert.equal((await runCli(['run', 'pair', '--force'], { cwd: dir })).code, 0);
  const [fourth] = await ids();
  assert.equal((await diff(third!, fourth!)).first_difference, null);
  // Committed, against the first run: module code again.
  assert.deepEqual((await diff(first!, fourth!)).first_difference?.given, ['module code']);
});
