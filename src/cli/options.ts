import { EtlError } from '../errors.js';

/** --limit N: a positive whole number, said the same way by every command that takes it. */
export function parseLimit(value: unknown): number {
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1) {
    throw new EtlError('usage', `--limit must be a positive whole number, got "${String(value)}"`);
  }
  return limit;
}
