import type { Attempt, RunRecord, StepRecord, StepSummary } from './records.js';

/** Where a step stands in its run: "2", or "on_failure 1" for a step of a handler. */
export function stepPosition(step: Pick<StepRecord, 'role' | 'index'>): string {
  return `${step.role === 'step' ? '' : `${step.role} `}${step.index}`;
}

/** The step of another run that a link names: "2 (clean)", "on_failure 1 (notify)". */
export function linkedStep(link: { step: number; role?: StepRecord['role']; step_name?: string }): string {
  const position = stepPosition({ role: link.role ?? 'step', index: link.step });
  return link.step_name === undefined ? position : `${position} (${link.step_name})`;
}

/** A step as lists show it: "2. clean", "on_failure 1. notify". */
export function stepTitle(step: Pick<StepRecord, 'role' | 'index' | 'name'>): string {
  return `${stepPosition(step)}. ${step.name}`;
}

/** How a step is named while a run is watched: "2/5 clean (transform)", "on_failure 1 notify", "3/5 fetch (run)". */
export function stepLabel(
  step: Pick<StepRecord, 'role' | 'index' | 'name' | 'module' | 'run' | 'call'>,
  total: number,
): string {
  const position = step.role === 'step' ? `${step.index}/${total}` : stepPosition(step);
  return `${position} ${step.name}${stepHow(step, '')}`;
}

/** What a step runs, after its name: " (run)", " (call daily)", " (transform)", or nothing when its name is its module's. */
export function stepHow(step: Pick<StepRecord, 'name' | 'module' | 'run' | 'call'>, moduleWord: string): string {
  if (step.run !== undefined) return ' (run)';
  if (step.call !== undefined) return ` (call ${step.call})`;
  return step.name === step.module ? '' : ` (${moduleWord}${step.module})`;
}

/**
 * How an attempt ended, in one wording wherever it is shown: the runner's own reason
 * ("timed out after 2s", "cannot start …"), "was killed by SIGKILL" or "exited with code 3".
 */
export function describeEnding(attempt: Pick<Attempt, 'error' | 'signal' | 'exit_code'> | undefined): string {
  if (attempt === undefined) return 'did not run';
  return (
    attempt.error ?? (attempt.signal ? `was killed by ${attempt.signal}` : `exited with code ${attempt.exit_code}`)
  );
}

/** The same from a run.json step line, which keeps only the status and the exit code. */
export function describeSummaryEnding(step: Pick<StepSummary, 'status' | 'exit_code'>): string {
  if (step.status === 'timed_out') return 'timed out';
  return step.exit_code === null ? step.status : `exited with code ${step.exit_code}`;
}

/** The main step whose failure failed the run, if one did. */
export function failedStep(run: Pick<RunRecord, 'steps' | 'failed_step'>): StepSummary | undefined {
  return run.steps.find((s) => s.role === 'step' && s.index === run.failed_step);
}
