// Compiles the committed schemas/*.json into one CommonJS module of standalone ajv
// validators, so the CLI validates without loading zod or compiling schemas at start-up
// (importing it takes a few milliseconds; compiling takes a few hundred).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { schemaFiles } from './schema-files.js';

const schemasDir = fileURLToPath(new URL('../../../schemas/', import.meta.url));
const output = fileURLToPath(new URL('../definitions/validators.cjs', import.meta.url));

// verbose: errors carry their schema, so messages can list the keys a typo was meant to be.
const ajv = new Ajv2020({
  allErrors: true,
  verbose: true,
  strict: true,
  allowUnionTypes: true,
  code: { source: true },
});
const exports: Record<string, string> = {};
for (const entry of schemaFiles) {
  ajv.addSchema(JSON.parse(readFileSync(schemasDir + entry.file, 'utf8')), entry.file);
  for (const [name, pointer] of Object.entries(entry.validators)) {
    exports[name] = pointer === '' ? entry.file : `${entry.file}#${pointer}`;
  }
}
const standalone = (standaloneCode as unknown as { default: (a: Ajv2020, e: Record<string, string>) => string })
  .default;
writeFileSync(output, standalone(ajv, exports));
