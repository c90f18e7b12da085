// The one source of truth for the definition file formats. TypeScript types are inferred
// from these; schemas/*.json are generated from them (src/build/write-schemas.ts) and a test
// fails when the committed copies are stale. Runtime validation uses ajv code precompiled
// from those JSON files, so zod itself is never loaded by the CLI.
import { HANDLER_WHEN } from './handlers.js';
import { z } from 'zod';
import { DURATION_PATTERN, ENV_NAME_PATTERN, FLAG_PATTERN, METRIC_NAME_PATTERN } from './patterns.js';
import { PARAM_NAME_PATTERN } from './template.js';

// "", null and an absent key all mean "not given", as in the seed's files.
const notGiven = <T extends z.ZodType>(schema: T) => schema.nullable().optional();

export const Duration = z
  .string()
  .regex(new RegExp(DURATION_PATTERN))
  .meta({ id: 'Duration', description: 'A duration such as "90s", "30m", "2h" or "1h30m".' });

export const Env = z.record(z.string().regex(new RegExp(ENV_NAME_PATTERN)), z.string()).meta({
  id: 'Env',
  description:
    'Environment variables given to the module (names to string values). ${params.NAME} (not in modules.json), ${tick} and ${tick:FORMAT} are expanded, $$ is a "$"; no other $ template is allowed.',
});

/** A path of some kind: a file, a folder or a URL such as sqlite:////tmp/x.db. */
const MaybePath = notGiven(z.string());

const Flag = z.string().regex(new RegExp(FLAG_PATTERN));

export const Flags = z.strictObject({ input: Flag.optional(), output: Flag.optional(), config: Flag.optional() }).meta({
  id: 'Flags',
  description: 'Names of the interface flags: {"input": "-i", "output": "-o", "config": "--conf"}.',
});

const Backoff = z
  .number()
  .min(1)
  .max(100)
  .describe(
    'Each retry waits retry_delay times this factor to the power of the retries before it: 2 doubles the wait.',
  );
const RetryOn = z
  .array(z.int().min(1).max(255))
  .min(1)
  .describe('Retry only after an attempt that exited with one of these codes (not after a timeout or a signal).');

export const ModuleDef = z
  .strictObject({
    cmd: z.string().min(1).describe('The command line; split into words like a shell would, never run through one.'),
    description: notGiven(z.string()),
    flags: Flags.optional().describe('Rename the interface flags for this module, e.g. {"config": "--conf"}.'),
    timeout: notGiven(Duration),
    retries: notGiven(z.int().min(0)),
    retry_delay: notGiven(Duration),
    backoff: Backoff.optional(),
    retry_on: RetryOn.optional(),
    env: Env.optional(),
    depends: z
      .array(z.string().min(1))
      .optional()
      .describe(
        'Repository files the module depends on besides its command, as GitHub path filter patterns (* ** ? + [] and ! to take back), e.g. ["modules/lib/**", "!modules/lib/**/*_test.py"]: pinned by each run and watched by etl changed.',
      ),
  })
  .meta({ id: 'Module' });

export const ModulesFile = z
  .object({
    $schema: z.string().optional(),
    $github: z
      .strictObject({
        schedules: z
          .boolean()
          .optional()
          .describe(
            'false: the schedules run elsewhere (etl schedule on your own server), not on GitHub Actions: the generated etl-schedule.yml has no cron triggers, and no warning says that GitHub would not run a schedule as written.',
          ),
      })
      .optional()
      .describe('How the repository uses GitHub Actions, e.g. {"schedules": false}.'),
    $defaults: z
      .strictObject({ timeout: notGiven(Duration) })
      .optional()
      .describe(
        'Defaults for every step of the repository, below a module\'s and a step\'s own: {"timeout": "1h"} bounds every step that says no timeout itself.',
      ),
    $flags: Flags.optional().describe(
      'The interface flags of every module of the repository (a module\'s own "flags" win), e.g. {"config": "--conf"} for the seed\'s modules.',
    ),
  })
  .catchall(ModuleDef)
  .meta({ title: 'etl-ledger modules.json', description: 'Maps each module_name to the command that runs it.' });

export const Step = z
  .strictObject({
    module_name: z
      .string()
      .min(1)
      .optional()
      .describe('A key of modules.json: the module the step runs. A step has one of module_name, run and call.'),
    run: z
      .string()
      .min(1)
      .optional()
      .describe(
        'A command the step runs instead of a module, e.g. "python3 scripts/x.py --day ${tick:%Y-%m-%d}": split into words like a module\'s cmd, never run through a shell (no |, &&, > or $VAR); ${params.NAME}, ${tick} and ${tick:FORMAT} are expanded in each word, and --input, --output and --config are added as for a module. A step has one of module_name, run and call.',
      ),
    call: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Another sequence of the repository, run as a child run of this one (etl run OTHER, with this run's tick and the ledger options it was given): its run.json names this run as parent_run, this run's lists it in child_runs, and the step ends as the child run does. A step has one of module_name, run and call.",
      ),
    params: z
      .record(z.string().regex(new RegExp(PARAM_NAME_PATTERN)), z.string())
      .optional()
      .describe(
        'With call: the params of the child run, e.g. {"region": "${params.region}"}; ${params.NAME}, ${tick} and the outputs of earlier steps are expanded.',
      ),
    name: notGiven(z.string()),
    input: MaybePath,
    output: MaybePath,
    conf: MaybePath,
    timeout: notGiven(Duration),
    retries: notGiven(z.int().min(0)),
    retry_delay: notGiven(Duration).describe("The wait between attempts; default: the module's."),
    backoff: Backoff.optional(),
    retry_on: RetryOn.optional(),
    env: Env.optional(),
    expect: z
      .record(z.string().regex(new RegExp(METRIC_NAME_PATTERN)), z.string())
      .optional()
      .describe(
        'Rules on the metrics the module writes to ETL_METRICS, checked when it exits 0 (one that does not hold fails the step): {"rows": ">= 1", "rejected": "< 5% of rows", "loaded": "within 20% of last"}.',
      ),
    if: z
      .string()
      .min(1)
      .optional()
      .describe(
        'A precondition: a command (split like cmd, never through a shell; ${params.X}, ${tick} and the outputs of earlier steps expanded) run before the step, in the repository, with its env: exit 0 runs the step, exit 1 skips it (recorded skipped, with why; what needs it still runs), anything else fails it.',
      ),
    continue_on: z
      .union([z.literal('failure'), z.array(z.int().min(1).max(255)).min(1)])
      .optional()
      .describe(
        'The run goes on after this step fails ("failure": however it failed, not when cancelled; a list: only when it exited with one of these codes): the step stays failed, what comes after (in a graph, what needs it) still runs, and the run ends succeeded_with_failures.',
      ),
    needs: z
      .array(z.string())
      .optional()
      .describe(
        'The steps this one waits for, by name (a step without a name is called by its module_name): it starts when each of them succeeded or was skipped; [] starts it at once. A sequence where any step has needs is a graph: steps with nothing between them run at the same time, up to max_parallel, and a step without needs waits for the one before it. Not on on_failure steps.',
      ),
    skip_unchanged: z
      .boolean()
      .optional()
      .describe(
        'Do not run this step when what it is given (module files, cmd, flags, env, params, config content, input hashes) equals its last successful run and its output still has the hash that run recorded: it is recorded skipped, pointing at that run. Steps whose input is not a local file or folder always run.',
      ),
  })
  .meta({ id: 'Step' });

export const StepList = z.array(Step).meta({ id: 'StepList' });

export const Param = z
  .strictObject({
    default: notGiven(z.string()).describe(
      'The value when a run does not give one (it may use ${tick} and ${tick:FORMAT}); a scheduled sequence needs one.',
    ),
    description: notGiven(z.string()),
  })
  .meta({ id: 'Param' });

export const Retention = z
  .strictObject({
    keep_days: z.int().min(1).optional().describe('Keep the runs started in the last N days.'),
    keep_runs: z.int().min(1).optional().describe('Keep the N newest runs.'),
  })
  .meta({
    id: 'Retention',
    description:
      'How long the ledger keeps this sequence\'s run folders: {"keep_days": 90} or {"keep_runs": 500}, one of the two. Older runs are removed in a commit of their own (git history keeps them) after each committed run and once a day by etl schedule --commit, as etl ledger prune does; runs that skip_unchanged, --resume or lineage still point at are kept.',
  });

export const SequenceObject = z
  .strictObject({
    $schema: z.string().optional(),
    description: notGiven(z.string()),
    schedule: notGiven(z.string()).describe('A 5-field cron expression, in the dialect GitHub Actions accepts.'),
    timezone: notGiven(z.string()).describe('An IANA time zone for the schedule; UTC when not given.'),
    timeout: notGiven(Duration).describe('A bound on the steps of the run (not on the on_failure steps).'),
    freshness: notGiven(Duration).describe(
      'How recent its last success must be, e.g. "26h": when no run of it succeeded and ended within that long, etl status, etl ui and the metrics say it is stale.',
    ),
    on_failure: notGiven(z.union([Step, StepList])).describe('Steps run after a failure: the error handler.'),
    on_failure_timeout: notGiven(Duration).describe(
      'A bound on the on_failure steps together, from when they start; default: the sequence timeout.',
    ),
    on_success: notGiven(z.union([Step, StepList])).describe(
      `Steps run ${HANDLER_WHEN.on_success}. One that fails fails the run.`,
    ),
    on_success_timeout: notGiven(Duration).describe(
      'A bound on the on_success steps together, from when they start; default: the sequence timeout.',
    ),
    on_cancel: notGiven(z.union([Step, StepList])).describe(
      `Steps run ${HANDLER_WHEN.on_cancel}; a second signal stops them at once.`,
    ),
    on_cancel_timeout: notGiven(Duration).describe(
      'A bound on the on_cancel steps together, from when they start; default: the sequence timeout.',
    ),
    on_exit: notGiven(z.union([Step, StepList])).describe(
      `Steps run ${HANDLER_WHEN.on_exit}: after the steps and the other handlers. One that fails fails a run that had succeeded.`,
    ),
    on_exit_timeout: notGiven(Duration).describe(
      'A bound on the on_exit steps together, from when they start; default: the sequence timeout.',
    ),
    skip_unchanged: z
      .boolean()
      .optional()
      .describe(
        'skip_unchanged for every step that does not say otherwise (etl run --skip-unchanged does it for one run).',
      ),
    env: Env.optional(),
    secrets: z
      .array(z.string().regex(new RegExp(ENV_NAME_PATTERN)))
      .optional()
      .describe('Names of environment variables whose values are never written anywhere.'),
    params: z
      .record(z.string().regex(new RegExp(PARAM_NAME_PATTERN)), Param)
      .optional()
      .describe(
        'Run parameters: used as ${params.NAME} in input, output, conf and env, given to modules as ETL_PARAM_<NAME>, set with etl run --param NAME=VALUE.',
      ),
    concurrency: z
      .enum(['skip', 'queue', 'cancel_previous'])
      .optional()
      .describe(
        'When a run of the sequence starts while another runs: skip (the default: it does not run, exit 3), queue (it waits for the other to end), cancel_previous (the other is cancelled, as by SIGTERM, and this one runs once it has ended). etl run, etl schedule and the generated workflows follow it.',
      ),
    retention: Retention.optional(),
    max_parallel: z
      .int()
      .min(1)
      .optional()
      .describe(
        'In a graph (a sequence whose steps have needs): how many steps may run at the same time; default: the number of CPU cores of the machine that runs it.',
      ),
    steps: StepList,
  })
  .meta({ id: 'SequenceObject' });

export const SequenceFile = z
  .union([StepList, SequenceObject])
  .meta({ title: 'etl-ledger sequence', description: "The seed's bare array of steps, or an object with steps." });

export type Duration = z.infer<typeof Duration>;
export type Env = z.infer<typeof Env>;
export type ModuleDef = z.infer<typeof ModuleDef>;
export type Flags = z.infer<typeof Flags>;
export type GitHubSettings = NonNullable<ModulesFile['$github']>;
export type StepDefaults = NonNullable<ModulesFile['$defaults']>;
export type ModulesFile = z.infer<typeof ModulesFile>;
export type Step = z.infer<typeof Step>;
export type Param = z.infer<typeof Param>;
export type SequenceObject = z.infer<typeof SequenceObject>;
export type Retention = z.infer<typeof Retention>;
export type SequenceFile = z.infer<typeof SequenceFile>;
