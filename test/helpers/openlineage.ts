// OpenLineage events checked against the spec's own JSON Schema (test/fixtures/openlineage/,
// copied from OpenLineage/OpenLineage: see its README) and etl-ledger's facet schema
// (schemas/openlineage-facets.schema.json): the event, then each facet against its _schemaURL.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { OpenLineageEvent } from '../../src/openlineage/events.js';
import { OWN_FACET_SCHEMAS } from '../../src/openlineage/spec.js';
import { fixture, ROOT } from './repo.js';

const addFormats = (addFormatsModule as unknown as { default: (ajv: Ajv2020) => void }).default ?? addFormatsModule;
const read = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as { $id?: string };

const SPEC = read(fixture('openlineage', 'OpenLineage.json'));
let ajv: Ajv2020 | undefined;

function compiler(): Ajv2020 {
  if (ajv) return ajv;
  // strictRequired off: the spec says an event is not a job event by `not: {required: [job, run]}`.
  ajv = new Ajv2020({ strict: true, strictRequired: false, allowUnionTypes: true, allErrors: true });
  addFormats(ajv);
  // The spec's schemas document fields with "example", which is no JSON Schema keyword.
  ajv.addKeyword('example');
  ajv.addSchema(SPEC);
  const facets = fixture('openlineage', 'facets');
  for (const file of readdirSync(facets)) ajv.addSchema(read(join(facets, file)));
  // etl-ledger's facets, under the address their _schemaURL gives.
  const own = OWN_FACET_SCHEMAS.etlLedger_metrics.split('#')[0]!;
  ajv.addSchema(read(join(ROOT, 'schemas', 'openlineage-facets.schema.json')), own);
  return ajv;
}

/** What is wrong with an event, a line each: none when the spec and every facet's schema take it. */
export function openLineageErrors(event: unknown): string[] {
  const check = compiler();
  const errors: string[] = [];
  if (!check.validate(SPEC.$id!, event)) errors.push(`event: ${check.errorsText()}`);
  const e = event as OpenLineageEvent;
  const groups: Array<[string, Record<string, { _schemaURL: string }> | undefined]> = [
    ['run', e.run?.facets],
    ['job', e.job?.facets],
    ...(e.inputs ?? []).flatMap((d, i) => [
      [`inputs[${i}]`, d.facets],
      [`inputs[${i}].inputFacets`, d.inputFacets],
    ]),
    ...(e.outputs ?? []).flatMap((d, i) => [
      [`outputs[${i}]`, d.facets],
      [`outputs[${i}].outputFacets`, d.outputFacets],
    ]),
  ] as Array<[string, Record<string, { _schemaURL: string }> | undefined]>;
  for (const [where, facets] of groups) {
    for (const [name, facet] of Object.entries(facets ?? {})) {
      const validate = check.getSchema(facet._schemaURL);
      if (!validate) errors.push(`${where}.${name}: no schema at ${facet._schemaURL}`);
      else if (!validate(facet)) errors.push(`${where}.${name}: ${check.errorsText(validate.errors)}`);
    }
  }
  return errors;
}

/** JSON lines (a file transport's, `etl lineage --openlineage`'s) as events, each checked against the schemas. */
export function parseEvents(text: string): OpenLineageEvent[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as OpenLineageEvent);
}

/** The events in a comparable order: sent live, a graph's steps may interleave differently. */
export function sorted(events: OpenLineageEvent[]): string[] {
  return events.map((e) => JSON.stringify(e)).sort();
}
