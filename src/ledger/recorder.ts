import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RunObserver } from '../runner/engine.js';
import type { RunRecord, StepRecord } from '../runner/records.js';
import { writeJsonAtomic } from './atomic.js';

/**
 * Writes a run's records as the engine reports them: run.json at the start and after every
 * change of a step, and each step record when the step ends. All writes are atomic.
 */
export function openRecorder(folder: string, next?: Partial<RunObserver>): RunObserver {
  mkdirSync(join(folder, 'steps'), { recursive: true });
  const writeRun = (run: RunRecord) => writeJsonAtomic(join(folder, 'run.json'), run);
  const writeStep = (run: RunRecord, step: StepRecord) => {
    const summary = run.steps.find((s) => s.role === step.role && s.index === step.index);
    if (summary) writeJsonAtomic(join(folder, summary.record), step);
  };
  return {
    runStarted(run, steps) {
      writeRun(run);
      next?.runStarted?.(run, steps);
    },
    stepStarted(run, step) {
      writeRun(run);
      next?.stepStarted?.(run, step);
    },
    stepFinished(run, step) {
      writeStep(run, step);
      writeRun(run);
      next?.stepFinished?.(run, step);
    },
    runFinished(run) {
      writeRun(run);
      next?.runFinished?.(run);
    },
    output(step, text) {
      next?.output?.(step, text);
    },
  };
}
