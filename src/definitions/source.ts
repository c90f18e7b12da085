/** 1-based, as editors and GitHub annotations count. */
export interface Position {
  line: number;
  column: number;
}

/** A syntax error or duplicate key found while parsing. */
export interface ParseProblem extends Position {
  code: 'syntax-error' | 'duplicate-key';
  message: string;
}

/** A parsed definition file that can say where any value in it came from. */
export interface ParsedSource {
  /** undefined when the file could not be parsed at all. */
  data: unknown;
  problems: ParseProblem[];
  /** Where the value (or its key) at a JSON pointer is, falling back to the nearest parent. */
  locate(pointer: string, part?: 'key' | 'value'): Position;
}

export interface NodePosition {
  key?: Position;
  value: Position;
}

/** JSON pointer segment escaping, the way ajv writes instancePath. */
export function pointerSegment(key: string | number): string {
  return typeof key === 'number' ? String(key) : key.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function makeLocator(positions: Map<string, NodePosition>): ParsedSource['locate'] {
  return (pointer, part = 'value') => {
    for (let p = pointer; ; p = p.slice(0, p.lastIndexOf('/'))) {
      const node = positions.get(p);
      if (node) return (part === 'key' && p === pointer && node.key) || node.value;
      if (p === '') return { line: 1, column: 1 };
    }
  };
}
