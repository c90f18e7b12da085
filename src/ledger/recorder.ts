import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RunObserver } from '../runner/engine.js';
import type { RunRecord, StepRecord } from '../runner/records.js';
import { summaryIndex } from '../runner/step-records.js';
import { BackgroundFlush, type StagedFile, stageFileAtomic, writeFileAtomic } from './atomic.js';

/** How often run.json's step list is brought up to date while a run goes on (see below). */
export const SUMMARY_INTERVAL_MS = 1000;

/**
 * Writes a run's records as the engine reports them. A step's own record is written once,
 * when it ends; run.json at the start, at the end, when a step joins its list (an on_failure
 * step), and otherwise at most once a second: rewriting its whole step list after every step
 * made a long run's cost grow with the square of its length. Readers of a running run take
 * each step's state from its record, and the first step after the finished ones as running
 * (readRun in history.ts).
 *
 * Every write is atomic (a crash leaves the old record or the new, never half of one). A
 * finished step's record is flushed to disk in the background while the next module runs,
 * and the next record waits for that flush: a power loss loses at most the last one.
 * run.json's last write waits for every flush and is flushed before the run is reported.
 */
export function openRecorder(
  folder: string,
  next?: Partial<RunObserver>,
  summaryIntervalMs = SUMMARY_INTERVAL_MS,
): RunObserver {
  mkdirSync(join(folder, 'steps'), { recursive: true });
  const serialized = new WeakMap<object, string>();
  const flush = new BackgroundFlush();
  let summary = { at: 0, cost: 0, steps: 0 };
  const writeRun = (run: RunRecord, durable: boolean) => {
    const started = performance.now();
    writeFileAtomic(join(folder, 'run.json'), serializeRun(run, serialized), { durable });
    summary = { at: started, cost: performance.now() - started, steps: run.steps.length };
  };
  // Never more than a fiftieth of the run's time, however long the list grows.
  const summaryDue = (run: RunRecord) =>
    run.steps.length !== summary.steps ||
    performance.now() - summary.at >= Math.max(summaryIntervalMs, 50 * summary.cost);
  const stageStep = (run: RunRecord, step: StepRecord, durable: boolean): StagedFile | undefined => {
    const record = run.steps[summaryIndex(run, step)]?.record;
    if (!record) return undefined;
    return stageFileAtomic(join(folder, record), `${JSON.stringify(step, null, 2)}\n`, {
      durable,
      flush: durable ? flush : undefined,
    });
  };
  return {
    runStarted(run) {
      writeRun(run, true);
      return next?.runStarted?.(run);
    },
    stepStarted(run, step) {
      // In a graph several steps run at once: each says so in its record as it starts, for
      // readers (a list's running step is the first not ended).
      if (run.max_parallel !== undefined) stageStep(run, step, false)?.commit();
      if (summaryDue(run)) writeRun(run, false);
      return next?.stepStarted?.(run, step);
    },
    async stepFinished(run, step) {
      // A skipped step's record says nothing run.json's last write will not say. The record is
      // written aside while the last one's flush ends, and takes its place after it.
      const staged = stageStep(run, step, step.status !== 'skipped');
      try {
        await flush.settled();
      } catch (error) {
        staged?.discard();
        throw error;
      }
      staged?.commit();
      if (summaryDue(run)) writeRun(run, false);
      return next?.stepFinished?.(run, step);
    },
    async runFinished(run) {
      await flush.settled();
      writeRun(run, true);
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
