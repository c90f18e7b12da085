// A step's `if`: exit 0 runs it, 1 skips it (recorded with why), anything else fails it.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pipelineRepo, runCli } from '../helpers/repo.js';
import { assertValidRecords, findRunFolders, onlyRun, readRunFolder } from '../helpers/runs.js';

const COUNT = {
  content: `#!/bin/sh
echo "rows=$1" >> "$ETL_OUTPUTS"
`,
  mode: 0o755,
};

function repoWith(t: Parameters<typeof pipelineRepo>[0], sequences: Record<string, unknown>): string {
  return pipelineRepo(t, {
    modules: {
      ok: { cmd: './modules/ok.sh' },
      count0: { cmd: './modules/count.sh 0' },
      count5: { cmd: './modules/count.sh 5' },
    },
    sequences,
    files: { 'modules/count.sh': COUNT },
  });
}

test('a false condition skips the step, with why, and the run goes on; a true one runs it', async (t) => {
  const repo = repoWith(t, {
    s: {
      params: { flag: { default: 'flag.txt' } },
      steps: [
        { name: 'maybe', module_name: 'ok', if: 'test -e ${params.flag}' },
        { name: 'after', module_name: 'ok' },
      ],
    },
  });
  const skipped = await runCli(['run', 's'], { cwd: repo });
  assert.equal(skipped.code, 0, skipped.stdout + skipped.stderr);
  let { run, steps } = onlyRun(repo);
  assertValidRecords(run, steps);
  assert.equal(run.status, 'succeeded');
  assert.deepEqual(
    run.steps.map((s) => s.status),
    ['skipped', 'succeeded'],
  );
  assert.equal(run.steps[0]!.skipped_because, 'if: test -e flag.txt exited 1');
  writeFileSync(join(repo, 'flag.txt'), '');
  const ran = await runCli(['run', 's'], { cwd: repo });
  assert.equal(ran.code, 0, ran.stdout + ran.stderr);
  ({ run, steps } = readRunFolder(findRunFolders(repo).sort().at(-1)!));
  assert.deepEqual(
    run.steps.map((s) => s.status),
    ['succeeded', 'succeeded'],
  );
});

test("a condition on an earlier step's output; in a graph, what needs a step skipped by its condition still runs", async (t) => {
  const repo = repoWith(t, {
    g: {
      steps: [
        { name: 'none', module_name: 'count0', needs: [] },
        { name: 'some', module_name: 'count5', needs: [] },
        { name: 'load_none', module_name: 'ok', needs: ['none'], if: 'test ${steps.none.outputs.rows} -gt 0' },
        { name: 'load_some', module_name: 'ok', needs: ['some'], if: 'test ${steps.some.outputs.rows} -gt 0' },
        { name: 'report', module_name: 'ok', needs: ['load_none', 'load_some'] },
      ],
    },
  });
  const result = await runCli(['run', 'g'], { cwd: repo });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const { run, steps } = onlyRun(repo);
  assertValidRecords(run, steps);
  assert.deepEqual(
    run.steps.map((s) => `${s.name} ${s.status}`),
    ['none succeeded', 'some succeeded', 'load_none skipped', 'load_some succeeded', 'report succeeded'],
  );
  assert.equal(run.steps[2]!.skipped_because, 'if: test 0 -gt 0 exited 1');
});

test('a condition that cannot decide (exit 2, a missing program) fails the step before it starts', async (t) => {
  const repo = repoWith(t, {
    s: { steps: [{ name: 'odd', module_name: 'ok', if: "sh -c 'echo confused; exit 2'" }, { module_name: 'ok' }] },
  });
  const result = await runCli(['run', 's'], { cwd: repo });
  assert.equal(result.code, 1, result.stdout + result.stderr);
  const { run, steps } = onlyRun(repo);
  assertValidRecords(run, steps);
  assert.deepEqual(
    run.steps.map((s) => s.status),
    ['failed', 'skipped'],
  );
  assert.equal(steps[0]!.attempts.length, 0, 'the module never started');
  assert.match(
    run.error!,
    /step 1 \(odd\) cannot start: its condition could not be decided: if: sh -c 'echo confused; exit 2' exited with code 2 \(it said: confused\)/,
  );
});

test('validation: a condition whose program is missing, or that names an unknown template, is located', async (t) => {
  const repo = repoWith(t, {
    s: {
      steps: [
        { module_name: 'ok', if: './modules/nope.sh' },
        { module_name: 'ok', if: 'test -e ${params.missing}' },
      ],
    },
  });
  const result = await runCli(['validate', '--format', 'json'], { cwd: repo });
  assert.equal(result.code, 2);
  const issues = JSON.parse(result.stdout) as Array<{ line: number; code: string; message: string }>;
  assert.deepEqual(
    issues.map((i) => i.code),
    ['missing-command', 'unknown-template'],
  );
  assert.match(issues[0]!.message, /^command "\.\/modules\/nope\.sh" does not exist in the repository/);
});

test("a secret in a condition's argv or output is masked in the reason, the run's error, show and the dry run's plan", async (t) => {
  const secret = 's3cr3t-token-value';
  const repo = repoWith(t, {
    s: {
      secrets: ['TOKEN'],
      params: { p: { default: 'x' } },
      steps: [
        { name: 'skipped', module_name: 'ok', if: 'sh -c "echo $0; exit 1" ${params.p}' },
        { name: 'undecided', module_name: 'ok', if: 'sh -c "exit 2" ${params.p}' },
      ],
    },
  });
  const env = { TOKEN: secret };
  const result = await runCli(['run', 's', '--param', `p=${secret}`], { cwd: repo, env });
  assert.equal(result.code, 1, result.stdout + result.stderr);
  assert.ok(!(result.stdout + result.stderr).includes(secret), result.stdout + result.stderr);
  const folder = findRunFolders(repo)[0]!;
  const { run, steps } = readRunFolder(folder);
  assert.equal(run.steps[0]!.skipped_because, "if: sh -c 'echo $0; exit 1' *** exited 1 (it said: ***)");
  assert.match(run.error ?? '', /if: sh -c 'exit 2' \*\*\* exited with code 2/);
  assert.ok(!JSON.stringify({ run, steps }).includes(secret));
  const shown = await runCli(['show', run.id], { cwd: repo, env });
  assert.ok(!shown.stdout.includes(secret) && shown.stdout.includes('***'), shown.stdout);
  const plan = await runCli(['run', 's', '--dry-run', '--json', '--param', `p=${secret}`], { cwd: repo, env });
  assert.equal(plan.code, 0, plan.stderr);
  assert.ok(!plan.stdout.includes(secret), plan.stdout);
  assert.match(plan.stdout, /"argv":\s*\[\s*"sh",\s*"-c",\s*"exit 2",\s*"\*\*\*"\s*\]/);
});
