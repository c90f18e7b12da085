// How the runner starts a module's `cmd`: its program (a repository path or a name on PATH),
// the problems that stop it from starting, and the script files it passes to an interpreter.
import { accessSync, closeSync, constants, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { closest, didYouMean } from './suggest.js';
import { splitWords } from './words.js';

export type CommandProblemCode = 'invalid-cmd' | 'missing-command' | 'not-executable' | 'crlf-shebang';

export type ResolvedCommand =
  | { words: string[]; executable: string; problem?: undefined }
  | { words?: string[]; executable?: undefined; problem: { code: CommandProblemCode; message: string } };

/**
 * Resolves a module's `cmd` the way the runner will start it: a first word containing "/"
 * is relative to the repository root (or absolute), a bare word is looked up on PATH.
 */
export function resolveCommand(cmd: string, repo: string, path: string | undefined, what = 'cmd'): ResolvedCommand {
  let words: string[];
  try {
    words = splitWords(cmd);
  } catch (error) {
    return {
      problem: { code: 'invalid-cmd', message: `cannot split ${what} into words: ${(error as Error).message}` },
    };
  }
  return resolveWords(words, repo, path, what);
}

/** The same for a command already split into words (a step's `run`, its templates filled). */
export function resolveWords(words: string[], repo: string, path: string | undefined, what = 'cmd'): ResolvedCommand {
  const program = words[0];
  if (program === undefined) return { problem: { code: 'invalid-cmd', message: `${what} has no command in it` } };

  if (program.includes('/')) {
    const file = isAbsolute(program) ? program : resolve(repo, program);
    const shown = isAbsolute(program) ? program : relative(repo, file);
    const kind = fileKind(file);
    if (kind === 'missing') {
      const near = nearFile(file);
      const hint = near ? ` (did you mean "${program.slice(0, program.lastIndexOf('/') + 1)}${near}"?)` : '';
      return {
        words,
        problem: {
          code: 'missing-command',
          message: `command "${program}" does not exist${isAbsolute(program) ? '' : ' in the repository'}${hint}`,
        },
      };
    }
    if (kind === 'directory')
      return { words, problem: { code: 'not-executable', message: `command "${program}" is a folder, not a program` } };
    if (!isExecutable(file)) {
      return {
        words,
        problem: {
          code: 'not-executable',
          message: `command "${program}" is not executable: run \`chmod +x ${shown}\` (and \`git update-index --chmod=+x ${shown}\` so git keeps it)`,
        },
      };
    }
    if (hasCrlfShebang(file)) {
      return {
        words,
        problem: {
          code: 'crlf-shebang',
          message: `the #! line of "${program}" ends with a carriage return (Windows line endings): the system looks for an interpreter whose name ends in "\\r" and the module fails with ENOENT; save it with LF line endings`,
        },
      };
    }
    return { words, executable: file };
  }

  const dirs = (path ?? '').split(delimiter).filter(Boolean);
  for (const dir of dirs) {
    const file = join(dir, program);
    if (fileKind(file) === 'file' && isExecutable(file)) return { words, executable: file };
  }
  const hint = didYouMean(program, programsOnPath(dirs));
  return {
    words,
    problem: {
      code: 'missing-command',
      message: `command "${program}" is not on PATH${hint}; a program in the repository is written with a path, e.g. "./${what === 'cmd' ? 'modules' : 'scripts'}/${program}"`,
    },
  };
}

function fileKind(file: string): 'file' | 'directory' | 'missing' {
  try {
    return statSync(file).isDirectory() ? 'directory' : 'file';
  } catch {
    return 'missing';
  }
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The name of a file beside `file` that it is probably a typo of. */
export function nearFile(file: string): string | undefined {
  const dir = dirname(file);
  try {
    return closest(file.slice(dir.length + 1), readdirSync(dir));
  } catch {
    return undefined; // the folder itself does not exist
  }
}

function programsOnPath(dirs: string[]): string[] {
  const names: string[] = [];
  for (const dir of dirs) {
    try {
      names.push(...readdirSync(dir));
    } catch {
      // a PATH entry that does not exist is common and harmless
    }
  }
  return names;
}

/** An interpreter's script arguments, such as `modules/clean.py` in "python3 modules/clean.py". */
export function scriptArguments(words: string[]): string[] {
  return words
    .slice(1)
    .filter(
      (word) =>
        !word.startsWith('-') &&
        !isAbsolute(word) &&
        !word.includes(':') &&
        /\.(py|js|mjs|cjs|ts|sh|bash|rb|pl|r|R|jl|php|lua|sql)$/.test(word),
    );
}

/** The files inside the repository that a command runs: its program and its scripts. */
export function repoFilesOf(words: string[], executable: string, repo: string): string[] {
  const program = relative(repo, executable);
  const inside = !program.startsWith('..') && !isAbsolute(program);
  return [
    ...(inside ? [program] : []),
    ...scriptArguments(words).map((script) => relative(repo, resolve(repo, script))),
  ];
}

/** Whether a script's "#!" line ends in CR LF, which makes exec look for "sh\r". */
function hasCrlfShebang(file: string): boolean {
  try {
    const fd = openSync(file, 'r');
    try {
      const head = Buffer.alloc(256);
      const read = readSync(fd, head, 0, head.length, 0);
      const text = head.subarray(0, read).toString('latin1');
      return text.startsWith('#!') && /^[^\n]*\r\n/.test(text);
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}
