// Where the events go, from the environment: off unless ETL_OPENLINEAGE_URL (an OpenLineage
// HTTP endpoint such as Marquez's API) or ETL_OPENLINEAGE_FILE (JSON lines) is set.
import { resolve } from 'node:path';
import { EtlError } from '../errors.js';

export interface OpenLineageTarget {
  /** Where each event is POSTed: ETL_OPENLINEAGE_URL followed by /api/v1/lineage. */
  endpoint?: string;
  /** ETL_OPENLINEAGE_API_KEY, sent as `Authorization: Bearer`: never printed. */
  apiKey?: string;
  /** ETL_OPENLINEAGE_FILE, made absolute: each event is appended as a line of JSON. */
  file?: string;
}

/** The path of the lineage API on an OpenLineage server (Marquez's, and the spec's OpenAPI). */
export const LINEAGE_PATH = '/api/v1/lineage';

/** The target the environment asks for, or undefined (off); a URL that cannot be used is a usage error. */
export function openLineageTarget(env: Record<string, string | undefined>, cwd: string): OpenLineageTarget | undefined {
  const url = env.ETL_OPENLINEAGE_URL?.trim() || undefined;
  const file = env.ETL_OPENLINEAGE_FILE?.trim() || undefined;
  if (url === undefined && file === undefined) return undefined;
  const target: OpenLineageTarget = {};
  if (url !== undefined) {
    target.endpoint = lineageEndpoint(url);
    const apiKey = env.ETL_OPENLINEAGE_API_KEY?.trim();
    if (apiKey) target.apiKey = apiKey;
  }
  if (file !== undefined) target.file = resolve(cwd, file);
  return target;
}

/**
 * ETL_OPENLINEAGE_URL as the endpoint to POST to: http(s) only, without a user name or
 * password (the key goes in ETL_OPENLINEAGE_API_KEY). What is wrong is said with the host only.
 */
export function lineageEndpoint(value: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value))
    throw new EtlError(
      'usage',
      'ETL_OPENLINEAGE_URL has no http:// or https:// in front: expected the address of an OpenLineage server, such as http://localhost:5000',
    );
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new EtlError(
      'usage',
      'ETL_OPENLINEAGE_URL is not a URL: expected the http(s) address of an OpenLineage server, such as http://localhost:5000',
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new EtlError(
      'usage',
      `ETL_OPENLINEAGE_URL is a ${url.protocol} URL (to ${url.host || 'no host'}): expected http:// or https://`,
    );
  if (url.username || url.password)
    throw new EtlError(
      'usage',
      `ETL_OPENLINEAGE_URL (to ${url.host}) has a user name or password in it (before an "@"): refused, as it would be sent and shown with the URL; give the key in ETL_OPENLINEAGE_API_KEY`,
    );
  // The server's address, or the endpoint itself: both are taken.
  const path = url.pathname.replace(/\/+$/, '');
  url.pathname = path.endsWith(LINEAGE_PATH) ? path : `${path}${LINEAGE_PATH}`;
  return url.href;
}
