import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validate } from '../../src/definitions/validate.js';
import { findStep, isSelected, maskPlan, planRun, secretWarnings } from '../../src/runner/plan.js';
import { pipelineRepo } from '../helpers/repo.js';

test('a plan: exact argv with renamed flags ($flags, then the module), timeouts, retries, env most specific wins', async (t) => {
  const repo = pipelineRepo(t, {
    modules: {
      $flags: { config: '--conf' },
      ok: {
        cmd: './modules/ok.sh --fixed',
        timeout: '1m',
        retries: 2,
        retry_delay: '5s',
        env: { A: 'module', B: 'module' },
      },
      other: { cmd: './modules/ok.sh', flags: { input: '-i' } },
    },
    sequences: {
      s: {
        timeout: '1h',
        secrets: ['TOKEN'],
        env: { B: 'sequence' },
        steps: [
          { module_name: 'ok', name: 'one', input: 'in.csv', conf: 'c.json', env: { A: 'step' } },
          { module_name: 'other', input: 'x', timeout: '2s' },
        ],
      },
    },
    files: { 'c.json': '{}' },
  });
  const report = await validate({ repo });
  assert.deepEqual(report.issues, []);
  const plan = planRun(report.definitions, 's', { PATH: process.env.PATH, TOKEN: 'abc123' });
  const [one, two] = plan.steps;
  assert.deepEqual(one!.argv, ['./modules/ok.sh', '--fixed', '--input', 'in.csv', '--conf', 'c.json']);
  assert.deepEqual(two!.argv, ['./modules/ok.sh', '-i', 'x']);
  assert.deepEqual([one!.timeout_ms, one!.retries, one!.retry_delay_ms, two!.timeout_ms], [60_000, 2, 5_000, 2_000]);
  assert.deepEqual(one!.env, { A: 'step', B: 'sequence' });
  assert.equal(plan.timeout_ms, 3_600_000);
  assert.deepEqual(
    plan.handler_timeout_ms,
    { on_success: 3_600_000, on_failure: 3_600_000, on_cancel: 3_600_000, on_exit: 3_600_000 },
    'the handler bounds default to the sequence timeout',
  );
  assert.deepEqual(one!.module_files, ['modules/ok.sh']);
  assert.equal(findStep(plan, 'one'), 1);
  assert.equal(findStep(plan, '2'), 2);
  assert.throws(() => findStep(plan, '3'), /has steps 1 to 2, not 3/);
  assert.equal(isSelected(two!, { from: 2 }), true);
  assert.equal(isSelected(one!, { only: 2 }), false);
  assert.deepEqual(secretWarnings(plan, { TOKEN: 'abc123' }), []);
  assert.deepEqual(secretWarnings(plan, {}), ['secret TOKEN is not set: its modules get no value']);
  const masked = maskPlan({ ...plan, steps: [{ ...one!, argv: ['x', 'abc123'] }] }, { TOKEN: 'abc123' });
  assert.deepEqual(masked.steps[0]!.argv, ['x', '***']);
});

test('"$defaults" in modules.json gives every step a timeout, below its module\'s and its own', async (t) => {
  const repo = pipelineRepo(t, {
    modules: {
      $defaults: { timeout: '1h' },
      plain: { cmd: './modules/ok.sh' },
      bounded: { cmd: './modules/ok.sh', timeout: '1m' },
    },
    sequences: {
      s: {
        steps: [{ module_name: 'plain' }, { module_name: 'bounded' }, { module_name: 'plain', timeout: '5s' }],
      },
    },
  });
  const report = await validate({ repo });
  assert.deepEqual(report.issues, []);
  assert.deepEqual(
    planRun(report.definitions, 's').steps.map((s) => s.timeout_ms),
    [3_600_000, 60_000, 5_000],
  );
});

test("a run step's plan: its words filled one by one, $flags added, no module's settings, secrets masked in run", async (t) => {
  const repo = pipelineRepo(t, {
    modules: { $flags: { config: '--conf' }, ok: { cmd: './modules/ok.sh', timeout: '1m', retries: 2 } },
    sequences: {
      s: {
        secrets: ['TOKEN'],
        params: { day: { default: '${tick:%Y-%m-%d}' }, who: { default: 'a b' } },
        steps: [
          {
            run: 'sh modules/ok.sh --day ${params.day} --who ${params.who} --token abc123',
            input: 'in.csv',
            conf: 'c.json',
            timeout: '5s',
          },
        ],
      },
    },
    files: { 'c.json': '{}' },
  });
  const report = await validate({ repo });
  assert.deepEqual(report.issues, []);
  const plan = planRun(
    report.definitions,
    's',
    { PATH: process.env.PATH, TOKEN: 'abc123' },
    {
      tick: new Date('2026-02-03T04:05:06Z'),
    },
  );
  const [step] = plan.steps;
  assert.deepEqual(step!.argv, [
    'sh',
    'modules/ok.sh',
    '--day',
    '2026-02-03',
    '--who',
    'a b',
    '--token',
    'abc123',
    '--input',
    'in.csv',
    '--conf',
    'c.json',
  ]);
  assert.equal(step!.module, 'sh');
  assert.equal(step!.run, 'sh modules/ok.sh --day ${params.day} --who ${params.who} --token abc123');
  assert.deepEqual(step!.module_files, ['modules/ok.sh']);
  assert.deepEqual([step!.timeout_ms, step!.retries, step!.retry_delay_ms], [5_000, 0, 0]);
  const masked = maskPlan(plan, { TOKEN: 'abc123' });
  assert.equal(masked.steps[0]!.run, 'sh modules/ok.sh --day ${params.day} --who ${params.who} --token ***');
  assert.equal(masked.steps[0]!.argv[7], '***');
});
