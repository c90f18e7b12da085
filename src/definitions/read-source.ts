import { isUtf8 } from 'node:buffer';
import { lstatSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Issue } from '../errors.js';
import { isInside } from '../paths.js';
import { offsetToPosition, parseJsonSource } from './json-source.js';
import type { ParsedSource } from './source.js';

/** Definitions are small; a bigger file is a mistake (a data file in the wrong folder). */
export const MAX_DEFINITION_BYTES = 1024 * 1024;

export interface ReadResult {
  source?: ParsedSource;
  issues: Issue[];
}

/** Reads and parses one definition file (JSON, or YAML by extension), reporting every problem located. */
export async function readDefinitionFile(repo: string, file: string): Promise<ReadResult> {
  const issue = (code: string, message: string, line = 1, column = 1): ReadResult => ({
    issues: [{ file, line, column, severity: 'error', code, message }],
  });
  const path = join(repo, file);
  let bytes: Buffer;
  try {
    // Validation runs on untrusted pull requests: a link out of the repository (to
    // /etc/passwd, to another checkout) is never followed, so its content never shows. The
    // link may be the file or a folder on its way (etl_sequences/ itself): compare real paths.
    if (!isInside(realpathSync.native(repo), realpathSync.native(path))) {
      return issue(
        'symlink-outside',
        `${lstatSync(path).isSymbolicLink() ? 'the file is a symbolic link' : 'the file is in a linked folder that leads'} to something outside the repository: definitions are read only from inside it`,
      );
    }
    const size = statSync(path).size;
    if (size > MAX_DEFINITION_BYTES) {
      return issue(
        'file-too-large',
        `file is ${size} bytes; definition files may be at most ${MAX_DEFINITION_BYTES} bytes (1 MiB)`,
      );
    }
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'EISDIR'
        ? 'it is a folder, not a file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'ENOENT'
            ? 'it does not exist (or is a broken symbolic link)'
            : code === 'ELOOP'
              ? 'a loop of symbolic links'
              : (error as Error).message;
    return issue('unreadable-file', `cannot read the file: ${reason}`);
  }
  const bad = isUtf8(bytes) ? -1 : firstInvalidUtf8(bytes);
  if (bad !== -1) {
    const before = bytes.subarray(0, bad).toString('utf8');
    const { line, column } = offsetToPosition(before, before.length);
    return issue(
      'not-utf8',
      `file is not valid UTF-8 (byte 0x${bytes[bad]!.toString(16).padStart(2, '0')} at offset ${bad}); save it as UTF-8`,
      line,
      column,
    );
  }
  const text = bytes.toString('utf8');
  let source: ParsedSource;
  try {
    source = /\.ya?ml$/.test(file) ? (await import('./yaml-source.js')).readYamlSource(text) : parseJsonSource(text);
  } catch (error) {
    // A pathological file (nesting that overflows a parser's stack) is this file's problem only.
    if (!(error instanceof RangeError)) throw error;
    return issue('syntax-error', `the file cannot be parsed: ${error.message}`);
  }
  return {
    source,
    issues: source.problems.map(({ code, message, line, column }) => ({
      file,
      line,
      column,
      severity: 'error',
      code,
      message,
    })),
  };
}

/** Offset of the first byte that breaks UTF-8, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    const length = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (length === 0 || i + length > bytes.length) return i;
    const second = bytes[i + 1]!;
    // The second byte's range excludes overlong forms and surrogates (RFC 3629).
    const low = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
    const high = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
    if (second < low || second > high) return i;
    for (let k = 2; k < length; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return i;
    i += length;
  }
  return -1;
}
