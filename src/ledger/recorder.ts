import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RunObserver } from '../runner/engine.js';
import type { RunRecord, StepRecord } from '../runner/records.js';
import { SpareFiles, writeFileAtomic, writeJsonAtomic } from './atomic.js';

/**
 * Writes a run's records as the engine reports them: run.json at the start, when a step
 * starts and after it ends, and each step record when the step ends. All writes are atomic;
 * their temporary files are made while the module runs.
 */
export function openRecorder(folder: string, next?: Partial<RunObserver>): RunObserver {
  mkdirSync(join(folder, 'steps'), { recursive: true });
  const serialized = new WeakMap<object, string>();
  const spares = new SpareFiles();
  const stepsFolder = join(folder, 'steps');
  const writeRun = (run: RunRecord, durable = true) =>
    writeFileAtomic(join(folder, 'run.json'), serializeRun(run, serialized), { spares, durable });
  const writeStep = (run: RunRecord, step: StepRecord) => {
    const summary = run.steps.find((s) => s.role === step.role && s.index === step.index);
    if (summary) writeJsonAtomic(join(folder, summary.record), step, { spares });
  };
  // Made while the module runs, for the writes after it.
  const prepare = () => {
    spares.fill(folder);
    spares.fill(stepsFolder);
  };
  return {
    runStarted(run, steps) {
      writeRun(run);
      return next?.runStarted?.(run, steps);
    },
    stepStarted(run, step) {
      // Which step is running is worth a write (`etl show` and a crashed run tell it), but not
      // a flush to disk: the write after the step replaces it.
      writeRun(run, false);
      prepare();
      return next?.stepStarted?.(run, step);
    },
    stepFinished(run, step) {
      writeStep(run, step);
      writeRun(run);
      return next?.stepFinished?.(run, step);
    },
    async runFinished(run) {
      await spares.close();
      writeRun(run);
      return next?.runFinished?.(run);
    },
    output(step, text) {
      next?.output?.(step, text);
    },
    moduleStarted(step, pid) {
      next?.moduleStarted?.(step, pid);
    },
  };
}

/**
 * run.json as text: indented, with one line per step. It is rewritten after every step, so
 * each step's line is serialised once and reused (a 500-step run would otherwise serialise
 * its whole step list 500 times).
 */
export function serializeRun(run: RunRecord, cache: WeakMap<object, string>): string {
  const { steps, ...rest } = run;
  const lines = steps.map((step) => {
    let line = cache.get(step);
    if (line === undefined) {
      line = JSON.stringify(step);
      cache.set(step, line);
    }
    return line;
  });
  const head = JSON.stringify(rest, null, 2).slice(0, -2); // without the closing "\n}"
  return `${head},\n  "steps": [${lines.length ? `\n    ${lines.join(',\n    ')}\n  ` : ''}]\n}\n`;
}
