import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { readSimpleYaml } from '../../src/definitions/yaml-fast.js';
import { readYamlSource } from '../../src/definitions/yaml-source.js';
import { ROOT } from '../helpers/repo.js';

/** What the fast reader must read the way `yaml` does (or give up on). */
const CORPUS = [
  'description: daily extract\nschedule: "0 3 * * *"\ntimezone: Europe/Madrid\ntimeout: 1h\nsteps:\n  - module_name: extract\n    input: data/in.csv\n    output: ""\n  - module_name: load # the end\n    conf: conf/load.json\n',
  '- module_name: a\n  input: s3://bucket/key\n- module_name: b\n  retries: 3\n  timeout: 90s\n',
  'steps:\n- module_name: a\n- module_name: b\non_failure:\n- module_name: alert\n',
  'name: \'it\'\'s\'\nother: "a \\"quoted\\" \\\\ value"\n',
  'a: ~\nb: null\nc: Null\nd: true\ne: False\nf: -12\ng: 0\nh:\n',
  'on: yes\nno: off\nNone: None\n',
  // One value per document: a value the reader gives up on would hide the others.
  ...['007', '+5', '0x1f', '0o7', '1.5', '.5', '1.', '.inf', '1e3', '-.INF', '.NaN', '-0', '12345678901234567890'].map(
    (value) => `a: ${value}\n`,
  ),
  ...['0 3 * * *', '1h', '2026-12-01', '12:30', '1_000', '-foo', 'x:y', 'a # b', 'a#b', "it's", '"q"x'].map(
    (value) => `a: ${value}\n`,
  ),
  'a: [1, 2]\nb: {c: d}\nc: &x v\nd: *x\ne: !!str 5\n',
  'a: |\n  block\nb: >-\n  folded\n',
  'a: plain\n  continued\n',
  'a: b: c\n',
  'a: 1\na: 2\n',
  '---\na: 1\n---\nb: 2\n',
  '"quoted key": 1\n\'single\': 2\n',
  'a:\n  - 1\n  -\n    b: 2\n  - - nested\n',
  'key with spaces: value with # not a comment\nx: y #comment\n',
  '\ta: 1\n',
  'a: "unterminated\n',
  'a: "\\u00e9"\n',
  '# only a comment\n',
  '',
  'a: b\r\nc: d\r\n',
  'true: 1\n1: 2\nnull: 3\n',
  '- a\n- -b\n- "-"\n- ?x\n- :y\n',
  'a: http://example.org/x?y=1#frag\nb: x:y\n',
  'a:\n    deep:\n        deeper: 1\n    back: 2\n',
  'a: 1\n b: 2\n',
  '%YAML 1.2\n---\na: 1\n',
];

function yamlValue(text: string): { ok: boolean; value?: unknown } {
  const documents = parseAllDocuments(text);
  if (!Array.isArray(documents)) return { ok: true, value: null };
  if (documents.length > 1 || documents.some((d) => d.errors.length)) return { ok: false };
  return { ok: true, value: parseYaml(text, { uniqueKeys: true }) ?? null };
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => join(dir, f));
}

test('the fast YAML reader returns what yaml returns, or gives up', () => {
  const files = [...yamlFiles(join(ROOT, 'test/fixtures')), ...yamlFiles(join(ROOT, 'etl_sequences'))];
  const texts = [...CORPUS, ...files.map((f) => readFileSync(f, 'utf8'))];
  let read = 0;
  for (const text of texts) {
    const fast = readSimpleYaml(text);
    if (!fast) continue;
    read++;
    const full = yamlValue(text);
    assert.ok(full.ok, `the fast reader accepted what yaml rejects:\n${text}`);
    assert.deepEqual(fast.value, full.value, text);
  }
  // It must not give up on the forms definitions are written in.
  for (const common of CORPUS.slice(0, 3)) assert.ok(readSimpleYaml(common), common);
  assert.ok(read >= 10, `read ${read} of ${texts.length}`);
});

test('a YAML file read fast still locates its values exactly, through the full parser', () => {
  const text = 'steps:\n  - module_name: extract\n    retries: many\n';
  const source = readYamlSource(text);
  assert.deepEqual(source.data, { steps: [{ module_name: 'extract', retries: 'many' }] });
  assert.deepEqual(source.locate('/steps/0/retries'), { line: 3, column: 14 });
  assert.deepEqual(source.locate('/steps/0/retries', 'key'), { line: 3, column: 5 });
});
