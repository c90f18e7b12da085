import { createRequire } from 'node:module';
import type { Node } from 'yaml';
import { MAX_NESTING } from './json-source.js';
import { readSimpleYaml } from './yaml-fast.js';
import { makeLocator, pointerSegment, type NodePosition, type ParsedSource, type ParseProblem } from './source.js';

let yamlLoaded: typeof import('yaml') | undefined;

/** The `yaml` package, loaded on first use: most YAML definitions never need it (yaml-fast.ts). */
function yamlModule(): typeof import('yaml') {
  yamlLoaded ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yamlLoaded;
}

/**
 * A YAML definition file: read by the fast reader when it is plain enough, its positions
 * worked out by the full parser only if a message needs one.
 */
export function readYamlSource(text: string): ParsedSource {
  const simple = readSimpleYaml(text);
  if (!simple) return parseYamlSource(text);
  let full: ParsedSource | undefined;
  return {
    data: simple.value,
    problems: [],
    locate: (pointer, part) => {
      full ??= parseYamlSource(text);
      return full.locate(pointer, part);
    },
  };
}

/** Parses YAML 1.2 (so `on`, `yes` and `None` stay strings) keeping every node's position. */
export function parseYamlSource(text: string): ParsedSource {
  const { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments } = yamlModule();
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const positions = new Map<string, NodePosition>();
  const at = (offset: number | undefined) => {
    const { line, col } = lineCounter.linePos(offset ?? 0);
    return { line, column: col };
  };
  const fail = (problem: ParseProblem): ParsedSource => ({
    data: undefined,
    problems: [problem],
    locate: makeLocator(positions),
  });

  if (!Array.isArray(documents)) {
    // Only comments or nothing at all: an empty document.
    return { data: null, problems: [], locate: makeLocator(positions) };
  }
  if (documents.length > 1) {
    return fail({
      code: 'syntax-error',
      message: 'the file must hold one YAML document, found a second "---"',
      ...at(documents[1]!.range[0]),
    });
  }
  const document = documents[0];
  if (!document) return { data: null, problems: [], locate: makeLocator(positions) };

  const problems: ParseProblem[] = [];
  for (const error of document.errors) {
    const duplicate = error.code === 'DUPLICATE_KEY';
    problems.push({
      code: duplicate ? 'duplicate-key' : 'syntax-error',
      message: duplicate
        ? `duplicate key "${keyAt(text, error.pos[0])}" (each key may appear once in a mapping)`
        : /call stack/.test(error.message)
          ? 'invalid YAML: nesting too deep to parse'
          : `invalid YAML: ${firstLine(error.message)}`,
      ...at(error.pos[0]),
    });
  }
  if (problems.some((p) => p.code === 'syntax-error'))
    return {
      data: undefined,
      problems: problems.filter((p) => p.code === 'syntax-error').slice(0, 1),
      locate: makeLocator(positions),
    };

  const walk = (node: unknown, pointer: string, key?: NodePosition['key'], depth = 0): void => {
    const value = at((node as Node | null)?.range?.[0]);
    if (depth > MAX_NESTING) throw new TooDeep(value);
    positions.set(pointer, key ? { key, value } : { value });
    if (isAlias(node)) return;
    if (isMap(node)) {
      for (const pair of node.items) {
        const keyNode = pair.key;
        const name = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
        const keyPosition = at((keyNode as Node | null)?.range?.[0]);
        // A key with no value (`input:`) has no node, or an empty one: point at the key.
        const value = pair.value as Node | null;
        if (value == null || (isScalar(value) && value.range?.[0] === value.range?.[1]))
          positions.set(`${pointer}/${pointerSegment(name)}`, { key: keyPosition, value: keyPosition });
        else walk(pair.value, `${pointer}/${pointerSegment(name)}`, keyPosition, depth + 1);
      }
    } else if (isSeq(node)) {
      for (const [index, item] of node.items.entries()) walk(item, `${pointer}/${index}`, undefined, depth + 1);
    }
  };
  try {
    walk(document.contents, '');
  } catch (error) {
    if (!(error instanceof TooDeep)) throw error;
    return fail({ code: 'syntax-error', message: `nesting deeper than ${MAX_NESTING} levels`, ...error.at });
  }

  let data: unknown;
  try {
    data = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return fail({
      code: 'syntax-error',
      message: `invalid YAML: ${firstLine((error as Error).message)}`,
      line: 1,
      column: 1,
    });
  }
  return { data, problems, locate: makeLocator(positions) };
}

class TooDeep extends Error {
  constructor(readonly at: { line: number; column: number }) {
    super('too deep');
  }
}

/** The plain or quoted key that starts at an offset, for naming it in a message. */
function keyAt(text: string, offset: number): string {
  const rest = text.slice(offset, offset + 200);
  const quoted = /^(["'])(.*?)\1/.exec(rest);
  return quoted ? quoted[2]! : (/^[^:\n]*/.exec(rest)?.[0] ?? '').trim();
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}
