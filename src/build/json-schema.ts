import { z } from 'zod';
import type { SchemaFile } from './schema-files.js';

/** The JSON Schema text committed in schemas/ for one zod schema. */
export function renderJsonSchema(entry: SchemaFile): string {
  // io "input": what a user may write (optional keys stay optional).
  const json = z.toJSONSchema(entry.schema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'throw' });
  return `${JSON.stringify(json, null, 2)}\n`;
}
