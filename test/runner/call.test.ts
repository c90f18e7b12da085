// A step that runs another sequence (`call`): a child run of its own, linked both ways in the
// records, with the parent's tick and the step's params, ending the step as it ends.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { git, initRepo } from '../helpers/git.js';
import { pipelineRepo, runCli, startCli, waitUntilGone } from '../helpers/repo.js';
import { assertValidRecords, findRunFolders, log, readRunFolder } from '../helpers/runs.js';

const TICK = '2026-03-04T05:06:07Z';

/** Writes what a module of the child run was told: its params (its own and any the parent had), tick and run. */
const SAY = {
  content: `#!/bin/sh
echo "region=$ETL_PARAM_REGION day=$ETL_PARAM_DAY tick=$ETL_TICK run=$ETL_RUN_ID"
[ "$ETL_PARAM_REGION" = fail ] && exit 3
exit 0
`,
  mode: 0o755,
};

function callRepo(t: Parameters<typeof pipelineRepo>[0], region = 'south-${params.day}') {
  return pipelineRepo(t, {
    modules: { say: { cmd: './scripts/say.sh' }, ok: { cmd: './modules/ok.sh' } },
    sequences: {
      child: { params: { region: {} }, steps: [{ module_name: 'say' }] },
      parent: {
        params: { day: { default: '${tick:%Y-%m-%d}' } },
        steps: [
          { module_name: 'ok', name: 'first' },
          { call: 'child', name: 'sub', params: { region } },
          { name: 'after', run: 'echo child was ${steps.sub.outputs.run_id}' },
        ],
        on_failure: { module_name: 'ok', name: 'handler' },
      },
    },
    files: { 'scripts/say.sh': SAY },
  });
}

/** The runs of the repository, by sequence. */
function runsOf(repo: string) {
  const runs = findRunFolders(repo).map(readRunFolder);
  return {
    parent: runs.filter((r) => r.run.sequence === 'parent'),
    child: runs.filter((r) => r.run.sequence === 'child'),
  };
}

test('a call step runs the other sequence as a child run: same tick, its params filled, linked both ways, committed', async (t) => {
  const repo = initRepo(callRepo(t));
  const result = await runCli(['run', 'parent', '--tick', TICK, '--commit'], { cwd: repo });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const runs = runsOf(repo);
  assert.equal(runs.parent.length, 1);
  assert.equal(runs.child.length, 1);
  const parent = runs.parent[0]!;
  const child = runs.child[0]!;
  assertValidRecords(parent.run, parent.steps);
  assertValidRecords(child.run, child.steps);

  // The child: the parent's tick, the step's params (templates filled), the parent named.
  assert.equal(child.run.status, 'succeeded');
  assert.equal(child.run.tick, '2026-03-04T05:06:07.000Z');
  assert.deepEqual(child.run.params, { region: 'south-2026-03-04' });
  assert.deepEqual(child.run.parent_run, {
    run_id: parent.run.id,
    sequence: 'parent',
    step: 2,
    role: 'step',
    step_name: 'sub',
  });
  // Its module sees its own params only: the parent step's ETL_PARAM_DAY is not passed on.
  assert.match(
    log(child.folder, child.steps[0]!),
    new RegExp(`^region=south-2026-03-04 day= tick=2026-03-04T05:06:07.000Z run=${child.run.id}$`, 'm'),
  );

  // The parent: the step names the child, run.json lists it, a later step used its id.
  const sub = parent.steps[1]!;
  assert.equal(sub.call, 'child');
  assert.equal(sub.module, 'child');
  assert.equal(sub.child_run, child.run.id);
  assert.equal(parent.run.steps[1]!.child_run, child.run.id);
  assert.deepEqual(parent.run.child_runs, [{ run_id: child.run.id, sequence: 'child', step: 2, role: 'step' }]);
  assert.deepEqual(sub.argv.slice(2), [
    'run',
    'child',
    '--tick',
    '2026-03-04T05:06:07.000Z',
    '--param',
    'region=south-2026-03-04',
    '--commit',
  ]);
  assert.deepEqual(parent.steps[2]!.argv, ['echo', 'child', 'was', child.run.id]);

  // Each run in a commit of its own: the child's first, then the parent's.
  assert.deepEqual(
    git(repo, 'log', '--format=%s', '-2')
      .trim()
      .split('\n')
      .map((s) => s.replace(/ in [\d.]+m?s/, '')),
    [`etl(parent): succeeded [${parent.run.id}]`, `etl(child): succeeded [${child.run.id}]`],
  );
  assert.equal(git(repo, 'status', '--porcelain'), '');

  // etl show tells both ways.
  const shown = await runCli(['show', child.run.id], { cwd: repo });
  assert.match(shown.stdout, new RegExp(`parent +run ${parent.run.id} of parent, its step 2 \\(sub\\)`));
  const shownParent = await runCli(['show', parent.run.id], { cwd: repo });
  assert.match(shownParent.stdout, new RegExp(`children run ${child.run.id} of child, from step 2`));
  assert.match(shownParent.stdout, /^2\. sub \(call child\) +succeeded/m);
});

test('a child run that fails fails its call step: the parent stops, runs its error handler and is failed, the link kept', async (t) => {
  const repo = callRepo(t, 'fail');
  const result = await runCli(['run', 'parent', '--tick', TICK], { cwd: repo });
  assert.equal(result.code, 1, result.stdout + result.stderr);
  const { parent, child } = runsOf(repo);
  assert.equal(child[0]!.run.status, 'failed');
  const { run, steps } = parent[0]!;
  assert.equal(run.status, 'failed');
  assert.equal(run.failed_step, 2);
  assert.match(run.error ?? '', /step 2 \(sub\) failed: exited with code 1/);
  assert.deepEqual(
    run.steps.map((s) => `${s.role} ${s.name} ${s.status}`),
    ['step first succeeded', 'step sub failed', 'step after skipped', 'on_failure handler succeeded'],
  );
  assert.equal(steps[1]!.child_run, child[0]!.run.id);
  assert.deepEqual(child[0]!.run.parent_run?.run_id, run.id);
});

test("a call step of a handler is linked as that handler's step, both ways", async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: {
      child: [{ module_name: 'ok' }],
      parent: { steps: [{ name: 'boom', run: 'false' }], on_failure: [{ name: 'tell', call: 'child' }] },
    },
  });
  const result = await runCli(['run', 'parent'], { cwd: repo });
  assert.equal(result.code, 1, result.stdout + result.stderr);
  const { parent, child } = runsOf(repo);
  const [parentId, childId] = [parent[0]!.run.id, child[0]!.run.id];
  assert.deepEqual(child[0]!.run.parent_run, {
    run_id: parentId,
    sequence: 'parent',
    step: 1,
    role: 'on_failure',
    step_name: 'tell',
  });
  assert.deepEqual(parent[0]!.run.child_runs, [{ run_id: childId, sequence: 'child', step: 1, role: 'on_failure' }]);
  const shown = await runCli(['show', parentId], { cwd: repo });
  assert.match(shown.stdout, new RegExp(`^children run ${childId} of child, from step on_failure 1$`, 'm'));
  const shownChild = await runCli(['show', childId], { cwd: repo });
  assert.match(
    shownChild.stdout,
    new RegExp(`^parent   run ${parentId} of parent, its step on_failure 1 \\(tell\\)$`, 'm'),
  );
});

test('stopping the parent stops its child run: both are recorded cancelled and no process is left', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { forever: { cmd: './modules/forever.mjs' } },
    sequences: {
      child: [{ module_name: 'forever', output: 'pids.json' }],
      parent: [{ call: 'child' }],
    },
  });
  const cli = startCli(['run', 'parent', '--kill-grace', '500ms'], { cwd: repo });
  // The child run's module writes its pids when it has started.
  while (!existsSync(join(repo, 'pids.json'))) await sleep(20);
  await sleep(50);
  const pids = JSON.parse(readFileSync(join(repo, 'pids.json'), 'utf8')) as { child: number; grandchild?: number };
  cli.child.kill('SIGTERM');
  const result = await cli.done;
  assert.equal(result.code, 143, result.stdout + result.stderr);
  assert.ok(await waitUntilGone([pids.child, pids.grandchild!].filter(Boolean)), 'no orphans');
  const runs = runsOf(repo);
  assert.equal(runs.parent[0]!.run.status, 'cancelled');
  assert.equal(runs.child[0]!.run.status, 'cancelled');
  assert.equal(runs.parent[0]!.run.child_runs?.[0]?.run_id, runs.child[0]!.run.id);
});

test('etl run --dry-run shows the call step as the etl run it starts; --at refuses a sequence with one', async (t) => {
  const repo = initRepo(callRepo(t));
  const dry = await runCli(['run', 'parent', '--tick', TICK, '--dry-run', '--push'], { cwd: repo });
  assert.match(dry.stdout, /2\. sub \(call child\)/);
  assert.match(
    dry.stdout,
    /run child --tick 2026-03-04T05:06:07\.000Z --param region=south-2026-03-04 --commit --push/,
  );
  const at = await runCli(['run', 'parent', '--at', 'HEAD'], { cwd: repo });
  assert.equal(at.code, 2, at.stdout + at.stderr);
  assert.match(at.stderr, /--at cannot run step 2 \(sub\): it calls sequence "child"/);
  assert.doesNotMatch(at.stderr, /at .*\.js:\d+/);
});

test('etl run validates the sequences a sequence calls: an error in one stops the run before anything starts', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: {
      child: { steps: [{ module_name: 'nope' }] },
      parent: [{ module_name: 'ok' }, { call: 'child' }],
    },
  });
  const result = await runCli(['run', 'parent'], { cwd: repo });
  assert.equal(result.code, 2, result.stdout + result.stderr);
  assert.match(result.stderr, /etl_sequences\/child\.json:\d+:\d+: error: unknown module "nope"/);
  assert.match(
    result.stderr,
    /etl_sequences\/parent\.json:\d+:\d+: error: step 2 \(child\) calls sequence "child", which has errors/,
  );
  assert.equal(existsSync(join(repo, 'runs')), false);
});
