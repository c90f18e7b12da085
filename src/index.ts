// The library API: everything the `etl` command does, callable from code.
export { EtlError, ExitCode, type Issue, type Location, type Severity } from './errors.js';
export { validate, type ValidateOptions, type ValidationReport } from './definitions/validate.js';
export type { Definitions, ModuleEntry, SequenceDef, StepDef } from './definitions/model.js';
export type { ModuleDef, ModulesFile, SequenceFile, SequenceObject, Step } from './definitions/schema.js';
export { parseCron, type Cron } from './definitions/cron.js';
export { parseDuration } from './definitions/duration.js';
export { planRun, type Plan, type PlannedStep } from './runner/plan.js';
export { executePlan, type ExecuteOptions, type RunObserver } from './runner/engine.js';
export type { RunRecord, StepRecord, RunStatus, StepStatus } from './runner/records.js';
export { runSequence, type RunOutcome, type RunSequenceOptions } from './ledger/run-sequence.js';
export { findRun, listHistory, readRun, type HistoryOptions, type RunRef } from './ledger/history.js';
export { nextTick } from './schedule/next-tick.js';
export { listSequences, type SequenceSummary } from './schedule/overview.js';
export { initRepository, type InitResult } from './scaffold/init.js';
