import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseYamlSource } from '../../src/definitions/yaml-source.js';

test('YAML 1.2: None, yes and on stay strings; null and ~ are null', () => {
  const source = parseYamlSource('input: None\noutput: ~\nconf: null\nflag: yes\non: push\n');
  assert.deepEqual(source.data, { input: 'None', output: null, conf: null, flag: 'yes', on: 'push' });
});

test('keys and values are located, and a key without a value points at the key', () => {
  const source = parseYamlSource('steps:\n  - module_name: extract\n    input:\n');
  assert.deepEqual(source.locate('/steps/0/module_name'), { line: 2, column: 18 });
  assert.deepEqual(source.locate('/steps/0/module_name', 'key'), { line: 2, column: 5 });
  assert.deepEqual(source.locate('/steps/0/input'), { line: 3, column: 5 });
});

test('anchors and aliases resolve', () => {
  const source = parseYamlSource('env: &e\n  A: "1"\nsteps:\n  - module_name: x\n    env: *e\n');
  assert.deepEqual((source.data as { steps: Array<{ env: unknown }> }).steps[0]!.env, { A: '1' });
});

test('an empty file or one with only comments is null, not an error', () => {
  assert.deepEqual(parseYamlSource('').problems, []);
  assert.equal(parseYamlSource('# nothing yet\n').data, null);
});

test('a billion-laughs alias bomb is refused, not expanded', () => {
  const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 9; i++)
    lines.push(
      `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
        .fill(`*${String.fromCharCode(96 + i)}`)
        .join(',')}]`,
    );
  const source = parseYamlSource(`${lines.join('\n')}\n`);
  assert.equal(source.data, undefined);
  assert.equal(source.problems[0]?.code, 'syntax-error');
});
