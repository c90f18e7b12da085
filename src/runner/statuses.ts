/** A run's statuses: the schema's enum (records.ts) and every list that offers them, without loading zod. */
export const RUN_STATUSES = [
  'running',
  'succeeded',
  'succeeded_with_failures',
  'failed',
  'cancelled',
  'abandoned',
] as const;

/**
 * Whether a run did what it was for: every step succeeded, or the ones that failed had
 * continue_on (succeeded_with_failures: it went on, as its definition said).
 */
export const isSuccess = (status: string) => status === 'succeeded' || status === 'succeeded_with_failures';

/** What starts a run outside GitHub Actions (etl run --trigger; in Actions, the event does): the schema's list, without loading zod. */
export const LOCAL_TRIGGER_KINDS = ['manual', 'schedule', 'backfill', 'ui'] as const;
