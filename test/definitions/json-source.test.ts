import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseJsonSource } from '../../src/definitions/json-source.js';

test('values parse as JSON.parse would, including escapes and numbers', () => {
  const text = '{"a": [1, -2.5e3, true, false, null], "b": "q\\"\\\\\\/\\n\\u00e9", "c": {}}';
  assert.deepEqual(parseJsonSource(text).data, JSON.parse(text));
});

test('every key and value is located, 1-based', () => {
  const source = parseJsonSource('[\n  {\n    "module_name": "x",\n    "input": "a"\n  }\n]');
  assert.deepEqual(source.locate('/0/input', 'key'), { line: 4, column: 5 });
  assert.deepEqual(source.locate('/0/input'), { line: 4, column: 14 });
  assert.deepEqual(source.locate('/0'), { line: 2, column: 3 });
  // A pointer that does not exist falls back to its nearest parent.
  assert.deepEqual(source.locate('/0/missing/deeper'), { line: 2, column: 3 });
});

test('a byte order mark is skipped and keys with "/" and "~" are located', () => {
  const source = parseJsonSource('\ufeff{"a/b": {"c~d": 1}}');
  assert.deepEqual(source.data, { 'a/b': { 'c~d': 1 } });
  assert.deepEqual(source.locate('/a~1b/c~0d', 'key'), { line: 1, column: 10 });
});

test('duplicate keys are reported at the second key', () => {
  const source = parseJsonSource('{\n  "a": 1,\n  "a": 2\n}');
  assert.deepEqual(source.problems, [
    { code: 'duplicate-key', message: 'duplicate key "a" (JSON keeps only the last one)', line: 3, column: 3 },
  ]);
});

test('a duplicate key with a line break before its colon is located at the key', () => {
  const source = parseJsonSource('{\n  "a": 1,\n  "a"\n    : 2\n}');
  assert.deepEqual(source.problems, [
    { code: 'duplicate-key', message: 'duplicate key "a" (JSON keeps only the last one)', line: 3, column: 3 },
  ]);
});

test('"__proto__" stays an ordinary key', () => {
  const data = parseJsonSource('{"__proto__": {"polluted": true}}').data as Record<string, unknown>;
  assert.deepEqual(Object.keys(data), ['__proto__']);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

for (const [text, line, column, message] of [
  ['{"a": 1,}', 1, 9, /trailing commas are not allowed/],
  ['[1 2]', 1, 4, /expected "," or "]", found "2"/],
  ["{'a': 1}", 1, 2, /a key in double quotes/],
  ['{"a": "b\n"}', 1, 9, /unterminated string/],
  ['{"a": 1} x', 1, 10, /end of the file after the top-level value/],
  ['', 1, 1, /found the end of the file/],
  ['{"a": tru}', 1, 7, /expected a value/],
  ['{"a": "\\x"}', 1, 8, /invalid escape/],
  ['[\n  1,\n  /* no */ 2\n]', 3, 3, /comments are not allowed/],
] as const) {
  test(`syntax error in ${JSON.stringify(text)} is located at ${line}:${column}`, () => {
    const [problem, ...rest] = parseJsonSource(text).problems;
    assert.equal(rest.length, 0);
    assert.equal(problem?.code, 'syntax-error');
    assert.deepEqual([problem.line, problem.column], [line, column]);
    assert.match(problem.message, message);
  });
}

// Files that parse are read with JSON.parse and their keys counted against the colons after
// strings in the text: a duplicate must still be found wherever it hides.
for (const [text, duplicate] of [
  ['{"a": {"b": 1, "b": 2}}', 'b'],
  ['[{"x": 1}, {"y": "a:b", "y": 3}]', 'y'],
  ['{"k\\"": 1, "k\\"" : 2}', 'k"'],
  ['{"\\\\": ":", "\\\\": "\\":"}', '\\'],
  ['{"__proto__": 1, "__proto__": 2}', '__proto__'],
  ['{"a": [], "b": {}, "a": null}', 'a'],
] as const) {
  test(`duplicate key ${JSON.stringify(duplicate)} found in ${text}`, () => {
    const { problems, data } = parseJsonSource(text);
    assert.deepEqual(
      problems.map((p) => p.message),
      [`duplicate key "${duplicate}" (JSON keeps only the last one)`],
    );
    assert.deepEqual(data, JSON.parse(text));
  });
}

test('strings holding quotes, colons and backslashes are not taken for keys', () => {
  const text = '{"a": "x\\": y", "b": ["\\\\", ":", "\\"\\\\\\":"], "c": {"d": "e:"}}';
  const { data, problems } = parseJsonSource(text);
  assert.deepEqual([data, problems], [JSON.parse(text), []]);
});

test('nesting: 199 levels parse, deeper is a syntax error', () => {
  const nested = (n: number) => `${'['.repeat(n)}1${']'.repeat(n)}`;
  assert.deepEqual(parseJsonSource(nested(199)).problems, []);
  assert.deepEqual(parseJsonSource(nested(199)).data, JSON.parse(nested(199)));
  assert.match(parseJsonSource(nested(200)).problems[0]?.message ?? '', /nesting deeper than 200 levels/);
});
