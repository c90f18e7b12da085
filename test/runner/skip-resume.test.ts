// skip_unchanged (a step given what its last successful run was given, whose output holds
// still, is skipped and points at that run) and etl run --resume (a stopped run picked up at
// its step, after its earlier outputs are checked), on real runs and real git ledgers.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RunRecord, StepRecord } from '../../src/runner/records.js';
import { cloneOf, git, initRepo, pipelineWithRemote } from '../helpers/git.js';
import { pipelineRepo, runCli, startCli, tempRepo, waitUntilGone } from '../helpers/repo.js';

/** `slow` waits while a file says so (`copy`, test/fixtures/modules/copy.sh, copies its input). */
const MODULES = {
  'modules/slow.sh': {
    content: `#!/bin/sh
while [ $# -gt 0 ]; do case "$1" in --input) i="$2";; --output) o="$2";; esac; shift 2; done
echo $$ > slow.pid
while [ -e hold ]; do sleep 0.05; done
if [ -e fail ]; then exit 3; fi
cp "$i" "$o"
`,
    mode: 0o755,
  },
};

interface Shown {
  run: RunRecord;
  steps: StepRecord[];
}
const show = async (repo: string, spec: string) =>
  JSON.parse((await runCli(['show', spec, '--json'], { cwd: repo })).stdout) as Shown;
const statuses = (shown: Shown) =>
  shown.steps.map((s) => (s.skipped_as ? `skipped ${s.skipped_as.reason} ${s.skipped_as.run_id}` : s.status));

function skipPipeline(t: Parameters<typeof pipelineRepo>[0], extra: Record<string, unknown> = {}) {
  const repo = pipelineRepo(t, {
    modules: { copy: { cmd: './modules/copy.sh', env: { EXTRA: 'one' } } },
    sequences: {
      make: {
        skip_unchanged: true,
        params: { mode: { default: 'full' } },
        steps: [
          { module_name: 'copy', name: 'raw', input: 'data/source.csv', output: 'work/raw.csv' },
          { module_name: 'copy', name: 'clean', input: 'work/raw.csv', output: 'work/clean.csv', conf: 'conf/c.json' },
          { module_name: 'copy', name: 'remote', input: 'https://example.invalid/x.csv', output: '' },
          {
            module_name: 'copy',
            name: 'always',
            input: 'work/clean.csv',
            output: 'work/always.csv',
            skip_unchanged: false,
          },
        ],
        ...extra,
      },
    },
    files: { 'data/source.csv': 'a,b\n1,2\n', 'conf/c.json': '{}\n', '.gitignore': 'work/\n', ...MODULES },
  });
  return initRepo(repo);
}

test('skip_unchanged: a step given the same as its last success, its output intact, is skipped and points at that run', async (t) => {
  const repo = skipPipeline(t);
  const run = async (...args: string[]) => {
    const result = await runCli(['run', 'make', ...args], { cwd: repo });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    return show(repo, 'make@latest');
  };
  const plan = (await runCli(['plan', 'make'], { cwd: repo })).stdout;
  assert.match(plan, /1\. raw \(module copy\)\n.*\n.*no timeout · skipped when unchanged/);
  assert.match(
    plan,
    /4\. always \(module copy\)\n.*\n.*no timeout · env EXTRA\n/,
    'the step said skip_unchanged: false',
  );
  const first = await run();
  assert.deepEqual(statuses(first), ['succeeded', 'succeeded', 'succeeded', 'succeeded']);
  assert.match(first.steps[0]!.fingerprint ?? '', /^[0-9a-f]{64}$/);
  assert.equal(first.steps[2]!.fingerprint, undefined, 'a URL input: no fingerprint');
  const id1 = first.run.id;

  const second = await run();
  assert.deepEqual(statuses(second), [
    `skipped unchanged ${id1}`,
    `skipped unchanged ${id1}`,
    'succeeded',
    'succeeded',
  ]);
  assert.equal(second.run.status, 'succeeded');
  assert.match(second.steps[2]!.ran_because ?? '', /its input is not a local file or folder/);
  assert.equal(second.steps[3]!.ran_because, undefined, 'the step said skip_unchanged: false');
  const text = await runCli(['show', 'make@latest'], { cwd: repo });
  assert.match(text.stdout, new RegExp(`1\\. raw \\(copy\\)  skipped\\n {3}skipped: unchanged since run ${id1}\\n`));

  // Chained: a third run still points at the run that ran the step.
  assert.deepEqual(statuses(await run()).slice(0, 2), [`skipped unchanged ${id1}`, `skipped unchanged ${id1}`]);

  // The config's content changed: that step runs, and the one before stays skipped.
  writeFileSync(join(repo, 'conf/c.json'), '{"x": 1}\n');
  const config = await run();
  assert.deepEqual(statuses(config).slice(0, 2), [`skipped unchanged ${id1}`, 'succeeded']);
  assert.match(config.steps[1]!.ran_because ?? '', new RegExp(`given something different from run ${id1}`));

  // An output deleted, or changed by hand, since: its step runs again.
  rmSync(join(repo, 'work/raw.csv'));
  const missing = await run();
  assert.equal(missing.steps[0]!.status, 'succeeded');
  assert.match(missing.steps[0]!.ran_because ?? '', /its output work\/raw\.csv is missing/);
  // raw rewrote the same content: clean, given the same input, is skipped.
  assert.equal(missing.steps[1]!.skipped_as?.reason, 'unchanged');
  writeFileSync(join(repo, 'work/clean.csv'), 'by hand\n');
  const edited = await run();
  assert.match(edited.steps[1]!.ran_because ?? '', /its output work\/clean\.csv is not what run \S+ wrote/);

  // The source changed: every step after it runs.
  writeFileSync(join(repo, 'data/source.csv'), 'a,b\n3,4\n');
  assert.deepEqual(statuses(await run()), ['succeeded', 'succeeded', 'succeeded', 'succeeded']);

  // The module's env (modules.json) changed: the steps of that module run.
  const modules = JSON.parse(readFileSync(join(repo, 'modules.json'), 'utf8'));
  modules.copy.env.EXTRA = 'two';
  writeFileSync(join(repo, 'modules.json'), JSON.stringify(modules));
  const two = await run();
  assert.deepEqual(statuses(two).slice(0, 2), ['succeeded', 'succeeded']);
  const unchanged = `skipped unchanged ${two.run.id}`;
  assert.deepEqual(statuses(await run()).slice(0, 2), [unchanged, unchanged]);

  // A param the modules get as ETL_PARAM_MODE, though no path names it: they run.
  assert.deepEqual(statuses(await run('--param', 'mode=quick')).slice(0, 2), ['succeeded', 'succeeded']);

  // The module's file changed (a comment is enough): its steps run.
  const full = await run(); // the default params again
  const same = `skipped unchanged ${full.run.id}`;
  assert.deepEqual(statuses(await run()).slice(0, 2), [same, same]);
  writeFileSync(join(repo, 'modules/copy.sh'), `${readFileSync(join(repo, 'modules/copy.sh'), 'utf8')}# edited\n`);
  assert.deepEqual(statuses(await run()).slice(0, 2), ['succeeded', 'succeeded']);

  // --force runs everything.
  assert.deepEqual(statuses(await run('--force')).slice(0, 2), ['succeeded', 'succeeded']);
});

test("skip_unchanged: a file the module's depends globs match is part of its steps' fingerprint, committed or not", async (t) => {
  const repo = initRepo(
    pipelineRepo(t, {
      modules: { tag: { cmd: './modules/tag.sh', depends: ['modules/lib/**'] } },
      sequences: {
        tagged: { skip_unchanged: true, steps: [{ module_name: 'tag', input: 'data/in.csv', output: 'work/out.csv' }] },
      },
      files: {
        'data/in.csv': 'a\n',
        '.gitignore': 'work/\n',
        'modules/tag.sh': {
          content: `#!/bin/sh
# Copies --input to --output, then what modules/lib/helper.sh says.
while [ $# -gt 0 ]; do case "$1" in --input) i="$2";; --output) o="$2";; esac; shift 2; done
. modules/lib/helper.sh
mkdir -p "$(dirname "$o")"
{ cat "$i"; helper; } > "$o"
`,
          mode: 0o755,
        },
        'modules/lib/helper.sh': 'helper() { echo one; }\n',
      },
    }),
  );
  const run = async () => {
    const result = await runCli(['run', 'tagged'], { cwd: repo });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    return show(repo, 'tagged@latest');
  };
  const first = await run();
  assert.deepEqual(statuses(await run()), [`skipped unchanged ${first.run.id}`]);

  // An edit not committed: what runs is what is on disk.
  writeFileSync(join(repo, 'modules/lib/helper.sh'), 'helper() { echo two; }\n');
  const edited = await run();
  assert.deepEqual(statuses(edited), ['succeeded']);
  assert.match(edited.steps[0]!.ran_because ?? '', new RegExp(`given something different from run ${first.run.id}`));
  assert.equal(readFileSync(join(repo, 'work/out.csv'), 'utf8'), 'a\ntwo\n');
  assert.deepEqual(statuses(await run()), [`skipped unchanged ${edited.run.id}`]);

  // The same content committed: nothing changed for the step.
  git(repo, 'add', 'modules/lib/helper.sh');
  git(repo, 'commit', '--quiet', '-m', 'helper says two');
  assert.deepEqual(statuses(await run()), [`skipped unchanged ${edited.run.id}`]);

  // A committed edit, and a new file the glob matches, each make it run.
  writeFileSync(join(repo, 'modules/lib/helper.sh'), 'helper() { echo three; }\n');
  git(repo, 'commit', '--quiet', '-am', 'helper says three');
  assert.deepEqual(statuses(await run()), ['succeeded']);
  assert.equal(readFileSync(join(repo, 'work/out.csv'), 'utf8'), 'a\nthree\n');
  writeFileSync(join(repo, 'modules/lib/more.sh'), '# more\n');
  assert.deepEqual(statuses(await run()), ['succeeded']);
  assert.deepEqual(
    statuses(await run()).map((s) => s.split(' ')[0]),
    ['skipped'],
  );
});

test('--skip-unchanged on a fresh clone: judged from the ledger pushed by another clone', async (t) => {
  const shared = tempRepo(t); // storage both machines see
  writeFileSync(join(shared, 'source.csv'), 'x\n');
  const { remote } = pipelineWithRemote(t, {
    modules: { copy: { cmd: './modules/copy.sh' } },
    sequences: {
      publish: {
        steps: [{ module_name: 'copy', input: join(shared, 'source.csv'), output: join(shared, 'out/copy.csv') }],
      },
    },
    files: MODULES,
  });
  const a = cloneOf(t, remote);
  const ran = await runCli(['run', 'publish', '--push'], { cwd: a });
  assert.equal(ran.code, 0, ran.stderr);
  const id = (await show(a, 'publish@latest')).run.id;

  const b = cloneOf(t, remote);
  assert.ok(existsSync(join(b, 'runs/publish')), 'the ledger came with the clone');
  const again = await runCli(['run', 'publish', '--skip-unchanged'], { cwd: b });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, new RegExp(`- 1/1 copy skipped: unchanged since run ${id}`));
  assert.deepEqual(statuses(await show(b, 'publish@latest')), [`skipped unchanged ${id}`]);
  // Without the option (the sequence does not ask for it), the step runs.
  assert.equal((await runCli(['run', 'publish'], { cwd: b })).code, 0);
  assert.deepEqual(statuses(await show(b, 'publish@latest')), ['succeeded']);
});

test('skip_unchanged must be true or false: a located error', async (t) => {
  const repo = skipPipeline(t, { skip_unchanged: 'yes' });
  const result = await runCli(['validate'], { cwd: repo });
  assert.equal(result.code, 2);
  assert.match(
    result.stdout + result.stderr,
    /etl_sequences\/make\.json:2:21: error: "skip_unchanged" must be true or false, got a string \("yes"\)/,
  );
});

function resumePipeline(t: Parameters<typeof pipelineRepo>[0]) {
  const repo = pipelineRepo(t, {
    modules: { copy: { cmd: './modules/copy.sh' }, slow: { cmd: './modules/slow.sh' } },
    sequences: {
      chain: {
        steps: [
          { module_name: 'copy', name: 'first', input: 'data/source.csv', output: 'work/1.csv' },
          { module_name: 'slow', name: 'second', input: 'work/1.csv', output: 'work/2.csv' },
          { module_name: 'copy', name: 'third', input: 'work/2.csv', output: 'work/3.csv' },
        ],
      },
      other: { steps: [{ module_name: 'copy', input: 'data/source.csv', output: 'work/o.csv' }] },
    },
    files: { 'data/source.csv': 'a\n', '.gitignore': 'work/\nhold\nfail\nslow.pid\n', ...MODULES },
  });
  return initRepo(repo);
}

test('--resume after kill -9 of the runner: a new run picks up at the step that was running, linked to the old', async (t) => {
  const repo = resumePipeline(t);
  writeFileSync(join(repo, 'hold'), '');
  const runner = startCli(['run', 'chain'], { cwd: repo });
  await runner.line(/▶ 2\/3 second/);
  const killed = (await show(repo, 'chain@latest')).run.id;
  runner.child.kill('SIGKILL');
  await runner.done;
  rmSync(join(repo, 'hold'));
  const first = readFileSync(join(repo, 'work/1.csv'), 'utf8');

  const resumed = await runCli(['run', 'chain', '--resume', 'chain@latest'], { cwd: repo });
  assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
  assert.match(resumed.stdout, new RegExp(`resuming run ${killed} at step 2 \\(second\\)`));
  assert.match(resumed.stdout, new RegExp(`- 1/3 first \\(copy\\) skipped: done by run ${killed}, resumed`));
  const now = await show(repo, 'chain@latest');
  assert.equal(now.run.resumed_from, killed);
  assert.deepEqual(now.run.selection, { from: 2, only: null });
  assert.deepEqual(statuses(now), [`skipped resumed ${killed}`, 'succeeded', 'succeeded']);
  assert.equal(readFileSync(join(repo, 'work/3.csv'), 'utf8'), first);
  const old = await show(repo, killed);
  assert.equal(old.run.status, 'abandoned');
  // The killed run's module was found running when its lock was taken over, and stopped.
  const pid = Number(readFileSync(join(repo, 'slow.pid'), 'utf8').trim());
  assert.ok(await waitUntilGone([pid]), 'no module of the killed run is left');
});

test('--resume refuses an earlier output that changed (naming it), a run that succeeded, another sequence; --force resumes', async (t) => {
  const repo = resumePipeline(t);
  writeFileSync(join(repo, 'fail'), '');
  assert.equal((await runCli(['run', 'chain'], { cwd: repo })).code, 1);
  const failed = (await show(repo, 'chain@latest')).run.id;
  rmSync(join(repo, 'fail'));

  writeFileSync(join(repo, 'work/1.csv'), 'changed\n');
  const refused = await runCli(['run', 'chain', '--resume', failed], { cwd: repo });
  assert.equal(refused.code, 2);
  assert.match(
    refused.stderr,
    new RegExp(
      `cannot resume run ${failed} at step 2 \\(second\\): work/1\\.csv, written by step 1 \\(first\\), has changed \\(sha256 [0-9a-f]{12} then, [0-9a-f]{12} now\\)\\. Run the sequence whole, or --force`,
    ),
  );
  assert.doesNotMatch(refused.stderr, /\n\s+at /, 'no stack trace');
  assert.equal((await show(repo, 'chain@latest')).run.id, failed, 'nothing was run or recorded');

  const forced = await runCli(['run', 'chain', '--resume', failed, '--force'], { cwd: repo });
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /--force: resuming although work\/1\.csv, written by step 1 \(first\), has changed/);
  assert.equal(readFileSync(join(repo, 'work/3.csv'), 'utf8'), 'changed\n');

  const done = await runCli(['run', 'chain', '--resume', 'chain@latest'], { cwd: repo });
  assert.equal(done.code, 2);
  assert.match(done.stderr, /succeeded: there is nothing to resume \(etl run chain runs it again\)/);
  const other = await runCli(['run', 'other', '--resume', failed], { cwd: repo });
  assert.equal(other.code, 2);
  assert.match(other.stderr, new RegExp(`run ${failed} is a run of "chain", not of "other"`));
  const both = await runCli(['run', 'chain', '--resume', failed, '--from', '2'], { cwd: repo });
  assert.match(both.stderr, /--from, --only and --resume cannot be used together/);
  // A run another machine left "running" (it died with it): refused, unless --force.
  writeFileSync(join(repo, 'fail'), '');
  assert.equal((await runCli(['run', 'chain'], { cwd: repo })).code, 1);
  rmSync(join(repo, 'fail'));
  const elsewhere = await show(repo, 'chain@latest');
  const record = join(
    repo,
    'runs/chain',
    elsewhere.run.started_at.slice(0, 10).replace(/-/g, '/'),
    elsewhere.run.id,
    'run.json',
  );
  writeFileSync(record, JSON.stringify({ ...elsewhere.run, status: 'running', host: 'ci-box-7', finished_at: null }));
  const alive = await runCli(['run', 'chain', '--resume', elsewhere.run.id], { cwd: repo });
  assert.equal(alive.code, 2);
  assert.match(
    alive.stderr,
    /is still running \(pid \d+ on ci-box-7\): nothing to resume yet \(if that machine stopped without saying so, --force resumes it\)/,
  );
  const taken = await runCli(['run', 'chain', '--resume', elsewhere.run.id, '--force'], { cwd: repo });
  assert.equal(taken.code, 0, taken.stderr);
  assert.match(taken.stdout, new RegExp(`resuming run ${elsewhere.run.id} at step 2 \\(second\\)`));

  // The definitions changed since: the step it stopped at is not there any more.
  writeFileSync(join(repo, 'fail'), '');
  assert.equal((await runCli(['run', 'chain'], { cwd: repo })).code, 1);
  const file = join(repo, 'etl_sequences/chain.json');
  const sequence = JSON.parse(readFileSync(file, 'utf8'));
  sequence.steps[1].name = 'renamed';
  writeFileSync(file, JSON.stringify(sequence));
  const moved = await runCli(['run', 'chain', '--resume', 'chain@latest'], { cwd: repo });
  assert.equal(moved.code, 2);
  assert.match(
    moved.stderr,
    /stopped at step 2 \(second\), and chain now has "renamed" there: run it whole, or with --from/,
  );
  const unknown = await runCli(['run', 'chain', '--resume', 'nope@latest'], { cwd: repo });
  assert.equal(unknown.code, 2);
  assert.doesNotMatch(unknown.stderr, /\n\s+at /);
});

test("--resume runs with the resumed run's params and tick (its later steps use its paths); asking for others is refused", async (t) => {
  const dir = '${params.region}/${tick:%Y-%m-%d}';
  const repo = initRepo(
    pipelineRepo(t, {
      modules: { copy: { cmd: './modules/copy.sh' }, slow: { cmd: './modules/slow.sh' } },
      sequences: {
        daily: {
          params: { region: { default: 'north' } },
          steps: [
            { module_name: 'copy', name: 'first', input: 'data/${params.region}.csv', output: `work/rs/${dir}/a.csv` },
            { module_name: 'slow', name: 'second', input: `work/rs/${dir}/a.csv`, output: `work/rs/${dir}/b.csv` },
            { module_name: 'copy', name: 'third', input: `work/rs/${dir}/b.csv`, output: `work/rs/${dir}/c.csv` },
          ],
        },
      },
      files: {
        'data/north.csv': 'north\n',
        'data/south.csv': 'south\n',
        '.gitignore': 'work/\nfail\nslow.pid\n',
        ...MODULES,
      },
    }),
  );
  writeFileSync(join(repo, 'fail'), '');
  const args = ['--param', 'region=south', '--tick', '2026-01-15T06:00:00Z'];
  assert.equal((await runCli(['run', 'daily', ...args], { cwd: repo })).code, 1);
  rmSync(join(repo, 'fail'));
  const failed = (await show(repo, 'daily@latest')).run.id;

  for (const [other, refusal] of [
    [['--param', 'region=north'], `run ${failed} ran with param region=south, not region=north`],
    [
      ['--tick', '2026-12-05T00:00:00Z'],
      `run ${failed} ran for tick 2026-01-15T06:00:00.000Z, not 2026-12-05T00:00:00.000Z`,
    ],
  ] as const) {
    const refused = await runCli(['run', 'daily', '--resume', failed, ...other], { cwd: repo });
    assert.equal(refused.code, 2, refused.stdout + refused.stderr);
    assert.match(refused.stderr, new RegExp(refusal.replace(/[.]/g, '\\.')));
    assert.match(refused.stderr, /a resume runs with the params and tick of the run it picks up/);
    assert.equal((await show(repo, 'daily@latest')).run.id, failed, 'nothing was run or recorded');
  }

  // As the web view's "Resume at step N" asks: the run id alone.
  const resumed = await runCli(['run', 'daily', '--resume', failed], { cwd: repo });
  assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
  const now = await show(repo, 'daily@latest');
  assert.deepEqual(now.run.params, { region: 'south' });
  assert.equal(now.run.tick, '2026-01-15T06:00:00.000Z');
  assert.deepEqual(
    now.steps.map((s) => s.output),
    ['work/rs/south/2026-01-15/a.csv', 'work/rs/south/2026-01-15/b.csv', 'work/rs/south/2026-01-15/c.csv'],
  );
  assert.equal(readFileSync(join(repo, 'work/rs/south/2026-01-15/c.csv'), 'utf8'), 'south\n');
  assert.equal(existsSync(join(repo, 'work/rs/north')), false, 'nothing read or written for the default region');

  // The same values given again are no conflict.
  writeFileSync(join(repo, 'fail'), '');
  assert.equal((await runCli(['run', 'daily', ...args], { cwd: repo })).code, 1);
  rmSync(join(repo, 'fail'));
  const again = await runCli(['run', 'daily', '--resume', 'daily@latest', ...args], { cwd: repo });
  assert.equal(again.code, 0, again.stdout + again.stderr);
});
