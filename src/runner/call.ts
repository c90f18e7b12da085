// A step that runs another sequence (`call`) starts `etl run OTHER` as its command: the child
// run is a run like any other (its lock, its records, its commit), and the step ends as it
// does. The two are linked through the step's environment: the child finds its parent in the
// module wrapper's ETL_RUN_ID, ETL_SEQUENCE and ETL_STEP, and tells the parent its run id
// through the step's ETL_OUTPUTS (as `run_id`), where the parent reads it when the step ends.
import { appendFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ROLES } from '../definitions/handlers.js';
import type { ParentRun } from './records.js';

/** The etl CLI of this runner: what a call step starts. */
export const ETL_CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

/** The output a child run writes for its parent's step: its run id. */
export const CHILD_RUN_OUTPUT = 'run_id';

/** The argv of a call step: `etl run OTHER` with the parent's tick, the step's params and the ledger flags it passes on. */
export function callArgv(sequence: string, tick: string, params: Record<string, string>, flags: string[]): string[] {
  return [
    process.execPath,
    ETL_CLI,
    'run',
    sequence,
    '--tick',
    tick,
    ...Object.entries(params).flatMap(([key, value]) => ['--param', `${key}=${value}`]),
    ...flags,
  ];
}

/** The run whose step started this one (`etl run` from a call step, or from any module), if any. */
export function parentRunOf(env: Record<string, string | undefined>): ParentRun | undefined {
  const { ETL_RUN_ID: runId, ETL_SEQUENCE: sequence, ETL_STEP: step, ETL_STEP_NAME: name } = env;
  if (!runId || !sequence || !step || !/^\d+$/.test(step)) return undefined;
  const role = ROLES.find((known) => known === env.ETL_STEP_ROLE);
  return { run_id: runId, sequence, step: Number(step), ...(role ? { role } : {}), step_name: name ?? '' };
}

/**
 * The environment a child run gives its modules: without what the module wrapper told the
 * parent's step (its params, what failed, its attempt), which the child's own wrapper would
 * otherwise add to rather than replace.
 */
export function withoutParentWrapper(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !/^ETL_(PARAM_|FAILED_)|^ETL_RUN_STATUS$/.test(key)));
}

/** Tells the parent's step which run it started; a parent that cannot be told is not this run's failure. */
export function tellParent(env: Record<string, string | undefined>, runId: string): void {
  const outputs = env.ETL_OUTPUTS;
  if (!outputs || !parentRunOf(env)) return;
  try {
    appendFileSync(outputs, `${CHILD_RUN_OUTPUT}=${runId}\n`);
  } catch {} // the parent's scratch folder is gone: it is no longer waiting
}
