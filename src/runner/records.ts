// The records of a run, as the runner keeps them and the ledger writes them: run.json and one
// step record per step. One source of truth: the types are inferred from these schemas and
// schemas/run.schema.json and schemas/step.schema.json are generated from them. The CLI
// never loads this file at run time (zod stays out of start-up): it imports types only.
import { z } from 'zod';
import { ROLES } from '../definitions/handlers.js';
import { SCHEMA_VERSION } from './schema-version.js';
import { RUN_STATUSES } from './statuses.js';

export const RunStatus = z.enum(RUN_STATUSES);
export const StepStatus = z.enum(['pending', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'skipped']);

const Timestamp = z.string().describe('ISO 8601, UTC');
const Nullable = <T extends z.ZodType>(schema: T) => schema.nullable();

export const Attempt = z
  .strictObject({
    attempt: z.int().min(1),
    started_at: Timestamp,
    finished_at: Nullable(Timestamp),
    duration_ms: Nullable(z.number().min(0)),
    exit_code: Nullable(z.int()),
    signal: Nullable(z.string()),
    timed_out: z.boolean(),
    error: Nullable(z.string()).describe('Why the module could not be started, or was stopped'),
  })
  .meta({ id: 'Attempt' });

/** A main step, or a step of one of the handlers (src/definitions/handlers.ts). */
export const Role = z.enum(ROLES);

export const SkippedAs = z
  .strictObject({
    reason: z
      .enum(['unchanged', 'resumed'])
      .describe('unchanged: given the same as its last successful run; resumed: done by the run this one resumes'),
    run_id: z.string().describe('The run whose execution of the step stands for this one'),
  })
  .meta({ id: 'SkippedAs' });

export const StepSummary = z
  .strictObject({
    index: z.int().min(1),
    role: Role,
    name: z.string(),
    module: z.string().describe("The step's module; for a step with run, the file name of its program"),
    run: z.string().optional().describe('A step with run instead of a module: the command as written'),
    call: z.string().optional().describe('A step that runs another sequence: its name'),
    child_run: z.string().optional().describe('A call step: the run it started'),
    status: StepStatus,
    duration_ms: Nullable(z.number().min(0)),
    exit_code: Nullable(z.int()),
    attempts: z.int().min(0),
    record: z.string().describe('Path of the step record, relative to the run folder'),
    skipped_as: SkippedAs.optional(),
    skipped_because: z
      .string()
      .optional()
      .describe('Why a step was skipped by its condition (if): the command and what it said'),
    not_started_because: z
      .string()
      .optional()
      .describe(
        'Why a step failed before its module started: a value it uses was not written, or its condition (if) could not be decided',
      ),
    needs: z
      .array(z.int().min(1))
      .optional()
      .describe('In a graph run (steps with needs): the indexes of the steps this one waited for'),
  })
  .meta({ id: 'StepSummary' });

export const CiContext = z
  .strictObject({
    provider: z.literal('github-actions'),
    workflow: Nullable(z.string()),
    run_id: Nullable(z.string()),
    run_attempt: Nullable(z.string()),
    sha: Nullable(z.string()),
    ref: Nullable(z.string()),
    event: Nullable(z.string()),
    actor: Nullable(z.string()),
    repository: Nullable(z.string()),
    url: Nullable(z.string()),
  })
  .meta({ id: 'CiContext' });

export const Trigger = z
  .strictObject({
    kind: z
      .string()
      .describe(
        'What started the run. Here: manual (etl run by hand, --tick or not), schedule (etl schedule), backfill (etl backfill), ui (etl ui: Run now, Re-run, Resume). In GitHub Actions, the event: schedule, push, dispatch, pull_request, or its own name',
      ),
    actor: Nullable(z.string()),
    ci: Nullable(CiContext),
    tick: z
      .string()
      .optional()
      .describe('The schedule tick the run is for (ISO 8601, UTC): etl schedule, etl backfill, etl run --tick'),
  })
  .meta({ id: 'Trigger' });

export const DefinitionsPin = z
  .strictObject({
    commit: Nullable(z.string()).describe('HEAD when the run started; null outside git'),
    dirty: Nullable(z.boolean()).describe('Whether any definition file differed from that commit'),
    files: z
      .record(z.string(), Nullable(z.string()))
      .describe('Repository-relative path -> git blob hash of the content that ran'),
  })
  .meta({ id: 'DefinitionsPin' });

export const ParentRun = z
  .strictObject({
    run_id: z.string(),
    sequence: z.string(),
    step: z.int().min(1).describe("The index of the parent's step that started this run"),
    role: Role.optional().describe(
      'The list that step is in: step, or a handler (absent in records written before 0.1.0 had it: step)',
    ),
    step_name: z.string(),
  })
  .meta({ id: 'ParentRun' });

export const ChildRun = z
  .strictObject({
    run_id: z.string(),
    sequence: z.string(),
    step: z.int().min(1).describe('The index of the call step that started it'),
    role: Role.optional().describe('The list that step is in: step, or a handler (absent: step)'),
  })
  .meta({ id: 'ChildRun' });

export const RunRecord = z
  .strictObject({
    schema_version: z.literal(SCHEMA_VERSION),
    id: z.string(),
    sequence: z.string(),
    status: RunStatus,
    trigger: Trigger,
    definitions: DefinitionsPin,
    selection: Nullable(z.strictObject({ from: Nullable(z.int()), only: Nullable(z.int()) })),
    resumed_from: z
      .string()
      .optional()
      .describe(
        'etl run --resume: the run this one picks up, at its failed step (the steps before: skipped_as resumed)',
      ),
    parent_run: ParentRun.optional().describe(
      'The run whose step started this one (a call step, or a module that ran etl run)',
    ),
    child_runs: z
      .array(ChildRun)
      .optional()
      .describe("The runs this run's call steps started, in the order they started"),
    params: z.record(z.string(), z.string()).optional().describe("The run's parameters, resolved"),
    tick: z.string().optional().describe('What ${tick} stood for: the schedule tick, or the run start (ISO 8601, UTC)'),
    host: z.string(),
    pid: z.int(),
    runner_version: z.string(),
    started_at: Timestamp,
    finished_at: Nullable(Timestamp),
    duration_ms: Nullable(z.number().min(0)),
    max_parallel: z
      .int()
      .min(1)
      .optional()
      .describe('A graph run (steps with needs): how many steps could run at the same time'),
    failed_step: Nullable(z.int().min(1)).describe('Index of the step that failed the run (the first, in a graph)'),
    error: Nullable(z.string()).describe('Why the run failed, was cancelled or abandoned'),
    steps: z.array(StepSummary),
  })
  .meta({ id: 'RunRecord', title: 'etl-ledger run record (run.json)' });

export const Artifact = z
  .strictObject({
    path: z.string().describe('As the step was given it (secrets masked)'),
    kind: z.enum(['file', 'folder', 'missing', 'external', 'unreadable']),
    size: z.int().min(0).optional().describe("Bytes: the file's, or the folder's files' together"),
    sha256: z
      .string()
      .optional()
      .describe('Of a file; of a folder, of its manifest ("<sha256>  <relative path>" a line, in path order)'),
    files: z.int().min(0).optional().describe("A folder's files hashed"),
    bounded: z.string().optional().describe("Why a folder's hash covers only part of it"),
    error: z.string().optional().describe('Why it could not be read'),
  })
  .meta({ id: 'Artifact' });

export const StepLineage = z
  .strictObject({ input: Nullable(Artifact), output: Nullable(Artifact), config: Nullable(Artifact) })
  .meta({ id: 'StepLineage' });

export const StepRecord = z
  .strictObject({
    schema_version: z.literal(SCHEMA_VERSION),
    run_id: z.string(),
    index: z.int().min(1),
    role: Role,
    name: z.string(),
    module: z
      .string()
      .describe(
        'The step\'s module; for a step with run, which has none, the file name of its program ("python3", "x.sh")',
      ),
    run: z
      .string()
      .optional()
      .describe(
        'A step that runs a command of its own instead of a module: the command as written (templates not filled)',
      ),
    call: z
      .string()
      .optional()
      .describe('A step that runs another sequence as a child run: its name (module is the same)'),
    child_run: z.string().optional().describe('A call step: the run it started (its last attempt)'),
    argv: z.array(z.string()),
    input: Nullable(z.string()),
    output: Nullable(z.string()),
    config: Nullable(z.string()),
    needs: z
      .array(z.int().min(1))
      .optional()
      .describe('In a graph run (steps with needs): the indexes of the steps this one waited for'),
    status: StepStatus,
    started_at: Nullable(Timestamp),
    finished_at: Nullable(Timestamp),
    duration_ms: Nullable(z.number().min(0)),
    attempts: z.array(Attempt),
    metrics: z
      .record(z.string(), z.union([z.number(), z.string()]))
      .optional()
      .describe('What the module wrote to ETL_METRICS (its last attempt): key -> number or text'),
    outputs: z
      .record(z.string(), z.string())
      .optional()
      .describe(
        'What the module wrote to ETL_OUTPUTS (its last attempt), secrets masked: later steps use them as ${steps.NAME.outputs.KEY}',
      ),
    module_files: z
      .record(z.string(), Nullable(z.string()))
      .optional()
      .describe(
        "The repository files the step's module ran (its program, its scripts, what its depends match): path -> git blob hash, from the run's pin",
      ),
    fingerprint: z
      .string()
      .optional()
      .describe(
        'sha256 over what the step was given: module files, argv, non-secret env, params, config and input hashes (skip_unchanged compares it)',
      ),
    skipped_as: SkippedAs.optional(),
    skipped_because: z
      .string()
      .optional()
      .describe('Why a step was skipped by its condition (if): the command and what it said'),
    not_started_because: z
      .string()
      .optional()
      .describe(
        'Why a step failed before its module started: a value it uses was not written, or its condition (if) could not be decided',
      ),
    ran_because: z.string().optional().describe('With skip_unchanged: why the step was run rather than skipped'),
    lineage: StepLineage.optional().describe(
      'What the step read (input and config, before it ran) and wrote (output, after): local files and folders hashed',
    ),
    expectations: z
      .array(z.strictObject({ metric: z.string(), rule: z.string(), ok: z.boolean(), message: z.string() }))
      .optional()
      .describe("The step's expect rules as checked after its module exited 0; one not ok failed the step"),
    log: z.strictObject({
      path: Nullable(z.string()).describe('Relative to the run folder; null when the module printed nothing'),
      bytes: z.int().min(0).describe('Bytes the module printed'),
      kept_bytes: z.int().min(0).describe('Bytes kept in the log file'),
      truncated: z.boolean(),
    }),
  })
  .meta({ id: 'StepRecord', title: 'etl-ledger step record (steps/NN-module.json)' });

export type RunStatus = z.infer<typeof RunStatus>;
export type StepStatus = z.infer<typeof StepStatus>;
export type Attempt = z.infer<typeof Attempt>;
export type Role = z.infer<typeof Role>;
export type StepSummary = z.infer<typeof StepSummary>;
export type CiContext = z.infer<typeof CiContext>;
export type Trigger = z.infer<typeof Trigger>;
export type DefinitionsPin = z.infer<typeof DefinitionsPin>;
export type RunRecord = z.infer<typeof RunRecord>;
export type StepRecord = z.infer<typeof StepRecord>;
export type Artifact = z.infer<typeof Artifact>;
export type StepLineage = z.infer<typeof StepLineage>;
export type SkippedAs = z.infer<typeof SkippedAs>;
export type ParentRun = z.infer<typeof ParentRun>;
export type ChildRun = z.infer<typeof ChildRun>;
