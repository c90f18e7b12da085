// Which zod schema becomes which file in schemas/, and which parts of them the runtime
// validators check. Build time only: this file loads zod.
import type { z } from 'zod';
import { ModulesFile, SequenceFile } from '../definitions/schema.js';
import { OpenLineageFacets } from '../openlineage/facets.js';
import { RunRecord, StepRecord } from '../runner/records.js';
import { ApiAnswer } from '../ui/api-types.js';

export interface SchemaFile {
  file: string;
  schema: z.ZodType;
  /** Validator name -> JSON pointer inside the file ('' for the whole file). */
  validators: Record<string, string>;
}

export const schemaFiles: SchemaFile[] = [
  { file: 'modules.schema.json', schema: ModulesFile, validators: { modulesFile: '' } },
  {
    file: 'sequence.schema.json',
    schema: SequenceFile,
    validators: { stepList: '/$defs/StepList', sequenceObject: '/$defs/SequenceObject' },
  },
  { file: 'run.schema.json', schema: RunRecord, validators: { runRecord: '' } },
  { file: 'step.schema.json', schema: StepRecord, validators: { stepRecord: '' } },
  // What `etl ui` answers: the pages' types; no validator (the server writes these, it does not read them).
  { file: 'api.schema.json', schema: ApiAnswer, validators: {} },
  // The OpenLineage facets of etl-ledger's own, which the events' _schemaURL point to; no validator.
  { file: 'openlineage-facets.schema.json', schema: OpenLineageFacets, validators: {} },
];
