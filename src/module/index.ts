// etl-ledger/module: helpers for writing a module in Node, the same as etl_module.py's in
// Python (README "Writing a module: helpers"). It loads only what a module needs: no zod,
// no git, nothing of the runner.
export { parseArgs, type ModuleArgs, type ParseArgsOptions } from './args.js';
export { readConfig, type ReadConfigOptions } from './config.js';
export { metric, output, type ReportedValue } from './report.js';
export { log, createLogger, LOG_LEVELS, type Logger, type LogLevel } from './log.js';
export { ExitCode, fail } from './exit.js';
export { context, type FailedStep, type RunContext } from './context.js';
