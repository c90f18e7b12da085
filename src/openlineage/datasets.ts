// A step's input, config and output as OpenLineage datasets, named as the spec's naming
// conventions say: a local path is namespace "file" and its absolute path; a URL or database
// URI is its scheme and host, and the path after it (s3://bucket/key -> "s3://bucket", "key").
// A user name, password, query or fragment in a URL is left out: it identifies no dataset and
// often holds a credential.
import { resolve } from 'node:path';
import { isExternal } from '../runner/lineage.js';
import type { Artifact, StepRecord } from '../runner/records.js';
import type { EtlLedgerContentDatasetFacet } from './facets.js';
import { FACET_SCHEMAS, facet, OWN_FACET_SCHEMAS } from './spec.js';

type Facet = { _producer: string; _schemaURL: string };

export interface InputDataset {
  namespace: string;
  name: string;
  facets?: Record<string, Facet>;
  inputFacets?: Record<string, Facet>;
}

export interface OutputDataset {
  namespace: string;
  name: string;
  facets?: Record<string, Facet>;
  outputFacets?: Record<string, Facet>;
}

/** The namespace and name of a path or URL as a step was given it; `root` is where the step ran. */
export function datasetName(value: string, root: string): { namespace: string; name: string } {
  if (!isExternal(value)) return { namespace: 'file', name: resolve(root, value) };
  const scheme = value.slice(0, value.indexOf(':')).toLowerCase();
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    // not a URL the WHATWG parser takes: the scheme, and the rest as given
  }
  if (url?.protocol === 'file:') return { namespace: 'file', name: url.pathname };
  if (!url?.host) return { namespace: scheme, name: withoutCredentials(value.slice(scheme.length + 1)) || '/' };
  return { namespace: `${url.protocol}//${url.host}`, name: url.pathname.replace(/^\//, '') || '/' };
}

/**
 * What follows the scheme of a URL the parser does not take (jdbc:postgresql://…, a port that
 * is not a number), as a dataset's name: never its query, nor a user or password before an
 * "@" (up to the last one: a password may hold one).
 */
function withoutCredentials(rest: string): string {
  return rest
    .replace(/[?#][\s\S]*$/, '')
    .replace(/^((?:[A-Za-z][A-Za-z0-9+.-]*:)?\/\/)?[\s\S]*@/, '$1')
    .replace(/^\/\//, '');
}

/**
 * The datasets a step read (its input and config) and wrote (its output). `withContent`: the
 * hashes its record's lineage holds, as facets (a step's end); without, the names only (its start,
 * when nothing is hashed yet).
 */
export function stepDatasets(
  step: StepRecord,
  root: string,
  withContent: boolean,
): { inputs: InputDataset[]; outputs: OutputDataset[] } {
  const lineage = withContent ? step.lineage : undefined;
  const inputs = (['input', 'config'] as const).flatMap((key) => {
    const value = step[key];
    if (value === null) return [];
    const content = lineage?.[key];
    const inputFacets = statistics('inputStatistics', content);
    return [{ ...datasetName(value, root), ...contentFacets(content), ...(inputFacets && { inputFacets }) }];
  });
  if (step.output === null) return { inputs, outputs: [] };
  const outputFacets = statistics('outputStatistics', lineage?.output);
  const output = {
    ...datasetName(step.output, root),
    ...contentFacets(lineage?.output),
    ...(outputFacets && { outputFacets }),
  };
  return { inputs, outputs: [output] };
}

/**
 * What the ledger knows of a local dataset's content: the standard `version` facet holds its
 * sha256 (a folder's: of its manifest), and etl-ledger's `etlLedger_content` the rest. A URL
 * or database, never read, has none.
 */
function contentFacets(artifact: Artifact | null | undefined): { facets?: Record<string, Facet> } {
  if (!artifact || artifact.kind === 'external') return {};
  const { path: _path, ...known } = artifact;
  const content: EtlLedgerContentDatasetFacet = facet(OWN_FACET_SCHEMAS.etlLedger_content, known);
  return {
    facets: {
      ...(artifact.sha256 === undefined
        ? {}
        : { version: facet(FACET_SCHEMAS.version, { datasetVersion: artifact.sha256 }) }),
      etlLedger_content: content,
    },
  };
}

/** The bytes and files read or written, as the spec's statistics facets say them. */
function statistics(
  name: 'inputStatistics' | 'outputStatistics',
  artifact: Artifact | null | undefined,
): Record<string, Facet> | undefined {
  if (artifact?.size === undefined) return undefined;
  return { [name]: facet(FACET_SCHEMAS[name], { size: artifact.size, fileCount: artifact.files ?? 1 }) };
}
