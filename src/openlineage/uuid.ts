// OpenLineage wants each run's id to be a UUID; ours are "20261202T000501954Z-ea86ee86". A
// name-based UUID (version 5: SHA-1 of a namespace and a name, RFC 9562 section 5.5) gives the
// same UUID for the same run every time, so the events sent live and those `etl lineage
// --openlineage` prints later name the same runs.
import { createHash } from 'node:crypto';
import { stepPosition } from '../runner/labels.js';
import type { StepRecord } from '../runner/records.js';

/** etl-ledger's own namespace for version 5 UUIDs (drawn at random once; never to change). */
export const UUID_NAMESPACE = 'cfef1751-a095-4f6b-9f1c-299541f8bfcc';

/** The version 5 UUID of `name` in `namespace`. */
export function nameUuid(name: string, namespace = UUID_NAMESPACE): string {
  const bytes = createHash('sha1')
    .update(Buffer.from(namespace.replaceAll('-', ''), 'hex'))
    .update(name, 'utf8')
    .digest()
    .subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A run's OpenLineage runId: the UUID of its run id. */
export function runUuid(runId: string): string {
  return nameUuid(runId);
}

/** A step's: the UUID of "RUN_ID/2", or "RUN_ID/on_failure 1" for a handler's step. */
export function stepUuid(runId: string, step: Pick<StepRecord, 'role' | 'index'>): string {
  return nameUuid(`${runId}/${stepPosition(step)}`);
}
