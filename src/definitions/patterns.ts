// Patterns shared by the zod schemas (build time) and the validators' error messages (run
// time). Kept apart from schema.ts so the CLI can use them without loading zod.

/** "90s", "30m", "2h", "1h30m", "500ms", "1d"; "" means "not given". */
export const DURATION_PATTERN = '^(([0-9]+(ms|s|m|h|d))+)?$';
export const ENV_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';
/** A step metric's name (ETL_METRICS lines, expect rules). */
export const METRIC_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_.-]{0,99}$';
export const FLAG_PATTERN = '^--?[A-Za-z0-9][A-Za-z0-9_.-]*$';
/** Sequence and module names end up in file names of the ledger: keep them portable. */
export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]*$';
