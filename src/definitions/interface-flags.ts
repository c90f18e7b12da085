// The module interface's flags, shared by the runner (which passes them) and the module
// helpers (which read them): kept in a file of their own so that a module loads nothing else.

/** The interface flags of the seed: COMMAND [--input PATH] [--output PATH] [--config PATH]. */
export const DEFAULT_FLAGS = { input: '--input', output: '--output', config: '--config' } as const;

/** What a module's `flags` (or `$flags`) call the interface flags. */
export interface InterfaceFlags {
  input: string;
  output: string;
  config: string;
}

/** The environment variables a module is told the names in: ETL_FLAG_INPUT, ETL_FLAG_OUTPUT, ETL_FLAG_CONFIG. */
export const FLAG_VARIABLES = {
  input: 'ETL_FLAG_INPUT',
  output: 'ETL_FLAG_OUTPUT',
  config: 'ETL_FLAG_CONFIG',
} as const;
