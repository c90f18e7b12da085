// What the runner tells a module about its run, from the ETL_* variables it sets (README "The
// module wrapper: what a module is given"). Outside etl each of them is undefined.

export interface FailedStep {
  step: number;
  stepName: string;
  module: string;
  /** Undefined when it was killed or could not start. */
  exitCode?: number;
  /** failed or timed_out. */
  status: string;
}

export interface RunContext {
  runId?: string;
  sequence?: string;
  /** The step's number, from 1. */
  step?: number;
  /** The list the step is in: "step", or its handler ("on_failure"...). */
  role?: string;
  stepName?: string;
  module?: string;
  input?: string;
  output?: string;
  config?: string;
  /** The repository root, also the working directory. */
  repo?: string;
  /** A scratch folder shared by the run's steps. */
  runDir?: string;
  /** 1, then 2, 3… when `retries` run the step again. */
  attempt?: number;
  /** The tick the run is for (ISO 8601, UTC). */
  tick?: string;
  /** The run's params by name, lower-cased (ETL_PARAM_REGION gives `region`). */
  params: Record<string, string>;
  /** In a handler's steps: how the run's steps went (succeeded, succeeded_with_failures, failed, cancelled). */
  runStatus?: string;
  /** In the handlers after a failure: the step that failed. */
  failed?: FailedStep;
}

const PARAM_PREFIX = 'ETL_PARAM_';

export function context(env: Record<string, string | undefined> = process.env): RunContext {
  const text = (name: string) => env[name] || undefined;
  const number = (name: string) => (env[name] ? Number(env[name]) : undefined);
  return {
    runId: text('ETL_RUN_ID'),
    sequence: text('ETL_SEQUENCE'),
    step: number('ETL_STEP'),
    role: text('ETL_STEP_ROLE'),
    stepName: text('ETL_STEP_NAME'),
    module: text('ETL_MODULE'),
    input: text('ETL_INPUT'),
    output: text('ETL_OUTPUT'),
    config: text('ETL_CONFIG'),
    repo: text('ETL_REPO'),
    runDir: text('ETL_RUN_DIR'),
    attempt: number('ETL_ATTEMPT'),
    tick: text('ETL_TICK'),
    params: Object.fromEntries(
      Object.entries(env)
        .filter(([name, value]) => name.startsWith(PARAM_PREFIX) && value !== undefined)
        .map(([name, value]) => [name.slice(PARAM_PREFIX.length).toLowerCase(), value!]),
    ),
    runStatus: text('ETL_RUN_STATUS'),
    failed: env.ETL_FAILED_STEP
      ? {
          step: Number(env.ETL_FAILED_STEP),
          stepName: env.ETL_FAILED_STEP_NAME ?? '',
          module: env.ETL_FAILED_MODULE ?? '',
          exitCode: number('ETL_FAILED_EXIT_CODE'),
          status: env.ETL_FAILED_STATUS ?? '',
        }
      : undefined,
  };
}
