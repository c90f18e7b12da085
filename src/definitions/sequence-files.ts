// What a sequence's runs depend on, worked out in one place: its own file, modules.json, the
// conf files its steps name, the files its modules' cmds and its steps' `run` commands run (a
// program given with a path, the scripts given to an interpreter) and its modules' `depends`
// globs. A run pins them, the
// generated workflows' path filters list them, and `etl changed` looks for them among a
// commit range's changes: reading one list, the three cannot disagree.
import { isAbsolute, posix } from 'node:path';
import { expandGlobs, repoConfFile } from './depends.js';
import { allSteps, type Definitions, MODULES_FILE } from './model.js';
import { scriptArguments } from './module-command.js';
import { asObject, modulesUsed } from './raw.js';
import { splitWords } from './words.js';

export type SequenceFileKind =
  | 'sequence-file'
  | 'modules-file'
  | 'conf'
  | 'module-command'
  | 'module-argument'
  | 'run-command'
  | 'run-argument'
  | 'depends-glob';

export interface SequenceFile {
  kind: SequenceFileKind;
  /**
   * Repository-relative. A conf may hold templates (`conf/${params.region}.json`: which file
   * it is depends on the run); a depends glob is the pattern as written, its "!" included.
   */
  path: string;
  /** The module whose cmd or `depends` names the file (none for a step's `run`). */
  module?: string;
}

/**
 * A sequence as the resolver reads it: validated, or as `etl changed` reads it at a commit,
 * where nothing is validated; so its steps are read as data that may have any shape.
 */
export interface SequenceSource {
  /** The sequence's definition file, repository-relative. */
  file: string;
  /** Its steps and its error handler's steps. */
  steps: readonly unknown[];
}

/**
 * Every file (or glob) a sequence depends on. `moduleNamed` gives a module's entry of
 * modules.json, validated or not (undefined when there is none).
 */
export function sequenceFiles(sequence: SequenceSource, moduleNamed: (name: string) => unknown): SequenceFile[] {
  // A list of steps is a sequence of the list shape.
  const steps = [...sequence.steps];
  const confs = new Set(steps.flatMap((step) => repoConfFile(asObject(step).conf) ?? []));
  return [
    { kind: 'sequence-file', path: sequence.file },
    { kind: 'modules-file', path: MODULES_FILE },
    ...modulesUsed(steps).flatMap((name) => moduleFiles(name, moduleNamed(name))),
    ...uniqueFiles(steps.flatMap((step) => runFiles(asObject(step).run))),
    ...[...confs].map((path): SequenceFile => ({ kind: 'conf', path })),
  ];
}

/** What a sequence of the validated definitions depends on (nothing for an unknown name). */
export function validSequenceFiles(definitions: Definitions, name: string): SequenceFile[] {
  const sequence = definitions.sequences.get(name);
  if (!sequence) return [];
  return sequenceFiles(
    { file: sequence.file, steps: allSteps(sequence) },
    (module) => definitions.modules.get(module)?.def,
  );
}

/** The files one module's cmd runs and the globs its `depends` lists, in that order. */
export function moduleFiles(name: string, module: unknown): SequenceFile[] {
  const { cmd, depends } = asObject(module);
  const { program, scripts } = commandFiles(cmd);
  const patterns = Array.isArray(depends) ? depends.filter((d): d is string => typeof d === 'string') : [];
  return [
    ...(program === undefined ? [] : [{ kind: 'module-command' as const, path: program, module: name }]),
    ...scripts.map((path) => ({ kind: 'module-argument' as const, path, module: name })),
    // Not de-duplicated: the order of a list with "!" in it is its meaning.
    ...patterns.map((path) => ({ kind: 'depends-glob' as const, path, module: name })),
  ];
}

/**
 * The files a step's `run` runs: its program given with a path and its scripts. A word with
 * a template names a file that depends on the run (and a program may not have one): left out.
 */
export function runFiles(run: unknown): SequenceFile[] {
  const { program, scripts } = commandFiles(run, (word) => !word.includes('$'));
  return [
    ...(program === undefined ? [] : [{ kind: 'run-command' as const, path: program }]),
    ...scripts.map((path) => ({ kind: 'run-argument' as const, path })),
  ];
}

/** The entries once each, in their first place (steps may run the same script). */
function uniqueFiles(files: SequenceFile[]): SequenceFile[] {
  const seen = new Set<string>();
  return files.filter((file) => {
    const key = `${file.kind} ${file.path}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * The repository files a cmd names, read from its text (not from the disk: `etl changed`
 * reads other commits): a program given with a path, and the scripts it is given.
 */
function commandFiles(
  cmd: unknown,
  plain: (word: string) => boolean = () => true,
): { program?: string; scripts: string[] } {
  if (typeof cmd !== 'string') return { scripts: [] };
  let words: string[];
  try {
    words = splitWords(cmd);
  } catch {
    return { scripts: [] }; // the cmd is invalid: validation says so
  }
  const first = words[0];
  const scripts = scriptArguments(words).filter(plain);
  return {
    program: first?.includes('/') && plain(first) ? insideRepository(first) : undefined,
    scripts: [...new Set(scripts.flatMap((script) => insideRepository(script) ?? []))],
  };
}

/** A relative path as git names it ("./a/../b.py" is "b.py"), or undefined when it is no file of the repository. */
function insideRepository(path: string): string | undefined {
  if (isAbsolute(path)) return undefined;
  const normal = posix.normalize(path);
  const leaves = normal === '..' || normal.startsWith('../');
  return leaves || normal === '.' || normal.endsWith('/') ? undefined : normal;
}

/**
 * The files of the repository a run pins for these entries: each module's depends globs
 * expanded (in order, a "!" taking back only within that module's list), the rest as they
 * are; a templated conf is pinned as written, as missing.
 */
export function filesToPin(repo: string, files: readonly SequenceFile[]): string[] {
  const globsByModule = new Map<string | undefined, string[]>();
  for (const file of files)
    if (file.kind === 'depends-glob')
      globsByModule.set(file.module, [...(globsByModule.get(file.module) ?? []), file.path]);
  return [
    ...new Set([
      ...files.filter((file) => file.kind !== 'depends-glob').map((file) => file.path),
      ...[...globsByModule.values()].flatMap((patterns) => expandGlobs(repo, patterns)),
    ]),
  ];
}
