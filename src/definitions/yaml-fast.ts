// A reader for the YAML that definition files are usually written in (block mappings and
// sequences of plain or quoted one-line scalars, comments), without loading the `yaml`
// package: loading it costs more than reading a whole repository of sequences. Whatever it
// does not know (flow collections, anchors, tags, block or multi-line scalars, several
// documents, duplicate keys, numbers other than plain integers...) makes it give up, and the
// full parser reads the file. It never guesses: when it returns a value, `yaml` (YAML 1.2,
// core schema) returns the same one (test/definitions/yaml-fast.test.ts checks a corpus).

/** The value of a YAML file, or undefined when the full parser must read it. */
export function readSimpleYaml(text: string): { value: unknown } | undefined {
  if (text.charCodeAt(0) === 0xfeff) return undefined; // a byte order mark
  const lines: Array<{ indent: number; text: string }> = [];
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (/^\s*(#.*)?$/.test(line)) continue;
    const indent = line.length - line.trimStart().length;
    if (line.slice(0, indent).includes('\t')) return undefined;
    lines.push({ indent, text: line.slice(indent) });
  }
  if (lines.length === 0) return { value: null };
  if (lines.some((l) => /^(---|\.\.\.)(\s|$)/.test(l.text) || l.text.startsWith('%'))) return undefined;
  try {
    const reader = new BlockReader(lines);
    const value = reader.node(0);
    return reader.done() ? { value } : undefined;
  } catch (error) {
    if (error instanceof GiveUp) return undefined;
    throw error;
  }
}

class GiveUp extends Error {}

const give = (): never => {
  throw new GiveUp();
};

class BlockReader {
  private at = 0;

  constructor(private readonly lines: Array<{ indent: number; text: string }>) {}

  done(): boolean {
    return this.at === this.lines.length;
  }

  /** The block node starting at the current line, indented exactly `indent`. */
  node(indent: number): unknown {
    const line = this.lines[this.at];
    if (!line || line.indent !== indent) return give();
    return line.text === '-' || line.text.startsWith('- ') ? this.sequence(indent) : this.mapping(indent);
  }

  private sequence(indent: number): unknown[] {
    const items: unknown[] = [];
    for (let line = this.lines[this.at]; line && line.indent === indent; line = this.lines[this.at]) {
      // A key at the sequence's indentation ends it ("steps:\n- a\non_failure: ...").
      if (!(line.text === '-' || line.text.startsWith('- '))) break;
      const rest = line.text.slice(1).trimStart();
      if (rest === '') {
        this.at++;
        const next = this.lines[this.at];
        items.push(next && next.indent > indent ? this.node(next.indent) : null);
      } else if (rest.startsWith('- ') || rest === '-') {
        return give(); // a sequence inside a sequence on one line
      } else {
        // "- key: value" opens a mapping whose keys are indented as "key" is.
        const inner = indent + (line.text.length - rest.length);
        if (splitKey(rest)) {
          this.lines[this.at] = { indent: inner, text: rest };
          items.push(this.mapping(inner));
        } else {
          items.push(scalar(rest));
          this.at++;
        }
      }
    }
    return items;
  }

  private mapping(indent: number): Record<string, unknown> {
    const map: Record<string, unknown> = {};
    for (let line = this.lines[this.at]; line && line.indent === indent; line = this.lines[this.at]) {
      const pair = splitKey(line.text) ?? give();
      if (Object.hasOwn(map, pair.key) || pair.key === '__proto__') return give();
      this.at++;
      if (pair.rest === '') {
        const next = this.lines[this.at];
        // A nested block, or a sequence at the key's own indentation ("steps:\n- a").
        if (next && (next.indent > indent || (next.indent === indent && next.text.startsWith('- '))))
          map[pair.key] = this.node(next.indent);
        else map[pair.key] = null;
      } else {
        map[pair.key] = scalar(pair.rest);
      }
    }
    return map;
  }
}

/** "key: rest" (a plain or quoted key), or undefined when the line is not a mapping entry. */
function splitKey(text: string): { key: string; rest: string } | undefined {
  let key: string;
  let after: string;
  if (text.startsWith('"') || text.startsWith("'")) {
    const end = quotedEnd(text);
    if (end === undefined) return undefined;
    key = scalarString(text.slice(0, end));
    after = text.slice(end);
    if (!after.startsWith(':')) return undefined;
  } else {
    const colon = /:(\s|$)/.exec(text);
    if (!colon) return undefined;
    key = text.slice(0, colon.index);
    after = text.slice(colon.index);
    if (!/^[A-Za-z0-9_$][A-Za-z0-9_$.\- ]*$/.test(key) || key.endsWith(' ')) return give();
    // A key YAML would read as null, a boolean or a number.
    if (typeof scalar(key) !== 'string') return give();
  }
  if (after.length > 1 && !/\s/.test(after[1]!)) return give();
  return { key, rest: stripComment(after.slice(1).trim()) };
}

/** Removes a trailing " # comment" from a plain value (quoted values are cut after their quote). */
function stripComment(text: string): string {
  if (text.startsWith('#')) return '';
  if (text.startsWith('"') || text.startsWith("'")) {
    const end = quotedEnd(text) ?? give();
    const rest = text.slice(end).trim();
    if (rest !== '' && !rest.startsWith('#')) return give();
    return text.slice(0, end);
  }
  const hash = text.search(/\s#/);
  return hash === -1 ? text : text.slice(0, hash).trimEnd();
}

/** The index just after a quoted scalar that starts the text (on this line), if it ends there. */
function quotedEnd(text: string): number | undefined {
  const quote = text[0];
  for (let i = 1; i < text.length; i++) {
    if (quote === '"' && text[i] === '\\') i++;
    else if (text[i] === quote) {
      if (quote === "'" && text[i + 1] === "'") i++;
      else return i + 1;
    }
  }
  return undefined;
}

const DOUBLE_ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', n: '\n', t: '\t', r: '\r', '0': '\0' };

/** A quoted scalar's string. */
function scalarString(quoted: string): string {
  const body = quoted.slice(1, -1);
  if (quoted[0] === "'") return body.replace(/''/g, "'");
  return body.replace(/\\(.)/g, (_, c: string) => DOUBLE_ESCAPES[c] ?? give());
}

const NUMBER_FORMS = [
  /^[-+]?[0-9]+$/,
  /^0o[0-7]+$/,
  /^0x[0-9a-fA-F]+$/,
  /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/,
  /^[-+]?\.(inf|Inf|INF)$/,
  /^\.(nan|NaN|NAN)$/,
];

/** A one-line scalar as YAML 1.2's core schema reads it; gives up on anything less plain. */
function scalar(raw: string): unknown {
  const text = stripComment(raw);
  if (text.startsWith('"') || text.startsWith("'")) {
    if (quotedEnd(text) !== text.length) return give();
    return scalarString(text);
  }
  if (text === '' || text === '~' || /^(null|Null|NULL)$/.test(text)) return null;
  if (/^(true|True|TRUE)$/.test(text)) return true;
  if (/^(false|False|FALSE)$/.test(text)) return false;
  if (/^-?(0|[1-9][0-9]{0,14})$/.test(text)) return Number(text);
  // Other numbers of the core schema (+1, 007, 0o7, 0x1f, 1.5, 1e3, .inf, .nan) are left to
  // the full parser; anything else that starts with a digit ("1h", "0 3 * * *") is a string.
  if (/^[-+.0-9]/.test(text) && NUMBER_FORMS.some((form) => form.test(text))) return give();
  // Indicators, and "key: value" or " #" inside a value.
  if (/^[-?:,[\]{}#&*!|>'"%@`]/.test(text) && !/^-[^\s\d.]/.test(text)) return give();
  if (/:\s|:$|\s#/.test(text)) return give();
  return text;
}
