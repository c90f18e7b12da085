// Where the events go, from the environment: off unless ETL_OPENLINEAGE_URL (an OpenLineage
// HTTP endpoint such as Marquez's API) or ETL_OPENLINEAGE_FILE (JSON lines) is set.
import { resolve } from 'node:path';
import { EtlError } from '../errors.js';
import { type HttpUrlProblem, parseHttpUrl } from '../url-host.js';

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

/** What is wrong with ETL_OPENLINEAGE_URL, after its name; the host only, never the rest. */
function lineageUrlProblem(problem: HttpUrlProblem): string {
  switch (problem.kind) {
    case 'no-scheme':
      return 'has no http:// or https:// in front: expected the address of an OpenLineage server, such as http://localhost:5000';
    case 'not-a-url':
      return 'is not a URL: expected the http(s) address of an OpenLineage server, such as http://localhost:5000';
    case 'not-http':
      return `is a ${problem.protocol} URL (to ${problem.host}): expected http:// or https://`;
    case 'credentials':
      return `(to ${problem.host}) has a user name or password in it (before an "@"): refused, as it would be sent and shown with the URL; give the key in ETL_OPENLINEAGE_API_KEY`;
  }
}

/**
 * ETL_OPENLINEAGE_URL as the endpoint to POST to: http(s) only, without a user name or
 * password (the key goes in ETL_OPENLINEAGE_API_KEY). What is wrong is said with the host only.
 */
export function lineageEndpoint(value: string): string {
  const url = parseHttpUrl(value);
  if (!(url instanceof URL)) throw new EtlError('usage', `ETL_OPENLINEAGE_URL ${lineageUrlProblem(url)}`);
  // The server's address, or the endpoint itself: both are taken.
  const path = url.pathname.replace(/\/+$/, '');
  url.pathname = path.endsWith(LINEAGE_PATH) ? path : `${path}${LINEAGE_PATH}`;
  return url.href;
}
