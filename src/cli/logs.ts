import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EtlError, ExitCode } from '../errors.js';
import type { RunRef } from '../ledger/history.js';
import { LedgerStore } from '../ledger/store.js';
import { insideRuns } from '../ledger/inside-runs.js';
import { stepFiles } from '../ledger/layout.js';
import type { RunRecord, StepSummary } from '../runner/records.js';
import { stepPosition, stepTitle } from '../runner/labels.js';
import type { CommandContext } from './command.js';
import { defineCommand } from './usage.js';
import { findRunOf } from './options.js';

const POLL_MS = 200;

export const command = defineCommand({
  synopsis: ['etl logs RUN [STEP] [--follow]'],
  description: `Prints a step's log, or every step's log in order when no STEP is named. RUN is a run id, a
unique prefix of one, or SEQUENCE@latest / SEQUENCE@last-failed; STEP is a step number, a
handler's step as "on_exit 1", or a name. With --follow, keeps printing a running run's
output until the run ends.`,
  options: { follow: { type: 'boolean', short: 'f', default: false, help: 'follow a running run' } },
  async run(values, positionals, context) {
    if (positionals.length < 1 || positionals.length > 2)
      throw new EtlError('usage', `logs takes a run and optionally a step, got ${positionals.length} arguments`);
    const store = await LedgerStore.open(context.repo, { env: context.env });
    const ref = findRunOf(context.repo, store, positionals[0]!);
    const root = ref.root;
    const load = () => store.requireRun(ref);
    let run = load();
    const pick = (steps: StepSummary[]) => (positionals[1] === undefined ? steps : [selectStep(run, positionals[1])]);
    const state: PrintState = { offsets: new Map(), refused: new Set(), atLineStart: true, printed: 0 };
    const many = positionals[1] === undefined;
    for (;;) {
      for (const step of pick(run.steps)) printNew({ ...context, repo: root }, ref, run, step, state, many);
      if (!values.follow || run.status !== 'running') break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      run = load();
    }
    if (!many && state.offsets.size === 0 && state.refused.size === 0) {
      // One step asked for, and no log: say why rather than print nothing.
      const [step] = pick(run.steps);
      context.stderr.write(
        `(step ${step!.index} ${step!.name} ${step!.status === 'skipped' || step!.status === 'pending' ? `was ${step!.status === 'pending' ? 'not started' : 'skipped'}: it did not run` : `${step!.status}, and printed nothing`})\n`,
      );
    }
    if (many && state.printed === 0 && state.refused.size === 0) {
      // Every step's log, and not a byte in any: say so, and how each step went, rather than print nothing.
      const steps = run.steps.map((s) => `${stepTitle(s)} ${s.status}`).join(', ');
      context.stderr.write(`(no step of run ${run.id} printed anything${steps ? `: ${steps}` : ''})\n`);
    }
    if (values.follow) {
      // A follower is told how it ended, as `etl run` would have said.
      context.stdout.write(
        `${state.atLineStart ? '' : '\n'}==> run ${run.id} ${run.status}${run.error && run.error !== run.status ? `: ${run.error}` : ''} <==\n`,
      );
    }
    return ExitCode.ok;
  },
});

/**
 * A step by its number (a main step's), by its position in a handler as show prints it
 * ("on_exit 1", or "on_exit-1"), or by its name or module.
 */
function selectStep(run: RunRecord, spec: string): StepSummary {
  const steps = run.steps.filter((s) => s.role === 'step');
  const inHandler = /^(on_[a-z]+)[ -](\d+)$/.exec(spec);
  const found = /^\d+$/.test(spec)
    ? steps.filter((s) => s.index === Number(spec))
    : inHandler
      ? run.steps.filter((s) => s.role === inHandler[1] && s.index === Number(inHandler[2]))
      : run.steps.filter((s) => s.name === spec || s.module === spec);
  if (found.length === 1) return found[0]!;
  if (found.length > 1)
    throw new EtlError(
      'ambiguous-step',
      `run ${run.id} has ${found.length} steps "${spec}": ${found.map(stepTitle).join(', ')}; name one by its position (${stepPosition(found.at(-1)!)})`,
    );
  throw new EtlError(
    'unknown-step',
    `run ${run.id} has no step "${spec}"; its steps are ${run.steps.map(stepTitle).join(', ')}`,
  );
}

interface PrintState {
  offsets: Map<string, number>;
  /** Logs not printed because they lead out of runs/ (said once, even with --follow). */
  refused: Set<string>;
  /** Whether the last byte printed ended a line: a header must start on a line of its own. */
  atLineStart: boolean;
  /** Bytes of log printed (headers aside). */
  printed: number;
}

/** Prints what a step's log gained since last time, with a header before its first bytes. */
function printNew(
  context: CommandContext,
  ref: RunRef,
  run: RunRecord,
  step: StepSummary,
  state: PrintState,
  header: boolean,
): void {
  const { offsets } = state;
  const count = run.steps.filter((s) => s.role === step.role).length;
  const path = join(context.repo, ref.folder, stepFiles(step, count).log);
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return; // not started (or skipped): no log
  }
  if (!insideRuns(context.repo, path)) {
    // A committed link to a file elsewhere (/etc/passwd, .git/config): never printed.
    if (!state.refused.has(path))
      context.stderr.write(
        `etl logs: the log of ${step.role === 'step' ? '' : `${step.role} `}step ${step.index} ${step.name} is a link out of runs/: not printed\n`,
      );
    state.refused.add(path);
    return;
  }
  const from = offsets.get(path);
  if (from === undefined && header)
    context.stdout.write(
      `${state.atLineStart ? '' : '\n'}${context.paint('bold', `==> ${stepTitle(step)} (${step.status}) <==`)}\n`,
    );
  const start = from ?? 0;
  if (size > start) {
    const fd = openSync(path, 'r');
    try {
      const buffer = Buffer.alloc(Math.min(size - start, 1 << 20));
      for (let at = start; at < size; ) {
        const read = readSync(fd, buffer, 0, Math.min(buffer.length, size - at), at);
        if (read === 0) break;
        context.stdout.write(Buffer.from(buffer.subarray(0, read))); // a copy: write() may keep it past the next read
        state.atLineStart = buffer[read - 1] === 0x0a;
        state.printed += read;
        at += read;
      }
    } finally {
      closeSync(fd);
    }
  }
  offsets.set(path, Math.max(start, size));
}
