/**
 * Splits a command line into words the way a POSIX shell would for quoting ('single',
 * "double", backslash escapes), without expanding anything: modules are never run through
 * a shell, so `$HOME`, `*` and `>` reach the command literally.
 */
export function splitWords(line: string): string[] {
  return splitQuotedWords(line).map((word) => word.text);
}

/**
 * A word of a command line, with how each of its characters was written: what a shell would
 * have made of it, had it been given the line.
 */
export interface QuotedWord {
  text: string;
  /** The text with every quoted or escaped character a space: where a shell sees operators (`;`, `|`, `>`). */
  bare: string;
  /** The same, keeping what is inside double quotes, where a shell still substitutes `$(...)` and backquotes. */
  unquoted: string;
}

/** splitWords, telling which characters of each word were quoted (see QuotedWord). */
export function splitQuotedWords(line: string): QuotedWord[] {
  const words: QuotedWord[] = [];
  let word: QuotedWord = { text: '', bare: '', unquoted: '' };
  let inWord = false;
  // kind: how a shell takes the character: as written, inside "...", or quoted outright.
  const add = (text: string, kind: 'bare' | 'double' | 'quoted') => {
    word.text += text;
    word.bare += kind === 'bare' ? text : ' '.repeat(text.length);
    word.unquoted += kind === 'quoted' ? ' '.repeat(text.length) : text;
    inWord = true;
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(word);
      word = { text: '', bare: '', unquoted: '' };
      inWord = false;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end === -1) throw new SyntaxError(`unterminated single quote at character ${i + 1}`);
      add(line.slice(i + 1, end), 'quoted');
      inWord = true; // '' is a word too
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        // Inside double quotes a backslash escapes only these, as in sh.
        if (line[j] === '\\' && j + 1 < line.length && '"\\$`'.includes(line[j + 1]!)) add(line[++j]!, 'quoted');
        else add(line[j]!, 'double');
      }
      if (j >= line.length) throw new SyntaxError(`unterminated double quote at character ${i + 1}`);
      inWord = true;
      i = j;
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw new SyntaxError('the command ends with a lone backslash');
      add(line[++i]!, 'quoted');
    } else {
      add(c, 'bare');
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** Quotes words so that splitWords (or sh) reads them back unchanged: for showing argv. */
export function joinWords(words: readonly string[]): string {
  return words.map((w) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/**
 * What a step with `run` is called where a module's name would be (its default name, its
 * records' `module`, ETL_MODULE, its record and log file names): the file name of its program,
 * "python3" for "python3 scripts/x.py", "x.sh" for "./scripts/x.sh"; characters a name cannot
 * hold become "_", and "run" stands for a command that cannot be read.
 */
export function programName(run: string): string {
  let first: string | undefined;
  try {
    first = splitWords(run)[0];
  } catch {
    first = undefined;
  }
  const name = (first ?? '')
    .slice((first ?? '').lastIndexOf('/') + 1)
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^[^A-Za-z0-9]+/, '');
  return name === '' ? 'run' : name;
}
