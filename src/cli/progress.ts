import { formatDuration } from '../definitions/duration.js';
import { isSuccess } from '../runner/statuses.js';
import type { RunObserver } from '../runner/engine.js';
import { describeEnding, stepLabel } from '../runner/labels.js';
import type { RunRecord, StepRecord, StepStatus } from '../runner/records.js';
import { type Paint, skippedNote } from './output.js';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const MARKS: Record<StepStatus, string> = {
  pending: '·',
  running: '▶',
  succeeded: '✓',
  failed: '✗',
  timed_out: '⏱',
  cancelled: '■',
  skipped: '-',
};
const STYLE: Partial<Record<StepStatus, Parameters<Paint>[0]>> = {
  succeeded: 'green',
  failed: 'red',
  timed_out: 'red',
  cancelled: 'yellow',
  skipped: 'dim',
};

export interface ProgressOptions {
  stream: NodeJS.WriteStream;
  /** A live view (spinner, redrawn line) on a terminal; plain lines otherwise. */
  live: boolean;
  paint: Paint;
  /** Also show the modules' output as it arrives. */
  verbose: boolean;
}

/** What a person watching `etl run` sees: one line per step, as it happens. */
export function progressView({
  stream,
  live,
  paint,
  verbose,
}: ProgressOptions): Partial<RunObserver> & { stop(): void } {
  let total = 0;
  let running: { step: StepRecord; started: number } | undefined;
  let frame = 0;
  let timer: NodeJS.Timeout | undefined;

  const label = (step: StepRecord) => stepLabel(step, total);
  const runningLine = () =>
    running
      ? `${paint('cyan', SPINNER[frame % SPINNER.length]!)} ${label(running.step)}  ${paint('dim', formatDuration(Date.now() - running.started))}`
      : '';
  const redraw = () => {
    if (live && running) stream.write(`\r\x1b[2K${runningLine()}`);
  };
  const clear = () => {
    if (live && running) stream.write('\r\x1b[2K');
  };

  return {
    runStarted(run) {
      total = run.steps.filter((s) => s.role === 'step').length;
      stream.write(`${paint('bold', `etl run ${run.sequence}`)} ${paint('dim', run.id)}\n`);
    },
    stepStarted(_run, step) {
      running = { step, started: Date.now() };
      if (live) {
        timer ??= setInterval(() => {
          frame++;
          redraw();
        }, 100);
        timer.unref();
        redraw();
      } else {
        stream.write(`${MARKS.running} ${label(step)}\n`);
      }
    },
    output(_step, text) {
      if (!verbose) return;
      clear();
      stream.write(text.endsWith('\n') ? text : `${text}\n`);
      redraw();
    },
    stepFinished(_run, step) {
      if (step.status === 'skipped' && !live) {
        stream.write(`${paint('dim', `${MARKS.skipped} ${label(step)} ${skippedNote(step.skipped_as)}`)}\n`);
        return;
      }
      clear();
      if (running?.step === step) running = undefined;
      const last = step.attempts.at(-1);
      const detail = [
        step.status === 'failed' || step.status === 'timed_out'
          ? step.not_started_because
            ? `cannot start: ${step.not_started_because}`
            : describeEnding(last)
          : '',
        step.attempts.length > 1 ? `${step.attempts.length} attempts` : '',
        step.duration_ms !== null ? formatDuration(step.duration_ms) : '',
        step.status === 'skipped' ? skippedNote(step.skipped_as) : '',
      ].filter(Boolean);
      const style = STYLE[step.status];
      const mark = style ? paint(style, MARKS[step.status]) : MARKS[step.status];
      stream.write(`${mark} ${label(step)}  ${paint('dim', detail.join(' · '))}\n`);
    },
    runFinished() {
      if (timer) clearInterval(timer);
    },
    stop() {
      if (timer) clearInterval(timer);
      clear();
    },
  };
}

/** The last lines of a failed step's log, for the terminal. */
export function summaryLine(run: RunRecord, folder: string, paint: Paint): string {
  const style =
    run.status === 'succeeded' ? 'green' : isSuccess(run.status) || run.status === 'cancelled' ? 'yellow' : 'red';
  const took = run.duration_ms === null ? '' : ` in ${formatDuration(run.duration_ms)}`;
  const error = run.error && run.error !== run.status ? `: ${run.error}` : ''; // not "cancelled: cancelled"
  return `${paint(style, run.status)}${took}${error}\nrecord: ${folder}/run.json\n`;
}
