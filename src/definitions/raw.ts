// Reading definition data that has not been validated (yet): a sequence whose schema check
// failed still says which modules it names, and `etl changed` reads old commits' files.
import { HANDLERS } from './handlers.js';

export function asObject(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** A value that may be one item or a list of them (like `on_failure`), as a list. */
function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value !== null && typeof value === 'object' ? [value] : [];
}

/** The module names a sequence's steps and error handler use, in either sequence shape. */
export function modulesUsed(sequence: unknown): string[] {
  return [
    ...new Set(
      stepsOf(sequence)
        .map((step) => asObject(step).module_name)
        .filter((m): m is string => typeof m === 'string'),
    ),
  ];
}

/** The steps and handler steps of a sequence, in either sequence shape. */
export function stepsOf(sequence: unknown): unknown[] {
  if (Array.isArray(sequence)) return sequence;
  const object = asObject(sequence);
  return [...asList(object.steps), ...HANDLERS.flatMap((handler) => asList(object[handler]))];
}
