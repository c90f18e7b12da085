import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { renderJsonSchema } from '../../src/build/json-schema.js';
import { schemaFiles } from '../../src/build/schema-files.js';
import { ROOT } from '../helpers/repo.js';

for (const entry of schemaFiles) {
  test(`schemas/${entry.file} is what the zod definitions generate (run "npm run schemas" if not)`, () => {
    const committed = readFileSync(join(ROOT, 'schemas', entry.file), 'utf8');
    assert.equal(committed, renderJsonSchema(entry));
  });

  test(`schemas/${entry.file} is a valid draft 2020-12 schema that ajv compiles strictly`, () => {
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true });
    assert.doesNotThrow(() => ajv.compile(JSON.parse(readFileSync(join(ROOT, 'schemas', entry.file), 'utf8'))));
  });
}

test('the committed schemas accept the bundled example definitions', () => {
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true });
  const load = (path: string) => JSON.parse(readFileSync(join(ROOT, path), 'utf8'));
  assert.equal(ajv.validate(load('schemas/modules.schema.json'), load('modules.json')), true, ajv.errorsText());
  assert.equal(
    ajv.validate(load('schemas/sequence.schema.json'), load('etl_sequences/air-quality.json')),
    true,
    ajv.errorsText(),
  );
});
