// A step that carries its command (`run`) instead of naming a module: split like a cmd,
// templates filled per word, the interface flags added, recorded with the argv that ran,
// its repository files pinned and part of its fingerprint.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Plan } from '../../src/runner/plan.js';
import type { RunRecord, StepRecord } from '../../src/runner/records.js';
import { initRepo } from '../helpers/git.js';
import { fixture, pipelineRepo, runCli } from '../helpers/repo.js';
import { assertValidRecords, onlyRun } from '../helpers/runs.js';

/** Writes what it was given (its module name, step name and each argument) to its --output. */
const ARGS_SCRIPT = {
  content: `#!/bin/sh
prev=
for a in "$@"; do [ "$prev" = --output ] && out="$a"; prev="$a"; done
mkdir -p "$(dirname "$out")"
{ printf '%s\\n' "$ETL_MODULE" "$ETL_STEP_NAME"; printf '[%s]\\n' "$@"; } > "$out"
`,
  mode: 0o755,
};

const TICK = '2026-03-04T05:06:07Z';

function runPipeline(t: Parameters<typeof pipelineRepo>[0]) {
  return pipelineRepo(t, {
    modules: { $flags: { config: '--conf' }, ok: { cmd: './modules/ok.sh' } },
    sequences: {
      s: {
        params: { region: { default: 'north side' } },
        steps: [
          {
            run: './scripts/args.sh --day ${tick:%Y-%m-%d} --region ${params.region}',
            output: 'out/args.txt',
            conf: 'conf/c.json',
          },
          { name: 'shell', run: 'sh -c \'echo "$$ETL_MODULE:$1" > out/sh.txt\' sh ${params.region}' },
          { module_name: 'ok' },
          { name: 'fails', run: "sh -c 'exit 4'" },
          { module_name: 'ok', name: 'never' },
        ],
        on_failure: { run: './scripts/args.sh handler', output: 'out/handler.txt' },
      },
    },
    files: { 'scripts/args.sh': ARGS_SCRIPT, 'conf/c.json': '{}\n' },
  });
}

test('a step with run: a repository script and a PATH program, templates filled per word, the flags added, the argv recorded', async (t) => {
  const repo = runPipeline(t);
  const result = await runCli(['run', 's', '--tick', TICK], { cwd: repo });
  assert.equal(result.code, 1, result.stdout + result.stderr);
  const { run, steps } = onlyRun(repo);
  assertValidRecords(run, steps);
  assert.deepEqual(
    run.steps.map((s) => `${s.role} ${s.index} ${s.name} ${s.module} ${s.status}`),
    [
      'step 1 args.sh args.sh succeeded',
      'step 2 shell sh succeeded',
      'step 3 ok ok succeeded',
      'step 4 fails sh failed',
      'step 5 never ok skipped',
      'on_failure 1 args.sh args.sh succeeded',
    ],
  );
  const [first, shell, module, fails] = steps;
  assert.deepEqual(first!.argv, [
    './scripts/args.sh',
    '--day',
    '2026-03-04',
    '--region',
    'north side',
    '--output',
    'out/args.txt',
    '--conf',
    'conf/c.json',
  ]);
  assert.equal(first!.run, './scripts/args.sh --day ${tick:%Y-%m-%d} --region ${params.region}');
  assert.equal(run.steps[0]!.run, first!.run);
  assert.equal(module!.run, undefined, 'a module step records no run');
  assert.equal(run.steps[2]!.run, undefined);
  assert.equal(
    readFileSync(join(repo, 'out/args.txt'), 'utf8'),
    'args.sh\nargs.sh\n[--day]\n[2026-03-04]\n[--region]\n[north side]\n[--output]\n[out/args.txt]\n[--conf]\n[conf/c.json]\n',
  );
  assert.deepEqual(shell!.argv, ['sh', '-c', 'echo "$ETL_MODULE:$1" > out/sh.txt', 'sh', 'north side']);
  assert.equal(readFileSync(join(repo, 'out/sh.txt'), 'utf8'), 'sh:north side\n');
  assert.equal(fails!.attempts[0]!.exit_code, 4);
  assert.match(run.error ?? '', /step 4 \(fails\) failed: exited with code 4/);
  assert.equal(
    readFileSync(join(repo, 'out/handler.txt'), 'utf8'),
    'args.sh\nargs.sh\n[handler]\n[--output]\n[out/handler.txt]\n',
  );
  // The script it runs is pinned and recorded as the step's files; a PATH program is not.
  assert.ok('scripts/args.sh' in run.definitions.files, JSON.stringify(run.definitions.files));
  assert.deepEqual(Object.keys(first!.module_files ?? {}), ['scripts/args.sh']);
  assert.deepEqual(Object.keys(shell!.module_files ?? {}), []);
  assert.ok(existsSync(join(repo, 'runs')), 'recorded');
});

test('plan and show print the argv of a step with run', async (t) => {
  const repo = runPipeline(t);
  const plan = await runCli(['plan', 's'], { cwd: repo });
  assert.equal(plan.code, 0, plan.stderr);
  assert.match(
    plan.stdout,
    /1\. args\.sh \(run\)\n {3}\$ \.\/scripts\/args\.sh --day \d{4}-\d\d-\d\d --region 'north side' --output out\/args\.txt --conf conf\/c\.json\n {3}program scripts\/args\.sh/,
  );
  assert.match(
    plan.stdout,
    /2\. shell \(run\)\n {3}\$ sh -c 'echo "\$ETL_MODULE:\$1" > out\/sh\.txt' sh 'north side'\n/,
  );
  assert.match(
    plan.stdout,
    /On failure:\n\n1\. args\.sh \(run\)\n {3}\$ \.\/scripts\/args\.sh handler --output out\/handler\.txt/,
  );
  const json = JSON.parse((await runCli(['plan', 's', '--json'], { cwd: repo })).stdout) as Plan;
  assert.equal(json.steps[0]!.module, 'args.sh');
  assert.equal(json.steps[0]!.run, './scripts/args.sh --day ${tick:%Y-%m-%d} --region ${params.region}');
  assert.equal(json.steps[2]!.run, undefined);

  await runCli(['run', 's', '--tick', TICK], { cwd: repo });
  const shown = await runCli(['show', 's@latest'], { cwd: repo });
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(
    shown.stdout,
    /1\. args\.sh \(run\) {2}succeeded.*\n {3}\$ \.\/scripts\/args\.sh --day 2026-03-04 --region 'north side' --output out\/args\.txt --conf conf\/c\.json\n/,
  );
  assert.match(shown.stdout, /on_failure 1\. args\.sh \(run\) {2}succeeded/);
  assert.match(shown.stdout, /3\. ok {2}succeeded/);
});

test('show quotes the argv that ran as plan does: where each argument ends, empty ones, shell text', async (t) => {
  const repo = pipelineRepo(t, {
    modules: {},
    sequences: {
      s: {
        params: { v: { default: 'semi;colon $(touch pwned) its' }, e: { default: '' } },
        steps: [
          { name: 'args', run: `./scripts/args.sh 'single quoted' \${params.v} x\${params.e}y \${params.e} ""` },
          { name: 'shell', run: "sh -c 'echo failed; exit 0'" },
        ],
      },
    },
    files: { 'scripts/args.sh': { content: '#!/bin/sh\n', mode: 0o755 } },
  });
  const commands = (stdout: string) => stdout.split('\n').filter((line) => line.startsWith('   $ '));
  const plan = await runCli(['plan', 's'], { cwd: repo, env: { NO_COLOR: '1' } });
  assert.equal(plan.code, 0, plan.stderr);
  assert.deepEqual(commands(plan.stdout), [
    "   $ ./scripts/args.sh 'single quoted' 'semi;colon $(touch pwned) its' xy '' ''",
    "   $ sh -c 'echo failed; exit 0'",
  ]);
  const result = await runCli(['run', 's'], { cwd: repo });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const shown = await runCli(['show', 's@latest'], { cwd: repo });
  assert.equal(shown.code, 0, shown.stderr);
  assert.deepEqual(commands(shown.stdout), commands(plan.stdout));
});

test("skip_unchanged: the script a step's run runs is part of its fingerprint; etl diff names it", async (t) => {
  const repo = initRepo(
    pipelineRepo(t, {
      modules: {},
      sequences: {
        make: {
          skip_unchanged: true,
          steps: [{ run: 'sh scripts/copy.sh', input: 'data/in.csv', output: 'work/out.csv' }],
        },
      },
      files: {
        'scripts/copy.sh': readFileSync(fixture('modules', 'copy.sh'), 'utf8'),
        'data/in.csv': 'a\n1\n',
        '.gitignore': 'work/\n',
      },
    }),
  );
  const run = async () => {
    const result = await runCli(['run', 'make', '--json'], { cwd: repo });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const record = JSON.parse(result.stdout) as RunRecord;
    const shown = JSON.parse((await runCli(['show', record.id, '--json'], { cwd: repo })).stdout) as {
      steps: StepRecord[];
    };
    return { record, step: shown.steps[0]! };
  };
  const first = await run();
  assert.equal(first.step.status, 'succeeded');
  assert.equal(readFileSync(join(repo, 'work/out.csv'), 'utf8'), 'a\n1\n');
  assert.ok('scripts/copy.sh' in first.record.definitions.files);
  assert.deepEqual(Object.keys(first.step.module_files ?? {}), ['scripts/copy.sh']);
  const second = await run();
  assert.equal(second.step.skipped_as?.run_id, first.record.id, 'the same script, input and argv: skipped');

  appendFileSync(join(repo, 'scripts/copy.sh'), '# edited\n');
  const third = await run();
  assert.equal(third.step.status, 'succeeded', 'the script changed: the step runs');
  assert.match(third.step.ran_because ?? '', new RegExp(`given something different from run ${first.record.id}`));

  const diff = await runCli(['diff', first.record.id, third.record.id], { cwd: repo });
  assert.equal(diff.code, 0, diff.stderr);
  assert.match(diff.stdout, /module code/);
  assert.match(diff.stdout, /scripts\/copy\.sh/);
});
