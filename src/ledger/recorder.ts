import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RunObserver } from '../runner/engine.js';
import type { RunRecord, StepRecord } from '../runner/records.js';
import { writeFileAtomic, writeJsonAtomic } from './atomic.js';

/**
 * Writes a run's records as the engine reports them: run.json at the start, when a step
 * starts and after it ends, and each step record when the step ends. All writes are atomic.
 */
export function openRecorder(folder: string, next?: Partial<RunObserver>): RunObserver {
  mkdirSync(join(folder, 'steps'), { recursive: true });
  const serialized = new WeakMap<object, string>();
  const writeRun = (run: RunRecord) => writeFileAtomic(join(folder, 'run.json'), serializeRun(run, serialized));
  const writeStep = (run: RunRecord, step: StepRecord) => {
    const summary = run.steps.find((s) => s.role === step.role && s.index === step.index);
    if (summary) writeJsonAtomic(join(folder, summary.record), step);
  };
  return {
    runStarted(run, steps) {
      writeRun(run);
      return next?.runStarted?.(run, steps);
    },
    stepStarted(run, step) {
      // Which step is running is worth a write: `etl show` and a crashed run both tell it.
      writeRun(run);
      return next?.stepStarted?.(run, step);
    },
    stepFinished(run, step) {
      writeStep(run, step);
      writeRun(run);
      return next?.stepFinished?.(run, step);
    },
    runFinished(run) {
      writeRun(run);
      return next?.runFinished?.(run);
    },
    output(step, text) {
      next?.output?.(step, text);
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
    if (line === undefined) cache.set(step, (line = JSON.stringify(step)));
    return line;
  });
  const head = JSON.stringify(rest, null, 2).slice(0, -2); // without the closing "\n}"
  return `${head},\n  "steps": [${lines.length ? `\n    ${lines.join(',\n    ')}\n  ` : ''}]\n}\n`;
}
