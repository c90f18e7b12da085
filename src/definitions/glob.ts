// The one glob dialect of `depends`: GitHub Actions' path filters ("Filter pattern cheat
// sheet" of its workflow syntax), because the same patterns go into the generated
// workflows' `paths`, and `etl changed` and the pins must match what GitHub matches.
//   *     zero or more characters, not "/"
//   **    zero or more of any character; "**/" may also match no folder at all
//   ?     zero or one of the preceding character ("*.jsx?": page.js, page.jsx)
//   +     one or more of the preceding character
//   [ ]   one character listed or in ranges (a-z, A-Z, 0-9)
//   !     at the start: a negation; later patterns are checked after earlier ones
//   \     makes the next character plain
// A pattern matches the whole path, from the repository's root.

/** A pattern that starts with "!" takes back what earlier patterns of its list matched. */
export const isNegated = (pattern: string) => pattern.startsWith('!');

const SPECIAL = /[*?+[\]!\\]/;
const RANGE = /^(?:[a-z]-[a-z]|[A-Z]-[A-Z]|[0-9]-[0-9])/;

/** Why a pattern is not one GitHub accepts (an unclosed "[", a range it does not have), if it is not. */
export function globProblem(pattern: string): string | undefined {
  const text = isNegated(pattern) ? pattern.slice(1) : pattern;
  if (text === '') return 'is empty';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '[') {
      const close = text.indexOf(']', i + 1);
      if (close === -1) return `has a "[" without its closing "]" (write \\[ for a plain "[")`;
      const inside = text.slice(i + 1, close);
      if (inside === '') return 'has an empty "[]"';
      for (let j = 0; j < inside.length; j++) {
        const range = RANGE.exec(inside.slice(j));
        if (range) j += 2;
        else if (inside[j + 1] === '-' && j + 2 < inside.length)
          return `has the range "${inside.slice(j, j + 3)}": ranges can only be a-z, A-Z or 0-9 (or parts of them)`;
      }
      i = close;
    }
  }
  return undefined;
}

/** A pattern (without its "!") as a regular expression over repository-relative paths. */
export function globToRegExp(pattern: string): RegExp {
  const text = (isNegated(pattern) ? pattern.slice(1) : pattern).replace(/^\.\//, '');
  let source = '';
  // The last atom that "?" and "+" may repeat: a plain character or a [class].
  let atom = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '*' && text[i + 1] === '*') {
      const slash = text[i + 2] === '/';
      source += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
      atom = false;
    } else if (c === '*') {
      source += '[^/]*';
      atom = false;
    } else if ((c === '?' || c === '+') && atom) {
      source += c;
      atom = false;
    } else if (c === '[' && text.indexOf(']', i + 1) > i + 1) {
      const close = text.indexOf(']', i + 1);
      source += `[${text.slice(i + 1, close).replace(/[\\^\]]/g, '\\$&')}]`;
      i = close;
      atom = true;
    } else {
      const plain = c === '\\' && i + 1 < text.length ? text[++i]! : c;
      source += plain.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      atom = true;
    }
  }
  return new RegExp(`^${source}$`);
}

/**
 * Whether a list of patterns matches a path, as GitHub reads a `paths` list: in order, a
 * pattern includes the path and a later "!" pattern takes it back (and a later one may
 * include it again).
 */
export function matchesGlobs(path: string, patterns: readonly string[]): boolean {
  return globMatcher(patterns)(path);
}

/** A list of patterns compiled once, for matching many paths. */
export function globMatcher(patterns: readonly string[]): (path: string) => boolean {
  const compiled = patterns.map((p) => ({ negated: isNegated(p), test: globToRegExp(p) }));
  return (path) => {
    let included = false;
    for (const { negated, test } of compiled) if (negated === included && test.test(path)) included = !included;
    return included;
  };
}

/** The folders a pattern's fixed start names: where to look for what it matches. */
export function fixedPrefix(pattern: string): string {
  const parts = (isNegated(pattern) ? pattern.slice(1) : pattern).replace(/^\.\//, '').split('/');
  const stop = parts.findIndex((part) => SPECIAL.test(part));
  if (stop === -1) return parts.slice(0, -1).join('/');
  // "a/?x" repeats the "/" before the "?": the match may start in the folder above.
  const back = /^[?+]/.test(parts[stop]!) ? 1 : 0;
  return parts.slice(0, Math.max(0, stop - back)).join('/');
}

/** A path as a pattern that matches only it (GitHub reads * ? + [ ] ! \ as special). */
export function escapeGlob(path: string): string {
  return path.replace(/[*?+[\]\\]/g, '\\$&').replace(/^!/, '\\!');
}
