// kill -9 of the runner at random instants, many times over: whatever the instant, no record
// is torn, the run stays visible and is then marked abandoned, every step its own record calls
// finished is finished in run.json too, and no module outlives its runner.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunRecord, StepRecord } from '../../src/runner/records.js';
import { git, initRepo } from '../helpers/git.js';
import { isRunning, pipelineRepo, runCli, startCli } from '../helpers/repo.js';
import { assertValidRecords, findRunFolders } from '../helpers/runs.js';
import { stressTest } from '../helpers/stress.js';

const RUNS = 24;
const STEPS = 30;
const FINISHED = new Set(['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped']);

/** A seeded generator, so that a failure can be replayed: ETL_CRASH_SEED=<the seed it names>. */
function generator(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

stressTest(
  `kill -9 of the runner at ${RUNS} random instants: no torn record, every finished step kept, the run abandoned`,
  {},
  async (t) => {
    const seed = Number(process.env.ETL_CRASH_SEED ?? Math.floor(Math.random() * 1e9));
    const random = generator(seed);
    const repo = initRepo(
      pipelineRepo(t, {
        modules: { step: { cmd: './modules/step.sh' } },
        sequences: { s: Array.from({ length: STEPS }, () => ({ module_name: 'step' })) },
        files: {
          // Says when it is done, last thing before exiting 0.
          'modules/step.sh': {
            content:
              '#!/bin/sh\necho "step $ETL_STEP of $ETL_RUN_ID"\necho "$ETL_RUN_ID $ETL_STEP" >> "$ETL_REPO/done.txt"\n',
            mode: 0o755,
          },
        },
      }),
    );
    // A run to time: when its first step starts, and when it ends.
    const whole = Date.now();
    const timed = startCli(['run', 's'], { cwd: repo });
    await timed.line(/1\/\d+ step/);
    const startUp = Date.now() - whole;
    assert.equal((await timed.done).code, 0);
    const span = Date.now() - whole;

    // A quarter of the kills during start-up, the rest while steps run (and a little after).
    const kills: string[] = [];
    const ends: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      const runner = startCli(['run', 's'], { cwd: repo });
      if (i % 4 === 0) {
        const at = Math.floor(random() * startUp);
        kills.push(`${at} ms`);
        await new Promise((resolve) => setTimeout(resolve, at));
      } else {
        const at = Math.floor(random() * (span - startUp) * 1.1);
        kills.push(`step 1 + ${at} ms`);
        await runner.line(/1\/\d+ step/).catch(() => {});
        await new Promise((resolve) => setTimeout(resolve, at));
      }
      runner.child.kill('SIGKILL');
      const ended = await runner.done;
      assert.equal(
        existsSync(`/proc/${runner.child.pid}/stat`) && isRunning(runner.child.pid!),
        false,
        'the runner is gone',
      );
      // A run killed after its end exits 0; none may end another way.
      if (ended.code !== null && ended.code !== 0) ends.push(`run ${i}: exit ${ended.code}: ${ended.stderr}`);
      // Right after the kill, before anyone cleans up: nothing torn, nothing empty.
      for (const folder of findRunFolders(repo)) {
        for (const file of readdirSync(folder, { recursive: true, encoding: 'utf8' })) {
          if (!file.endsWith('.json') || file.startsWith('.') || file.includes('/.')) continue;
          const text = readFileSync(join(folder, file), 'utf8');
          assert.doesNotThrow(
            () => JSON.parse(text),
            `seed ${seed}, kill at ${kills.at(-1)}: ${file} is torn: ${text}`,
          );
        }
      }
    }

    // The next run takes the last one's stale lock over (marking it abandoned, clearing what the
    // killed runners left beside the lock), and sync commits every run.
    const last = await runCli(['run', 's'], { cwd: repo });
    if (last.code !== 0) {
      const lock = JSON.parse(readFileSync(join(repo, 'runs/s/.lock'), 'utf8'));
      let proc = '';
      try {
        proc = readFileSync(`/proc/${lock.pid}/stat`, 'utf8') + readFileSync(`/proc/${lock.pid}/cmdline`, 'utf8');
      } catch (e) {
        proc = String(e);
      }
      assert.fail(
        `${last.stderr} lock ${JSON.stringify(lock)} proc ${proc} kills ${kills.join(', ')} ends ${ends.join('; ')}`,
      );
    }
    const sync = await runCli(['ledger', 'sync'], { cwd: repo });
    assert.equal(sync.code, 0, sync.stderr);
    const done = existsSync(join(repo, 'done.txt')) ? readFileSync(join(repo, 'done.txt'), 'utf8') : '';
    const folders = findRunFolders(repo);
    assert.deepEqual(ends, [], `seed ${seed}`);
    assert.ok(folders.length > (RUNS * 3) / 4, `seed ${seed}: ${folders.length} run folders`);
    for (const folder of folders) {
      const where = `seed ${seed}, kills at ${kills.join(', ')}; ${folder}`;
      const run = JSON.parse(readFileSync(join(folder, 'run.json'), 'utf8')) as RunRecord;
      assert.ok(['succeeded', 'abandoned'].includes(run.status), `${where}: ${run.status}`);
      const records = new Map<number, StepRecord>();
      for (const name of readdirSync(join(folder, 'steps'))) {
        assert.ok(!name.startsWith('.'), `${where}: a temporary file was left: ${name} (${run.status}: ${run.error})`);
        const record = JSON.parse(readFileSync(join(folder, 'steps', name), 'utf8')) as StepRecord;
        assert.ok(statSync(join(folder, 'steps', name)).size > 0);
        records.set(record.index, record);
      }
      assertValidRecords(run, [...records.values()]);
      const finishedByModule = new Set(
        done
          .split('\n')
          .filter((line) => line.startsWith(`${run.id} `))
          .map((line) => Number(line.split(' ')[1])),
      );
      let seenUnfinished = false;
      for (const summary of run.steps) {
        const record = records.get(summary.index);
        // A step whose record says it finished is finished in run.json, the same way.
        if (record && FINISHED.has(record.status)) assert.equal(summary.status, record.status, where);
        if (summary.status === 'succeeded') {
          assert.ok(record, `${where}: step ${summary.index} succeeded in run.json but has no record`);
          assert.ok(finishedByModule.has(summary.index), `${where}: step ${summary.index} recorded but never ran`);
          assert.equal(seenUnfinished, false, `${where}: a step succeeded after one that did not`);
        } else seenUnfinished = true;
      }
      if (run.status === 'succeeded') assert.equal(records.size, STEPS, where);
    }
    const left = git(repo, 'status', '--porcelain', '--', 'runs');
    const inside = left
      .split('\n')
      .filter((line) => line.endsWith('/'))
      .map((line) => `${line}: ${readdirSync(join(repo, line.slice(3)), { recursive: true }).join(' ')}`);
    assert.equal(
      left,
      '',
      `seed ${seed}: every run committed, no litter; sync said ${sync.stdout}; ${inside.join('; ')}`,
    );
    // No module outlives its runner (the helper ends them when the runner dies).
    const ids = folders.map((folder) => folder.split('/').at(-1)!);
    const survivors = readdirSync('/proc').filter((pid) => {
      try {
        const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
        return ids.some((id) => environ.includes(`ETL_RUN_ID=${id}\0`));
      } catch {
        return false;
      }
    });
    assert.deepEqual(survivors, [], `seed ${seed}: modules left running`);
    // A killed run keeps its scratch folder (evidence for a person): not this test's runs.
    for (const id of ids) rmSync(join(tmpdir(), `etl-s-${id}`), { recursive: true, force: true });
  },
);
