// A logger with levels for modules. The step's log takes stdout and stderr as they arrive:
// progress (info) and debug go to stdout, warnings and errors to stderr; a line that is not
// progress starts with its level (`warn: ...`).

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The variable that sets the level: a module's, sequence's or step's `env` may give it. */
export const LOG_LEVEL_VARIABLE = 'ETL_LOG_LEVEL';

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** The lowest level written. */
  readonly level: LogLevel;
}

/**
 * A logger writing the levels from `ETL_LOG_LEVEL` up (info when unset). An unknown level is
 * said once, on stderr, and info is used: a typo must not silence a module.
 */
export function createLogger(env: Record<string, string | undefined> = process.env): Logger {
  const given = env[LOG_LEVEL_VARIABLE]?.trim().toLowerCase();
  const known = LOG_LEVELS.find((level) => level === given || (level === 'warn' && given === 'warning'));
  const level: LogLevel = known ?? 'info';
  const lowest = LOG_LEVELS.indexOf(level);
  const write = (at: LogLevel, message: string) => {
    if (LOG_LEVELS.indexOf(at) < lowest) return;
    const stream = at === 'warn' || at === 'error' ? process.stderr : process.stdout;
    // Progress reads as it is; the other levels say theirs.
    stream.write(at === 'info' ? `${message}\n` : `${at}: ${message}\n`);
  };
  if (given && !known)
    write('warn', `${LOG_LEVEL_VARIABLE} is "${given}": expected ${LOG_LEVELS.join(', ')}; using info`);
  return {
    level,
    debug: (message) => write('debug', message),
    info: (message) => write('info', message),
    warn: (message) => write('warn', message),
    error: (message) => write('error', message),
  };
}

let shared: Logger | undefined;

/** The module's logger, made on first use. */
export const log: Logger = {
  get level() {
    return logger().level;
  },
  debug: (message) => logger().debug(message),
  info: (message) => logger().info(message),
  warn: (message) => logger().warn(message),
  error: (message) => logger().error(message),
};

const logger = () => {
  shared ??= createLogger();
  return shared;
};
