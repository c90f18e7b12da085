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
  const parser = new JsonParser(text, positions);
  let data: unknown;
  try {
    data = parser.parseDocument();
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    // A syntax error makes everything else about the file moot.
    const problem = { code: 'syntax-error' as const, message: `invalid JSON: ${error.message}` };
    return { data: undefined, problems: [{ ...problem, ...offsetToPosition(text, error.offset) }] };
  }
  return { data, problems: parser.problems };
}

const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

type Position = { line: number; column: number };

/** One pass over a JSON text, which knows where it is (line and column) at every point. */
class JsonParser {
  readonly problems: ParseProblem[] = [];
  private pos = 0;
  private line = 1;
  private lineStart = 0;
  /** A definition nests a few levels; thousands would overflow the stack of a recursive parser. */
  private depth = 0;

  constructor(
    private readonly text: string,
    private readonly positions: Map<string, NodePosition> | undefined,
  ) {}

  parseDocument(): unknown {
    const data = this.parseValue('');
    this.skipWhitespace();
    if (this.pos < this.text.length) this.fail('the end of the file after the top-level value');
    return data;
  }

  private here(offset = this.pos): Position {
    return { line: this.line, column: offset - this.lineStart + 1 };
  }

  private fail(expected: string, offset = this.pos): never {
    const found = offset >= this.text.length ? 'the end of the file' : JSON.stringify(this.text[offset]);
    throw new JsonSyntaxError(`expected ${expected}, found ${found}`, offset);
  }

  private skipWhitespace(): void {
    const { text } = this;
    for (;;) {
      const c = text.charCodeAt(this.pos);
      if (c === 0x0a) {
        this.pos++;
        this.line++;
        this.lineStart = this.pos;
      } else if (c === 0x20 || c === 0x09 || c === 0x0d) {
        this.pos++;
      } else if (c === 0x2f && (text[this.pos + 1] === '/' || text[this.pos + 1] === '*')) {
        throw new JsonSyntaxError('comments are not allowed in JSON', this.pos);
      } else {
        return;
      }
    }
  }

  private parseString(): string {
    const { text } = this;
    const start = this.pos;
    this.pos++; // opening quote
    let out = '';
    let chunk = this.pos;
    for (;;) {
      const c = text.charCodeAt(this.pos);
      if (Number.isNaN(c)) throw new JsonSyntaxError('unterminated string', start);
      if (c === 0x22) {
        out += text.slice(chunk, this.pos);
        this.pos++;
        return out;
      }
      if (c < 0x20)
        throw new JsonSyntaxError('unterminated string (control character or line break inside it)', this.pos);
      if (c === 0x5c) {
        out += text.slice(chunk, this.pos) + this.parseEscape();
        chunk = this.pos;
        continue;
      }
      this.pos++;
    }
  }

  /** The character a backslash escape stands for; moves past it. */
  private parseEscape(): string {
    const { text, pos } = this;
    const e = text[pos + 1];
    if (e !== undefined && e in ESCAPES) {
      this.pos += 2;
      return ESCAPES[e]!;
    }
    if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(pos + 2, pos + 6))) {
      this.pos += 6;
      return String.fromCharCode(parseInt(text.slice(pos + 2, pos + 6), 16));
    }
    throw new JsonSyntaxError(`invalid escape sequence "\\${e ?? ''}" in string`, pos);
  }

  private parseValue(pointer: string, key?: Position): unknown {
    if (++this.depth > MAX_NESTING) throw new JsonSyntaxError(`nesting deeper than ${MAX_NESTING} levels`, this.pos);
    try {
      this.skipWhitespace();
      this.positions?.set(pointer, key ? { key, value: this.here() } : { value: this.here() });
      const c = this.text[this.pos];
      if (c === '{') return this.parseObject(pointer);
      if (c === '[') return this.parseArray(pointer);
      if (c === '"') return this.parseString();
      return this.parseLiteral(c);
    } finally {
      this.depth--;
    }
  }

  private parseObject(pointer: string): Record<string, unknown> {
    const { text } = this;
    this.pos++;
    const object: Record<string, unknown> = {};
    this.skipWhitespace();
    if (text[this.pos] === '}') {
      this.pos++;
      return object;
    }
    for (;;) {
      this.skipWhitespace();
      if (text[this.pos] !== '"')
        this.fail(
          text[this.pos] === '}'
            ? 'another key after the comma (trailing commas are not allowed)'
            : 'a key in double quotes',
        );
      const keyAt = this.here();
      const name = this.parseString();
      this.skipWhitespace();
      if (text[this.pos] !== ':') this.fail(`":" after the key "${name}"`);
      this.pos++;
      if (Object.hasOwn(object, name)) {
        this.problems.push({
          code: 'duplicate-key',
          message: `duplicate key "${name}" (JSON keeps only the last one)`,
          ...keyAt,
        });
      }
      const value = this.parseValue(this.positions ? `${pointer}/${pointerSegment(name)}` : '', keyAt);
      // defineProperty: a key named "__proto__" stays a plain key, as in JSON.parse.
      Object.defineProperty(object, name, { value, enumerable: true, writable: true, configurable: true });
      if (this.endOfList('}')) return object;
    }
  }

  private parseArray(pointer: string): unknown[] {
    this.pos++;
    const array: unknown[] = [];
    this.skipWhitespace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return array;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] === ']') this.fail('a value after the comma (trailing commas are not allowed)');
      array.push(this.parseValue(this.positions ? `${pointer}/${array.length}` : ''));
      if (this.endOfList(']')) return array;
    }
  }

  /** After an object's member or an array's item: true at its closing bracket, false after a comma. */
  private endOfList(closing: '}' | ']'): boolean {
    this.skipWhitespace();
    const c = this.text[this.pos];
    if (c === ',' || c === closing) {
      this.pos++;
      return c === closing;
    }
    return this.fail(`"," or "${closing}"`);
  }

  private parseLiteral(c: string | undefined): unknown {
    LITERAL.lastIndex = this.pos;
    const literal = LITERAL.exec(this.text);
    if (literal) {
      this.pos += literal[0].length;
      const words: Record<string, unknown> = { true: true, false: false, null: null };
      return literal[0] in words ? words[literal[0]] : Number(literal[0]);
    }
    if (c === "'") return this.fail('a string in double quotes (JSON does not allow single quotes)');
    return this.fail('a value (an object, array, string, number, true, false or null)');
  }
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
