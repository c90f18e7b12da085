// etl-ledger's own OpenLineage facets, for what the standard ones do not say: a step's metrics
// (ETL_METRICS) and what the ledger knows of a dataset's content. Build time only (this file
// loads zod): schemas/openlineage-facets.schema.json is generated from it, and the events use
// its types.
import { z } from 'zod';
import { Artifact } from '../runner/records.js';

const Base = {
  _producer: z.string().describe('URI identifying the producer of this metadata'),
  _schemaURL: z.string().describe('The JSON Pointer URL of this facet schema'),
};

export const EtlLedgerMetricsRunFacet = z
  .strictObject({
    ...Base,
    metrics: z
      .record(z.string(), z.union([z.number(), z.string()]))
      .describe('What the step wrote to ETL_METRICS (its last attempt): key -> number or text'),
  })
  .meta({ id: 'EtlLedgerMetricsRunFacet', description: "A step's metrics" });

export const EtlLedgerContentDatasetFacet = Artifact.omit({ path: true }).extend(Base).meta({
  id: 'EtlLedgerContentDatasetFacet',
  description: "A local file or folder as the step record's lineage has it: its kind, size and sha256",
});

/** The file: as the spec's facet files, an object whose properties are the facets by their keys. */
export const OpenLineageFacets = z
  .strictObject({
    etlLedger_metrics: EtlLedgerMetricsRunFacet.optional(),
    etlLedger_content: EtlLedgerContentDatasetFacet.optional(),
  })
  .meta({ title: "etl-ledger's OpenLineage facets" });

export type EtlLedgerMetricsRunFacet = z.infer<typeof EtlLedgerMetricsRunFacet>;
export type EtlLedgerContentDatasetFacet = z.infer<typeof EtlLedgerContentDatasetFacet>;
