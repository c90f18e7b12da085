// Steps as a graph: `needs`, steps at the same time up to max_parallel, what a failure and a
// cancel leave, and the records' view of it.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { findCycle, graphProblems, isGraph, neededPositions } from '../../src/definitions/graph.js';
import type { SequenceDef, StepDef } from '../../src/definitions/model.js';
import { LedgerStore } from '../../src/ledger/store.js';
import { planRun } from '../../src/runner/plan.js';
import { validate } from '../../src/definitions/validate.js';
import { pipelineRepo, runCli, startCli } from '../helpers/repo.js';
import { assertValidRecords, findRunFolders, onlyRun, readRunFolder } from '../helpers/runs.js';

test('steps with nothing between them run at the same time; a step starts once all it needs are done', async (t) => {
  const repo = pipelineRepo(t, {
    modules: {
      meet_a: { cmd: './modules/meet.sh a b' },
      meet_b: { cmd: './modules/meet.sh b a' },
      ok: { cmd: './modules/ok.sh' },
    },
    sequences: {
      fan: {
        steps: [
          { name: 'first', module_name: 'ok' },
          { name: 'left', module_name: 'meet_a', needs: ['first'] },
          { name: 'right', module_name: 'meet_b', needs: ['first'] },
          { name: 'join', module_name: 'ok', needs: ['left', 'right'], output: 'out/deep/joined.csv' },
          { name: 'after', module_name: 'ok' },
        ],
      },
    },
  });
  const result = await runCli(['run', 'fan'], { cwd: repo });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const { run, steps } = onlyRun(repo);
  assertValidRecords(run, steps);
  assert.equal(run.status, 'succeeded');
  assert.equal(typeof run.max_parallel, 'number');
  assert.deepEqual(
    run.steps.map((s) => [s.name, s.needs]),
    [
      ['first', []],
      ['left', [1]],
      ['right', [1]],
      ['join', [2, 3]],
      ['after', [4]], // a step without needs needs the one before it
    ],
  );
  assert.deepEqual(steps[3]!.needs, [2, 3]);
  const at = (i: number, key: 'started_at' | 'finished_at') => Date.parse(steps[i]![key]!);
  assert.ok(at(1, 'started_at') >= at(0, 'finished_at') && at(2, 'started_at') >= at(0, 'finished_at'));
  assert.ok(at(3, 'started_at') >= Math.max(at(1, 'finished_at'), at(2, 'finished_at')));
  assert.ok(at(4, 'started_at') >= at(3, 'finished_at'));
  // The runner made the output's folder before the step started (ok.sh writes nothing).
  assert.ok(existsSync(join(repo, 'out/deep')));
  const shown = await runCli(['show', 'fan@latest'], { cwd: repo });
  assert.match(shown.stdout, /^graph {4}its steps run as a graph, up to \d+ at once$/m);
  assert.match(shown.stdout, /^4\. join \(ok\) {2}succeeded.*\n {3}needs left, right, started at \+\d/m);
});

test('max_parallel bounds how many steps run at once', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { exclusive: { cmd: './modules/exclusive.sh' } },
    sequences: {
      one_at_a_time: {
        max_parallel: 1,
        steps: ['a', 'b', 'c', 'd'].map((name) => ({ name, module_name: 'exclusive', needs: [] })),
      },
    },
  });
  const result = await runCli(['run', 'one_at_a_time'], { cwd: repo });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.equal(existsSync(join(repo, 'overlaps.txt')), false);
  assert.equal(onlyRun(repo).run.max_parallel, 1);
});

test('after a failure nothing new starts: what needed it and what was waiting are skipped, the handler runs once', async (t) => {
  const repo = pipelineRepo(t, {
    modules: {
      ok: { cmd: './modules/ok.sh' },
      fail: { cmd: './modules/fail.sh' },
      handler: { cmd: './modules/env-dump.mjs' },
    },
    sequences: {
      broken: {
        max_parallel: 1,
        steps: [
          { name: 'bad', module_name: 'fail', needs: [] },
          { name: 'other', module_name: 'ok', needs: [] },
          { name: 'needs_bad', module_name: 'ok', needs: ['bad'] },
        ],
        on_failure: { module_name: 'handler', output: 'handler.json' },
      },
    },
  });
  const result = await runCli(['run', 'broken'], { cwd: repo });
  assert.equal(result.code, 1, result.stdout + result.stderr);
  const { run, steps } = onlyRun(repo);
  assertValidRecords(run, steps);
  assert.equal(run.status, 'failed');
  assert.equal(run.failed_step, 1);
  assert.deepEqual(
    run.steps.map((s) => `${s.role} ${s.name} ${s.status}`),
    ['step bad failed', 'step other skipped', 'step needs_bad skipped', 'on_failure handler succeeded'],
  );
  assert.equal(JSON.parse(readFileSync(join(repo, 'handler.json'), 'utf8')).env.ETL_FAILED_STEP_NAME, 'bad');
});

test('a graph run shows each running step while it runs; a cancel stops them all and skips the rest', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { hold: { cmd: './modules/hold.sh' }, ok: { cmd: './modules/ok.sh' } },
    sequences: {
      held: {
        max_parallel: 4,
        steps: [
          { name: 'one', module_name: 'hold', needs: [] },
          { name: 'two', module_name: 'hold', needs: [] },
          { name: 'then', module_name: 'ok', needs: ['one', 'two'] },
        ],
      },
    },
  });
  const cli = startCli(['run', 'held'], { cwd: repo });
  await cli.line(/▶ 1\/3 one/);
  await cli.line(/▶ 2\/3 two/);
  // Both have started: their records say so, and a reader sees two steps running.
  const store = await LedgerStore.open(repo);
  const shown = store.readRun({ folder: findRunFolders(repo)[0]!.slice(repo.length + 1) });
  assert.deepEqual(
    shown?.steps.map((s) => s.status),
    ['running', 'running', 'pending'],
  );
  cli.child.kill('SIGINT');
  const result = await cli.done;
  assert.equal(result.code, 130, result.stdout + result.stderr);
  const { run, steps } = readRunFolder(findRunFolders(repo)[0]!);
  assertValidRecords(run, steps);
  assert.equal(run.status, 'cancelled');
  assert.deepEqual(
    run.steps.map((s) => s.status),
    ['cancelled', 'cancelled', 'skipped'],
  );
});

test('a sequence without needs plans and records as a list, exactly as before', async () => {
  const step = (name: string): StepDef => ({
    index: 1,
    pointer: '/0',
    module_name: name,
    name,
    env: {},
    expect: {},
    skip_unchanged: false,
  });
  const sequence = { steps: [step('a'), step('b')] };
  assert.equal(isGraph(sequence), false);
  assert.deepEqual(neededPositions(sequence.steps), [[], [0]]);
});

test('cycles are found without recursion on 10,000 steps in a chain, and 10,000 in one level validate', async (t) => {
  const chain = Array.from({ length: 10_000 }, (_, i) => (i === 0 ? [9_999] : [i - 1]));
  assert.equal(findCycle(chain)?.length, 10_000);
  assert.equal(findCycle(chain.map((needs, i) => (i === 0 ? [] : needs))), undefined);
  const steps = [
    ...Array.from({ length: 10_000 }, (_, i) => ({ name: `s${i}`, module_name: 'ok', needs: [] })),
    { name: 'join', module_name: 'ok', needs: Array.from({ length: 10_000 }, (_, i) => `s${i}`) },
  ];
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: {
      wide: { steps },
      chain: { steps: steps.slice(0, 10_000).map((s, i) => ({ ...s, needs: i ? [`s${i - 1}`] : [] })) },
    },
  });
  const report = await validate({ repo });
  assert.deepEqual(report.issues, []);
  const plan = planRun(report.definitions, 'wide');
  assert.equal(plan.steps.at(-1)!.needs!.length, 10_000);
  assert.equal(planRun(report.definitions, 'chain').steps.at(-1)!.needs![0], 9_999);
});

test('the cycle message names the steps in the order they need each other, a step without needs included', () => {
  const at = (index: number, name: string, needs?: string[]): StepDef => ({
    index,
    pointer: `/steps/${index - 1}`,
    module_name: 'ok',
    name,
    env: {},
    expect: {},
    skip_unchanged: false,
    ...(needs ? { needs } : {}),
  });
  const sequence = {
    steps: [at(1, 'a', ['c']), at(2, 'b'), at(3, 'c', ['b'])],
    on_success: [],
    on_failure: [],
    on_cancel: [],
    on_exit: [],
  } as unknown as SequenceDef;
  const problems = graphProblems(sequence);
  assert.equal(problems.length, 1);
  assert.equal(problems[0]!.code, 'needs-cycle');
  assert.match(problems[0]!.message, /a needs c needs b needs a/);
  assert.match(problems[0]!.message, /a step without needs needs the one before it/);
});

test('etl plan shows what each step needs and the graph by level; --json carries needs and max_parallel', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: {
      diamond: {
        max_parallel: 3,
        steps: [
          { name: 'extract', module_name: 'ok', needs: [] },
          { name: 'left', module_name: 'ok', needs: ['extract'] },
          { name: 'right', module_name: 'ok', needs: ['extract'] },
          { name: 'load', module_name: 'ok', needs: ['left', 'right'] },
        ],
      },
    },
  });
  const text = await runCli(['plan', 'diamond'], { cwd: repo });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /1\. extract \(module ok\)\n {3}needs nothing: starts at once\n/);
  assert.match(text.stdout, /4\. load \(module ok\)\n {3}needs left, right\n/);
  assert.match(
    text.stdout,
    /up to 3 steps at once, by level[^\n]*\n {2}1\. extract\n {2}2\. left, right\n {2}3\. load\n/,
  );
  const json = await runCli(['plan', 'diamond', '--json'], { cwd: repo });
  const plan = JSON.parse(json.stdout);
  assert.equal(plan.max_parallel, 3);
  assert.deepEqual(
    plan.steps.map((s: { needs: number[] }) => s.needs),
    [[], [1], [1], [2, 3]],
  );
});

test('a chain in a graph starts each step the moment the one before exits 0, yet never one after a failure, and fills outputs first', async (t) => {
  const repo = pipelineRepo(t, {
    modules: {
      ok: { cmd: './modules/ok.sh' },
      fail: { cmd: './modules/fail.sh' },
      say: { cmd: './modules/say.sh' },
      mark: { cmd: './modules/mark.sh' },
    },
    sequences: {
      chain: {
        steps: [
          { name: 'a', module_name: 'say', needs: [] },
          { name: 'b', module_name: 'ok', needs: ['a'], input: '${steps.a.outputs.day}' },
          { name: 'c', module_name: 'ok', needs: ['b'] },
        ],
      },
      broken: {
        steps: [
          { name: 'a', module_name: 'fail', needs: [] },
          { name: 'b', module_name: 'mark', needs: ['a'] },
        ],
      },
    },
    files: {
      'modules/say.sh': { content: '#!/bin/sh\necho "day=2026-12-01" >> "$ETL_OUTPUTS"\n', mode: 0o755 },
      'modules/mark.sh': { content: '#!/bin/sh\ntouch "$ETL_REPO/marked"\n', mode: 0o755 },
    },
  });
  const chain = await runCli(['run', 'chain'], { cwd: repo });
  assert.equal(chain.code, 0, chain.stdout + chain.stderr);
  const broken = await runCli(['run', 'broken'], { cwd: repo });
  assert.equal(broken.code, 1, broken.stdout + broken.stderr);
  const runs = findRunFolders(repo).map((folder) => readRunFolder(folder));
  const byName = (name: string) => runs.find((r) => r.run.sequence === name)!;
  assert.deepEqual(byName('chain').steps[1]!.argv.slice(1), ['--input', '2026-12-01']);
  assert.deepEqual(
    byName('broken').run.steps.map((s) => s.status),
    ['failed', 'skipped'],
  );
  assert.equal(byName('broken').steps[1]!.attempts.length, 0);
  assert.equal(existsSync(join(repo, 'marked')), false, 'b never started');
});

test('--resume of a graph runs again what did not succeed and what needs it, and nothing that succeeded', async (t) => {
  const repo = pipelineRepo(t, {
    modules: {
      ok: { cmd: './modules/ok.sh' },
      gate: { cmd: './modules/gate.sh' },
      tally: { cmd: './modules/tally.sh' },
    },
    sequences: {
      g: {
        max_parallel: 3,
        steps: [
          { name: 'x', module_name: 'ok', needs: [] },
          { name: 'bad', module_name: 'gate', needs: [] },
          { name: 'y', module_name: 'tally', needs: [] },
          { name: 'z', module_name: 'ok', needs: ['bad'] },
        ],
      },
    },
    files: {
      broken: '',
      'modules/gate.sh': { content: '#!/bin/sh\n[ ! -e "$ETL_REPO/broken" ]\n', mode: 0o755 },
      'modules/tally.sh': { content: '#!/bin/sh\necho ran >> "$ETL_REPO/tally.txt"\n', mode: 0o755 },
    },
  });
  const first = await runCli(['run', 'g'], { cwd: repo });
  assert.equal(first.code, 1, first.stdout + first.stderr);
  const failed = readRunFolder(findRunFolders(repo)[0]!).run;
  assert.deepEqual(
    failed.steps.map((s) => `${s.name} ${s.status}`),
    ['x succeeded', 'bad failed', 'y succeeded', 'z skipped'],
  );
  rmSync(join(repo, 'broken'));
  const resumed = await runCli(['run', 'g', '--resume', failed.id], { cwd: repo });
  assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
  assert.match(resumed.stdout, /steps 1, 3 stand as it did them, the others run again/);
  const folder = findRunFolders(repo).find((f) => !f.endsWith(failed.id))!;
  const { run } = readRunFolder(folder);
  assert.deepEqual(
    run.steps.map(
      (s) =>
        `${s.name} ${s.status}${s.skipped_as ? ` as ${s.skipped_as.reason} ${s.skipped_as.run_id === failed.id}` : ''}`,
    ),
    ['x skipped as resumed true', 'bad succeeded', 'y skipped as resumed true', 'z succeeded'],
  );
  assert.equal(readFileSync(join(repo, 'tally.txt'), 'utf8'), 'ran\n', 'y ran once, in the first run');
});

test('--resume gives the steps run again the outputs the steps that stand wrote, in a list and a graph; a masked one is refused', async (t) => {
  const write = { content: '#!/bin/sh\necho "day=$1" >> "$ETL_OUTPUTS"\n', mode: 0o755 };
  const gate = { content: '#!/bin/sh\n[ ! -e "$ETL_REPO/broken" ]\n', mode: 0o755 };
  const show = { content: '#!/bin/sh\necho "$1" >> "$ETL_REPO/seen.txt"\n', mode: 0o755 };
  const repo = pipelineRepo(t, {
    modules: { gate: { cmd: './modules/gate.sh' } },
    sequences: {
      list: [
        { name: 'a', run: './modules/write.sh 2026-12-01' },
        { name: 'b', module_name: 'gate' },
        { name: 'c', run: './modules/show.sh ${steps.a.outputs.day}' },
      ],
      graph: {
        steps: [
          { name: 'a', run: './modules/write.sh 2026-12-02', needs: [] },
          { name: 'b', module_name: 'gate', needs: [] },
          { name: 'c', run: './modules/show.sh ${steps.a.outputs.day}', needs: ['a', 'b'] },
        ],
      },
      secret: {
        secrets: ['TOKEN'],
        steps: [
          { name: 'a', run: './modules/write.sh ${params.day}' },
          { name: 'b', module_name: 'gate' },
          { name: 'c', run: './modules/show.sh ${steps.a.outputs.day}' },
        ],
        params: { day: { default: 'x' } },
      },
    },
    files: { broken: '', 'modules/write.sh': write, 'modules/gate.sh': gate, 'modules/show.sh': show },
  });
  const env = { TOKEN: 'a-secret-day-value' };
  for (const sequence of ['list', 'graph']) assert.equal((await runCli(['run', sequence], { cwd: repo, env })).code, 1);
  assert.equal((await runCli(['run', 'secret', '--param', `day=${env.TOKEN}`], { cwd: repo, env })).code, 1);
  rmSync(join(repo, 'broken'));
  for (const sequence of ['list', 'graph']) {
    const resumed = await runCli(['run', sequence, '--resume', `${sequence}@latest`], { cwd: repo, env });
    assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
  }
  assert.equal(readFileSync(join(repo, 'seen.txt'), 'utf8'), '2026-12-01\n2026-12-02\n');
  const refused = await runCli(['run', 'secret', '--resume', 'secret@latest', '--param', `day=${env.TOKEN}`], {
    cwd: repo,
    env,
  });
  assert.equal(refused.code, 2, refused.stdout + refused.stderr);
  assert.match(
    refused.stderr,
    /step 3 \(c\) uses \$\{steps\.a\.outputs\.day\}, whose value run \S+ recorded masked \(it held a secret\); run the sequence whole, or --from a/,
  );
  assert.equal(readFileSync(join(repo, 'seen.txt'), 'utf8'), '2026-12-01\n2026-12-02\n', 'nothing ran');
});
