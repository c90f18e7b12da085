// Which OpenLineage schemas the events follow, each by the URL the spec gives it (the `$id` of
// the copies in test/fixtures/openlineage/, which the tests validate every event against).

/** Who made the events (`producer`, and each facet's `_producer`). */
export const PRODUCER = 'https://github.com/etl-ledger/etl-ledger';

const SPEC = 'https://openlineage.io/spec';

export const RUN_EVENT_SCHEMA = `${SPEC}/2-0-2/OpenLineage.json#/$defs/RunEvent`;

/** The standard facets used, each at the version the fixtures hold. */
export const FACET_SCHEMAS = {
  parent: `${SPEC}/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet`,
  errorMessage: `${SPEC}/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet`,
  nominalTime: `${SPEC}/facets/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet`,
  processing_engine: `${SPEC}/facets/1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet`,
  jobType: `${SPEC}/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet`,
  version: `${SPEC}/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet`,
  inputStatistics: `${SPEC}/facets/1-0-0/InputStatisticsInputDatasetFacet.json#/$defs/InputStatisticsInputDatasetFacet`,
  outputStatistics: `${SPEC}/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet`,
} as const;

/** etl-ledger's own facets (src/openlineage/facets.ts), described by schemas/openlineage-facets.schema.json. */
const OWN = `${PRODUCER}/blob/main/schemas/openlineage-facets.schema.json#/$defs`;
export const OWN_FACET_SCHEMAS = {
  etlLedger_metrics: `${OWN}/EtlLedgerMetricsRunFacet`,
  etlLedger_content: `${OWN}/EtlLedgerContentDatasetFacet`,
} as const;

/** A facet: its fields, with the producer and the schema that describes it. */
export function facet<T extends object>(schemaURL: string, fields: T): T & { _producer: string; _schemaURL: string } {
  return { _producer: PRODUCER, _schemaURL: schemaURL, ...fields };
}
