import type { StepRecord } from './records.js';

/** How a step is named while a run is watched: "2/5 clean (transform)", "on_failure 1 notify". */
export function stepLabel(step: Pick<StepRecord, 'role' | 'index' | 'name' | 'module'>, total: number): string {
  const position = step.role === 'on_failure' ? `on_failure ${step.index}` : `${step.index}/${total}`;
  return `${position} ${step.name}${step.name === step.module ? '' : ` (${step.module})`}`;
}
