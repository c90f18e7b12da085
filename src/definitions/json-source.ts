import { makeLocator, pointerSegment, type NodePosition, type ParsedSource, type ParseProblem } from './source.js';

class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/**
 * A strict JSON parser that reports duplicate keys (JSON.parse silently keeps the last one)
 * and can say where every key and value starts. Positions are recorded only when first
 * asked for, by parsing again: most files have no problem to locate.
 */
export function parseJsonSource(input: string): ParsedSource {
  // Editors do not count a byte order mark as a column.
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const fast = parseFast(text);
  const { data, problems } = fast === SLOW ? parse(text, undefined) : { data: fast, problems: [] };
  let locate: ParsedSource['locate'] | undefined;
  return {
    data,
    problems,
    locate(pointer, part) {
      if (!locate) {
        const positions = new Map<string, NodePosition>();
        parse(text, positions);
        locate = makeLocator(positions);
      }
      return locate(pointer, part);
    },
  };
}

const SLOW = Symbol('slow');

/**
 * JSON.parse, for a file that parses and has no duplicate key (nearly every file): several
 * times faster than parse() below, which is left the files with something to report. A
 * duplicate key shows as fewer keys in the data than before colons in the text.
 */
function parseFast(text: string): unknown {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return SLOW;
  }
  const keys = countKeys(data, 1);
  if (keys === -1) return SLOW;
  // Valid JSON: every quote opens or closes a string, and a key is a string before a colon.
  let inText = 0;
  const strings = /"(?:[^"\\]|\\.)*"(\s*:)?/g;
  for (let match = strings.exec(text); match; match = strings.exec(text)) if (match[1] !== undefined) inText++;
  return keys === inText ? data : SLOW;
}

/** The keys of every object in a parsed value, or -1 when it nests too deep (parse() says where). */
function countKeys(value: unknown, depth: number): number {
  if (value === null || typeof value !== 'object') return 0;
  if (depth >= MAX_NESTING - 1) return -1;
  let count = 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  if (!Array.isArray(value)) count += children.length;
  for (const child of children) {
    const inner = countKeys(child, depth + 1);
    if (inner === -1) return -1;
    count += inner;
  }
  return count;
}

const LITERAL = /true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** Deeper nesting is refused as a syntax error (no definition comes near it). */
export const MAX_NESTING = 200;

function parse(
  text: string,
  positions: Map<string, NodePosition> | undefined,
): { data: unknown; problems: ParseProblem[] } {
  const problems: ParseProblem[] = [];
  let pos = 0;
  let line = 1;
  let lineStart = 0;

  const here = (offset = pos) => ({ line, column: offset - lineStart + 1 });
  const describe = (offset: number) =>
    offset >= text.length ? 'the end of the file' : `${JSON.stringify(text[offset])}`;
  const fail = (expected: string, offset = pos): never => {
    throw new JsonSyntaxError(`expected ${expected}, found ${describe(offset)}`, offset);
  };

  const skipWhitespace = () => {
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 0x0a) {
        pos++;
        line++;
        lineStart = pos;
      } else if (c === 0x20 || c === 0x09 || c === 0x0d) {
        pos++;
      } else if (c === 0x2f && (text[pos + 1] === '/' || text[pos + 1] === '*')) {
        throw new JsonSyntaxError('comments are not allowed in JSON', pos);
      } else {
        return;
      }
    }
  };

  const parseString = (): string => {
    const start = pos;
    pos++; // opening quote
    let out = '';
    let chunk = pos;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (Number.isNaN(c)) throw new JsonSyntaxError('unterminated string', start);
      if (c === 0x22) {
        out += text.slice(chunk, pos);
        pos++;
        return out;
      }
      if (c < 0x20) throw new JsonSyntaxError('unterminated string (control character or line break inside it)', pos);
      if (c === 0x5c) {
        out += text.slice(chunk, pos);
        const e = text[pos + 1];
        const simple: Record<string, string> = {
          '"': '"',
          '\\': '\\',
          '/': '/',
          b: '\b',
          f: '\f',
          n: '\n',
          r: '\r',
          t: '\t',
        };
        if (e !== undefined && e in simple) {
          out += simple[e];
          pos += 2;
        } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(pos + 2, pos + 6))) {
          out += String.fromCharCode(parseInt(text.slice(pos + 2, pos + 6), 16));
          pos += 6;
        } else {
          throw new JsonSyntaxError(`invalid escape sequence "\\${e ?? ''}" in string`, pos);
        }
        chunk = pos;
        continue;
      }
      pos++;
    }
  };

  // A definition nests a few levels; thousands would overflow the stack of a recursive parser.
  let depth = 0;
  const parseValue = (pointer: string, key?: { line: number; column: number }): unknown => {
    if (++depth > MAX_NESTING) throw new JsonSyntaxError(`nesting deeper than ${MAX_NESTING} levels`, pos);
    try {
      return parseValueAt(pointer, key);
    } finally {
      depth--;
    }
  };

  const parseValueAt = (pointer: string, key?: { line: number; column: number }): unknown => {
    skipWhitespace();
    positions?.set(pointer, key ? { key, value: here() } : { value: here() });
    const c = text[pos];
    if (c === '{') {
      pos++;
      const object: Record<string, unknown> = {};
      skipWhitespace();
      if (text[pos] === '}') {
        pos++;
        return object;
      }
      for (;;) {
        skipWhitespace();
        if (text[pos] !== '"')
          fail(
            text[pos] === '}'
              ? 'another key after the comma (trailing commas are not allowed)'
              : 'a key in double quotes',
          );
        const keyPosition = positions ? here() : undefined;
        const keyOffset = pos;
        const name = parseString();
        skipWhitespace();
        if (text[pos] !== ':') fail(`":" after the key "${name}"`);
        pos++;
        if (Object.hasOwn(object, name)) {
          problems.push({
            code: 'duplicate-key',
            message: `duplicate key "${name}" (JSON keeps only the last one)`,
            line,
            column: keyOffset - lineStart + 1,
          });
        }
        const value = parseValue(positions ? `${pointer}/${pointerSegment(name)}` : '', keyPosition);
        // defineProperty: a key named "__proto__" stays a plain key, as in JSON.parse.
        Object.defineProperty(object, name, { value, enumerable: true, writable: true, configurable: true });
        skipWhitespace();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === '}') {
          pos++;
          return object;
        }
        fail('"," or "}"');
      }
    }
    if (c === '[') {
      pos++;
      const array: unknown[] = [];
      skipWhitespace();
      if (text[pos] === ']') {
        pos++;
        return array;
      }
      for (;;) {
        skipWhitespace();
        if (text[pos] === ']') fail('a value after the comma (trailing commas are not allowed)');
        array.push(parseValue(positions ? `${pointer}/${array.length}` : ''));
        skipWhitespace();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === ']') {
          pos++;
          return array;
        }
        fail('"," or "]"');
      }
    }
    if (c === '"') return parseString();
    LITERAL.lastIndex = pos;
    const literal = LITERAL.exec(text);
    if (literal) {
      pos += literal[0].length;
      return literal[0] === 'true'
        ? true
        : literal[0] === 'false'
          ? false
          : literal[0] === 'null'
            ? null
            : Number(literal[0]);
    }
    if (c === "'") return fail('a string in double quotes (JSON does not allow single quotes)');
    return fail('a value (an object, array, string, number, true, false or null)');
  };

  let data: unknown;
  try {
    data = parseValue('');
    skipWhitespace();
    if (pos < text.length) fail('the end of the file after the top-level value');
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    data = undefined;
    problems.length = 0; // a syntax error makes everything else about the file moot
    problems.push({
      code: 'syntax-error',
      message: `invalid JSON: ${error.message}`,
      ...offsetToPosition(text, error.offset),
    });
  }
  return { data, problems };
}

export function offsetToPosition(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}
