// A step's `if:`, a precondition: a command run before the step, in the repository, with the
// step's environment. Exit 0 runs the step; exit 1 skips it (recorded skipped, with why);
// anything else (another code, a signal, a timeout, a program that cannot start) fails it:
// a condition that cannot be decided is never taken for a no.
import { DEFAULT_GRACE_MS } from './exec-step.js';
import type { ExecuteOptions } from './engine.js';
import { joinWords } from '../definitions/words.js';
import { describeEnding } from './labels.js';
import type { Redactor } from './logs.js';
import type { PlannedStep } from './plan.js';
import { runProcess } from './process.js';
import type { ModuleSpec, Spawner } from './spawner.js';

/** What a step's condition decided; the reason it gives has secret values masked. */
export type Verdict = { run: true } | { run: false; why: string } | { failed: string };

/** Output kept from the condition, for the reason it gives. */
const KEPT_BYTES = 2_000;

export async function checkCondition(
  planned: PlannedStep,
  module: ModuleSpec,
  options: Pick<ExecuteOptions, 'signal' | 'hurry' | 'graceMs'>,
  spawner: Spawner,
  redactor: Redactor,
): Promise<Verdict> {
  const condition = planned.condition!;
  let output = '';
  const result = await runProcess({
    module: { ...module, command: condition.command, argv: condition.argv },
    spawner,
    timeoutMs: planned.timeout_ms,
    signal: options.signal,
    hurry: options.hurry,
    graceMs: options.graceMs ?? DEFAULT_GRACE_MS,
    onOutput: (chunk) => {
      if (output.length < KEPT_BYTES) output += chunk.toString('utf8').slice(0, KEPT_BYTES - output.length);
    },
  });
  // The argv holds the values of params and earlier steps' outputs, and the output anything.
  const shown = redactor.redact(`if: ${joinWords(condition.argv)}`);
  const said = output.trim() ? redactor.redact(` (it said: ${output.trim().split('\n').at(-1)})`) : '';
  if (result.exitCode === 0 && !result.timedOut && !result.cancelled) return { run: true };
  if (result.exitCode === 1 && !result.timedOut && !result.cancelled)
    return { run: false, why: `${shown} exited 1${said}` };
  const ending = result.timedOut
    ? 'timed out'
    : describeEnding({ error: result.error, signal: result.signal, exit_code: result.exitCode });
  return { failed: `its condition could not be decided: ${shown} ${ending}${said} (exit 0 runs the step, 1 skips it)` };
}
