import type { StepRecord } from './records.js';

/** How a step is named while a run is watched: "2/5 clean (transform)", "on_failure 1/- notify". */
export function stepLabel(step: Pick<StepRecord, 'role' | 'index' | 'name' | 'module'>, total: number): string {
  return `${step.role === 'on_failure' ? 'on_failure ' : ''}${step.index}/${step.role === 'on_failure' ? '-' : total} ${step.name}${step.name === step.module ? '' : ` (${step.module})`}`;
}
