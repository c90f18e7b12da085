// Regenerates schemas/*.json from the zod definitions: `npm run schemas`.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderJsonSchema } from './json-schema.js';
import { schemaFiles } from './schema-files.js';

const schemasDir = fileURLToPath(new URL('../../../schemas/', import.meta.url));
for (const entry of schemaFiles) {
  writeFileSync(schemasDir + entry.file, renderJsonSchema(entry));
  console.log(`wrote schemas/${entry.file}`);
}
