/** A run's statuses: the schema's enum (records.ts) and every list that offers them, without loading zod. */
export const RUN_STATUSES = ['running', 'succeeded', 'failed', 'cancelled', 'abandoned'] as const;
