// Values between steps: ETL_OUTPUTS lines, ${steps.NAME.outputs.KEY} in later steps, recorded,
// masked, validated.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pipelineRepo, runCli } from '../helpers/repo.js';
import { assertValidRecords, log, onlyRun } from '../helpers/runs.js';

// Writes outputs: a plain line, a block, and the secret it is given.
const WRITE = {
  content: `#!/bin/sh
echo "day=2026-12-01" >> "$ETL_OUTPUTS"
printf 'note<<END\\nline one\\nline two\\nEND\\n' >> "$ETL_OUTPUTS"
echo "token=$TOKEN" >> "$ETL_OUTPUTS"
`,
  mode: 0o755,
};
// Notes what it was given: its arguments and one variable.
const READ = {
  content: `#!/bin/sh
echo "$* | $DAY" >> "$ETL_REPO/read.txt"
`,
  mode: 0o755,
};

test('a later step gets what an earlier one wrote to ETL_OUTPUTS, in its input, output, conf and env; records keep them masked', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { write: { cmd: './modules/write.sh' }, read: { cmd: './modules/read.sh' } },
    sequences: {
      s: {
        secrets: ['TOKEN'],
        steps: [
          { name: 'first', module_name: 'write', skip_unchanged: true },
          {
            name: 'second',
            module_name: 'read',
            input: 'in/${steps.first.outputs.day}.csv',
            output: 'out/${steps.first.outputs.token}',
            env: { DAY: '${steps.first.outputs.day}' },
          },
        ],
      },
    },
    files: { 'modules/write.sh': WRITE, 'modules/read.sh': READ },
  });
  const env = { TOKEN: 'sekret-value-123' };
  const plan = await runCli(['plan', 's'], { cwd: repo, env });
  assert.match(plan.stdout, /--input 'in\/\$\{steps\.first\.outputs\.day\}\.csv'/);
  const result = await runCli(['run', 's'], { cwd: repo, env });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.equal(
    readFileSync(join(repo, 'read.txt'), 'utf8'),
    '--input in/2026-12-01.csv --output out/sekret-value-123 | 2026-12-01\n',
  );
  const { run, steps } = onlyRun(repo);
  assertValidRecords(run, steps);
  assert.deepEqual(steps[0]!.outputs, { day: '2026-12-01', note: 'line one\nline two', token: '***' });
  assert.deepEqual(steps[1]!.argv.slice(1), ['--input', 'in/2026-12-01.csv', '--output', 'out/***']);
  // first's outputs are used: it runs every time, skip_unchanged or not.
  const again = await runCli(['run', 's', '--skip-unchanged'], { cwd: repo, env });
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.equal(readFileSync(join(repo, 'read.txt'), 'utf8').split('\n').length, 3);
});

test('an output that was not written fails the step before it starts, saying which', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' }, read: { cmd: './modules/read.sh' } },
    sequences: {
      s: {
        steps: [
          { name: 'quiet', module_name: 'ok' },
          { name: 'reader', module_name: 'read', input: '${steps.quiet.outputs.day}' },
        ],
      },
    },
    files: { 'modules/read.sh': READ },
  });
  const result = await runCli(['run', 's'], { cwd: repo });
  assert.equal(result.code, 1, result.stdout + result.stderr);
  const { run, steps } = onlyRun(repo);
  assertValidRecords(run, steps);
  assert.equal(run.steps[1]!.status, 'failed');
  assert.equal(steps[1]!.attempts.length, 0);
  assert.match(
    run.error!,
    /step 2 \(reader\) cannot start: \$\{steps\.quiet\.outputs\.day\}: step "quiet" did not run, or wrote no outputs/,
  );
});

test('validation: outputs of a step that does not run before, of no step, or where no step is', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: {
      s: {
        params: { region: { default: '${steps.a.outputs.x}' } },
        env: { SEQ: '${steps.a.outputs.x}' },
        steps: [
          { name: 'a', module_name: 'ok', input: '${steps.b.outputs.x}' },
          { name: 'b', module_name: 'ok', input: '${steps.a.outputs.bad-key}', output: '${steps.a.outputs.x}' },
        ],
      },
      g: {
        steps: [
          { name: 'a', module_name: 'ok', needs: [] },
          { name: 'b', module_name: 'ok', needs: [], input: '${steps.a.outputs.x}' },
        ],
      },
    },
  });
  const result = await runCli(['validate', '--format', 'json'], { cwd: repo });
  assert.equal(result.code, 2);
  const issues = JSON.parse(result.stdout) as Array<{ file: string; line: number; code: string; message: string }>;
  const messages = issues.map((i) => `${i.file}:${i.line} ${i.code} ${i.message}`);
  assert.ok(
    messages.some((m) => /s\.json:\d+ unknown-template .*cannot be used here/.test(m)),
    messages.join('\n'),
  );
  assert.ok(
    messages.some((m) => /names step "b", which does not run before this one/.test(m)),
    messages.join('\n'),
  );
  assert.ok(
    messages.some((m) => /"bad-key" in .* is not an output name/.test(m)),
    messages.join('\n'),
  );
  assert.ok(
    messages.some((m) => /g\.json:\d+ unknown-template .*names step "a", which does not run before this one/.test(m)),
    messages.join('\n'),
  );
  assert.equal(issues.filter((i) => i.code === 'unknown-template').length, 5, messages.join('\n'));
});

test('a step that wrote more than 64 KiB to ETL_OUTPUTS fails: no value cut short is passed on', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { big: { cmd: './modules/big.sh' }, read: { cmd: './modules/read.sh' } },
    sequences: {
      s: {
        steps: [
          { name: 'big', module_name: 'big' },
          { name: 'reader', module_name: 'read', env: { DAY: '${steps.big.outputs.later}' } },
        ],
      },
    },
    files: {
      // big= and 70,000 x, then later=1: 70,013 bytes.
      'modules/big.sh': {
        content: `#!/bin/sh\n{ printf 'big='; yes x | head -n 70000 | tr -d '\\n'; printf '\\nlater=1\\n'; } >> "$ETL_OUTPUTS"\n`,
        mode: 0o755,
      },
      'modules/read.sh': READ,
    },
  });
  const result = await runCli(['run', 's'], { cwd: repo });
  assert.equal(result.code, 1, result.stdout + result.stderr);
  const { folder, run, steps } = onlyRun(repo);
  assertValidRecords(run, steps);
  const why = 'ETL_OUTPUTS holds 70013 bytes, over its limit of 65536 (64 KiB): none of it is used';
  assert.equal(run.steps[0]!.status, 'failed');
  assert.equal(steps[0]!.attempts[0]!.exit_code, 0);
  assert.equal(steps[0]!.attempts[0]!.error, why);
  assert.equal(steps[0]!.outputs, undefined);
  assert.equal(run.error, `step 1 (big) failed: ${why}`);
  assert.ok(result.stdout.includes(why), result.stdout);
  assert.ok(log(folder, steps[0]!).includes(`[etl-ledger: ${why}: the step fails]`));
  assert.equal(existsSync(join(repo, 'read.txt')), false, 'the step after it ran');
  const shown = await runCli(['show', run.id], { cwd: repo });
  assert.ok(shown.stdout.includes(why), shown.stdout);
});
