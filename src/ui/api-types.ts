// What `etl ui`'s JSON API answers, described once: api.ts and actions.ts are checked against
// these types, the pages (src/ui/pages/) read them, and schemas/api.schema.json is generated
// from them. The server never loads this file at run time (zod stays out of start-up).
import { z } from 'zod';
import { Artifact, DefinitionsPin, Role, RunRecord, RunStatus, StepRecord } from '../runner/records.js';

const Timestamp = z.string().describe('ISO 8601, UTC');
/** A step named by its place in its run: "3. load" or "on failure 1. alert". */
const StepName = z.strictObject({ index: z.int().min(1), role: Role, name: z.string() });

/** A sequence as its definition says it (listSequences): absent for one that only has runs. */
const DefinedSequence = z.strictObject({
  name: z.string(),
  file: z.string(),
  steps: z.int().min(0),
  description: z.string().optional(),
  schedule: z.string().optional(),
  timezone: z.string(),
  next_run: Timestamp.optional().describe('When its schedule fires next; absent without one'),
  freshness: z
    .strictObject({
      freshness: z.string().describe('As the definition writes it: "26h"'),
      freshness_ms: z.number().min(0),
      last_success_at: Timestamp.nullable().describe('When its newest successful run ended; null when none did'),
      last_success_run: z.string().nullable(),
      stale: z.boolean().describe('No successful run ended within freshness of now'),
      stale_since: Timestamp.nullable().describe('Its last success plus freshness, when stale; null otherwise'),
    })
    .optional()
    .describe('Whether its last success is recent enough; absent when it sets no freshness'),
  graph: z
    .array(z.strictObject({ index: z.int().min(1), name: z.string(), needs: z.array(z.int().min(1)) }))
    .optional()
    .describe('A graph (steps with needs): each step and the indexes of the steps it needs, as its definition says'),
});
const LedgerOnlySequence = z.strictObject({ name: z.string(), defined: z.literal(false) });
const RecentRun = z.strictObject({
  id: z.string(),
  status: RunStatus,
  duration_ms: z.number().min(0).nullable(),
  started_at: Timestamp,
});
const SequenceRuns = {
  last: RunRecord.nullable(),
  recent: z.array(RecentRun).describe('Its newest runs, newest first'),
  success_rate: z.number().min(0).max(1).nullable().describe('Of its recent finished runs; null when none finished'),
};
export const SequenceEntry = z
  .union([DefinedSequence.extend(SequenceRuns), LedgerOnlySequence.extend(SequenceRuns)])
  .meta({ id: 'SequenceEntry' });

/** GET /api/sequences */
export const SequencesAnswer = z
  .strictObject({ sequences: z.array(SequenceEntry), now: Timestamp })
  .meta({ id: 'SequencesAnswer' });

/** GET /api/runs */
export const RunsAnswer = z
  .strictObject({
    runs: z.array(RunRecord),
    next: z.string().nullable().describe('The `before` of the next page; null on the last'),
  })
  .meta({ id: 'RunsAnswer' });

/** GET /api/runs/ID */
export const RunAnswer = z
  .strictObject({
    run: RunRecord,
    steps: z.array(StepRecord),
    links: z.strictObject({
      commit: z.string().nullable(),
      actions_run: z.string().nullable(),
      pull_request: z.string().nullable(),
    }),
    running_argv: z
      .record(z.string(), z.array(z.string()))
      .describe(
        'The argv of each step running now, by "role-index", planned again (its record is written when it ends)',
      ),
  })
  .meta({ id: 'RunAnswer' });

/** GET /api/runs/ID/definitions */
export const DefinitionsAnswer = z
  .strictObject({
    commit: DefinitionsPin.shape.commit,
    dirty: DefinitionsPin.shape.dirty,
    files: z.array(
      z.strictObject({
        path: z.string(),
        blob: z.string().nullable().describe('null when the file was missing'),
        content: z.string().nullable().describe('null when git does not hold the blob, or it is not text'),
      }),
    ),
    previous: z.strictObject({ id: z.string(), commit: z.string().nullable() }).nullable(),
    changes: z.array(
      z.strictObject({
        path: z.string(),
        change: z.enum(['added', 'removed', 'changed']),
        patch: z.string().nullable().describe("A unified diff; null when a side's content is unknown"),
      }),
    ),
  })
  .meta({ id: 'DefinitionsAnswer' });

/** A step that wrote (or read) an artifact, in this run or an earlier one. */
const LineageEntry = z.strictObject({
  run_id: z.string(),
  sequence: z.string(),
  started_at: Timestamp,
  run_status: z.string(),
  commit: z.string().nullable(),
  step: StepName,
  use: z.enum(['wrote', 'read', 'config']),
  artifact: Artifact,
});

/** GET /api/runs/ID/lineage */
export const LineageAnswer = z
  .strictObject({
    sources: z.array(
      z.strictObject({
        role: Role,
        index: z.int().min(1),
        input: LineageEntry.nullable().describe('The step that wrote the content this step read'),
        config: LineageEntry.nullable(),
      }),
    ),
  })
  .meta({ id: 'LineageAnswer' });

/** GET /api/sequences/NAME/metrics */
export const MetricsAnswer = z
  .strictObject({
    points: z.array(
      z.strictObject({
        run_id: z.string(),
        started_at: Timestamp,
        status: z.string(),
        step: StepName,
        metrics: z.record(z.string(), z.union([z.number(), z.string()])),
      }),
    ),
  })
  .meta({ id: 'MetricsAnswer' });

const ScheduledSequence = z.strictObject({
  schedule: z.string(),
  timezone: z.string(),
  next: Timestamp.nullable(),
  running: z.strictObject({ tick: Timestamp, run_id: z.string().optional() }).nullable(),
  last: z
    .strictObject({
      tick: Timestamp,
      status: z.string(),
      run_id: z.string().optional(),
      error: z.string().optional(),
      finished_at: Timestamp,
    })
    .nullable(),
  error: z.string().nullable().describe('Why its definition is not used now (the old schedule is)'),
  warning: z.string().nullable().optional(),
  ticks: z.array(z.strictObject({ tick: Timestamp, outcome: z.string() })),
});

/** The status file `etl schedule` keeps (as `etl status --json` prints it). */
export const DaemonStatus = z
  .strictObject({
    pid: z.int(),
    host: z.string(),
    started_at: Timestamp,
    updated_at: Timestamp,
    stopped_at: Timestamp.optional(),
    options: z.strictObject({
      max_parallel: z.int(),
      catch_up: z.string(),
      commit: z.boolean(),
      push: z.boolean(),
      claims_on: z.string().nullable().optional(),
      metrics: z.string().nullable().optional().describe('Where its Prometheus metrics are served (--metrics)'),
    }),
    sequences: z.record(z.string(), ScheduledSequence),
  })
  .meta({ id: 'DaemonStatus' });

/** GET /api/schedule */
export const ScheduleAnswer = z
  .strictObject({
    alive: z.boolean().describe("Whether the daemon's process is running"),
    daemon: z.strictObject({ pid: z.int(), host: z.string(), started_at: Timestamp }).nullable(),
    status: DaemonStatus.nullable(),
  })
  .meta({ id: 'ScheduleAnswer' });

/** GET /api/config */
export const ConfigAnswer = z.strictObject({ allow_run: z.boolean() }).meta({ id: 'ConfigAnswer' });

/** POST /api/actions/run (202) */
export const RunStartedAnswer = z
  .strictObject({
    started: z.string(),
    from: z.int().min(1).nullable(),
    resume: z.string().nullable(),
    run: z.string().nullable().describe('The run it started; null when its run.json was not written within 30 s'),
  })
  .meta({ id: 'RunStartedAnswer' });

/** POST /api/actions/cancel (202) */
export const CancellingAnswer = z.strictObject({ cancelling: z.string() }).meta({ id: 'CancellingAnswer' });

/** Every refusal: 400, 404, 405, 409, 421. */
export const ErrorAnswer = z.strictObject({ error: z.string() }).meta({ id: 'ErrorAnswer' });

/** The data of a `run` event on /api/events: a run's records changed. */
export const RunChanged = z.strictObject({ sequence: z.string(), id: z.string() }).meta({ id: 'RunChanged' });

/** The file schemas/api.schema.json: any answer; each has its own definition in $defs. */
export const ApiAnswer = z
  .union([
    SequencesAnswer,
    RunsAnswer,
    RunAnswer,
    DefinitionsAnswer,
    LineageAnswer,
    MetricsAnswer,
    ScheduleAnswer,
    ConfigAnswer,
    RunStartedAnswer,
    CancellingAnswer,
    ErrorAnswer,
    RunChanged,
  ])
  .meta({ title: "etl-ledger UI API answers (GET /api/..., POST /api/actions/..., /api/events' run data)" });

export type SequenceEntry = z.infer<typeof SequenceEntry>;
export type SequencesAnswer = z.infer<typeof SequencesAnswer>;
export type RunsAnswer = z.infer<typeof RunsAnswer>;
export type RunAnswer = z.infer<typeof RunAnswer>;
export type DefinitionsAnswer = z.infer<typeof DefinitionsAnswer>;
export type LineageAnswer = z.infer<typeof LineageAnswer>;
export type MetricsAnswer = z.infer<typeof MetricsAnswer>;
export type DaemonStatus = z.infer<typeof DaemonStatus>;
export type ScheduleAnswer = z.infer<typeof ScheduleAnswer>;
export type ConfigAnswer = z.infer<typeof ConfigAnswer>;
export type RunStartedAnswer = z.infer<typeof RunStartedAnswer>;
export type CancellingAnswer = z.infer<typeof CancellingAnswer>;
export type ErrorAnswer = z.infer<typeof ErrorAnswer>;
export type RunChanged = z.infer<typeof RunChanged>;
