// How a module ends. To the runner, 0 lets the run go on and anything else fails the step
// (then a step's `retry_on` and `continue_on` lists decide what follows); the names below give
// the other codes a meaning people can read in the step's record, from the BSD sysexits.h.

/** Exit codes with meanings: Python's etl_module.ExitCode has the same ones, upper-cased. */
export const ExitCode = {
  /** Done: the run goes on. */
  ok: 0,
  /** Failed, for no reason named below. */
  failed: 1,
  /** The command line was wrong: a flag without its value (EX_USAGE). */
  usage: 64,
  /** The input was read but its content is wrong (EX_DATAERR). */
  data: 65,
  /** The input is missing or cannot be read (EX_NOINPUT). */
  noInput: 66,
  /** Worth another try later (EX_TEMPFAIL): list 75 in the step's `retry_on`. */
  temporary: 75,
  /** The conf is missing or wrong (EX_CONFIG). */
  config: 78,
} as const;

/** Says why on stderr and ends the module with `code` (0 is taken as 1: this is a failure). */
export function fail(message: string, code: number = ExitCode.failed): never {
  process.stderr.write(`error: ${message}\n`);
  // A file or a pipe on Linux is written synchronously: the message is out before the exit.
  process.exit(code === 0 ? ExitCode.failed : code);
}
