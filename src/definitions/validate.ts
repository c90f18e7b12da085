import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join, relative, resolve, sep } from 'node:path';
import { EtlError, type Issue } from '../errors.js';
import { checkSchema } from './check-schema.js';
import { cachedExists, lintModule, lintSequence } from './lint.js';
import {
  isModulesSetting,
  MODULES_FILE,
  SEQUENCE_EXTENSIONS,
  SEQUENCES_DIR,
  toModuleDefLenient,
  toSequenceDef,
  toSequenceDefLenient,
  type Definitions,
  type ModuleEntry,
  type SequenceDef,
} from './model.js';
import { calledSequences, callProblems } from './calls.js';
import type { ParsedSource } from './source.js';
import { NAME_PATTERN } from './patterns.js';
import { asObject, modulesUsed } from './raw.js';
import { readDefinitionFile } from './read-source.js';
import type { Flags, GitHubSettings, ModuleDef, SequenceObject, Step, StepDefaults } from './schema.js';
import { didYouMean } from './suggest.js';

export interface ValidateOptions {
  repo: string;
  /** Sequence names (or paths of files in etl_sequences/); all sequences when empty. */
  sequences?: string[];
  /** Count warnings as errors. */
  strict?: boolean;
  /**
   * Check the schedules as GitHub Actions runs them (cron-too-frequent), unless modules.json
   * says they run elsewhere. On by default (etl validate, workflows); the commands that only
   * use the definitions (run, list, plan...) turn it off: the warning is not theirs to give.
   */
  githubSchedules?: boolean;
  /** For resolving bare commands on PATH; defaults to process.env. */
  env?: Record<string, string | undefined>;
}

export interface ValidationReport {
  /** Sorted by file, line, column. */
  issues: Issue[];
  errors: number;
  warnings: number;
  /** No errors (and, with strict, no warnings). */
  ok: boolean;
  /** What could be loaded: sequences and modules with errors in them are left out. */
  definitions: Definitions;
}

interface SequenceFileEntry {
  name: string;
  file: string;
}

/**
 * Validates a pipeline repository: every sequence (or the named ones and the modules they
 * use) against the schemas, then the checks schemas cannot express. Reads files, never
 * writes or runs anything, and reports every problem instead of stopping at the first.
 */
export async function validate(options: ValidateOptions): Promise<ValidationReport> {
  const repo = resolve(options.repo);
  const issues: Issue[] = [];
  const exists = cachedExists();
  const definitions: Definitions = { repo, modules: new Map(), sequences: new Map() };

  const files = discoverSequenceFiles(repo, issues);
  const selected = options.sequences?.length ? selectSequences(repo, files, options.sequences) : files;
  const { usedModules, partlyValid } = await readSelected(repo, files, selected, issues, definitions);
  const onlyUsed = Boolean(options.sequences?.length);
  const modulesSource = await readModules(definitions, issues, {
    isUsed: (name) => !onlyUsed || usedModules.has(name),
    path: (options.env ?? process.env).PATH,
    exists,
  });

  // A module with schema errors is still "known": do not also call it unknown. Without a
  // readable modules.json, no module is known and saying so for every step is noise.
  const known = modulesSource?.data === undefined ? undefined : new Map(definitions.modules);
  for (const name of Object.keys(asObject(modulesSource?.data)))
    if (!isModulesSetting(name) && !known?.has(name)) known?.set(name, { name, def: { cmd: '' } });
  const lint = {
    githubSchedules: options.githubSchedules !== false && definitions.github?.schedules !== false,
    path: (options.env ?? process.env).PATH,
  };
  for (const sequence of definitions.sequences.values())
    issues.push(...lintSequence(sequence, known, repo, exists, lint));
  // A file that failed its schema is still checked for what can be (an unknown module, a
  // missing conf): every problem in one pass, not the next one after the first is fixed.
  for (const sequence of partlyValid) {
    issues.push(...lintSequence(sequence, known, repo, exists, lint).filter((i) => i.code !== 'empty-sequence'));
  }
  const hasErrors = (sequence: SequenceDef) => issues.some((i) => i.file === sequence.file && i.severity === 'error');
  issues.push(
    ...callProblems({
      sequences: [...definitions.sequences.values(), ...partlyValid],
      names: files.map((f) => f.name),
      valid: new Map([...definitions.sequences].filter(([, sequence]) => !hasErrors(sequence))),
    }),
  );
  // What is loaded is what is valid: list, due and plan never see a sequence with errors.
  for (const [name, sequence] of definitions.sequences) if (hasErrors(sequence)) definitions.sequences.delete(name);

  issues.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column));
  const errors = issues.filter((i) => i.severity === 'error').length;
  const warnings = issues.length - errors;
  return { issues, errors, warnings, ok: errors === 0 && !(options.strict && warnings > 0), definitions };
}

/**
 * Reads and schema-checks the selected sequence files: the valid ones go into definitions,
 * the readable ones with schema errors come back to be checked for what still can be.
 */
async function readSequences(
  repo: string,
  selected: SequenceFileEntry[],
  issues: Issue[],
  definitions: Definitions,
  usedModules = new Set<string>(),
): Promise<{ usedModules: Set<string>; partlyValid: SequenceDef[] }> {
  const partlyValid: SequenceDef[] = [];
  for (const { name, file } of selected) {
    const { source, issues: readIssues } = await readDefinitionFile(repo, file);
    issues.push(...readIssues);
    if (!source || source.data === undefined) continue;
    const data = source.data;
    const schemaIssues = sequenceSchemaIssues(data, source, file);
    issues.push(...schemaIssues.map(({ pointer: _, ...issue }) => issue));
    for (const module of modulesUsed(data)) usedModules.add(module);
    if (readIssues.length === 0 && schemaIssues.length === 0) {
      definitions.sequences.set(name, toSequenceDef(name, file, source, data as Step[] | SequenceObject));
    } else if (readIssues.length === 0) {
      partlyValid.push(toSequenceDefLenient(name, file, source, data));
    }
  }
  return { usedModules, partlyValid };
}

/**
 * Reads the selected sequences, and the sequences they call (and those call...): a run of
 * one starts the others, so they are validated with it.
 */
async function readSelected(
  repo: string,
  files: SequenceFileEntry[],
  selected: SequenceFileEntry[],
  issues: Issue[],
  definitions: Definitions,
): Promise<{ usedModules: Set<string>; partlyValid: SequenceDef[] }> {
  const usedModules = new Set<string>();
  const partlyValid: SequenceDef[] = [];
  const read = new Set<string>();
  for (let next = selected; next.length > 0; ) {
    for (const entry of next) read.add(entry.name);
    const found = await readSequences(repo, next, issues, definitions, usedModules);
    partlyValid.push(...found.partlyValid);
    const called = new Set(
      [...definitions.sequences.values(), ...partlyValid].flatMap((sequence) => calledSequences(sequence)),
    );
    next = files.filter((entry) => called.has(entry.name) && !read.has(entry.name));
  }
  return { usedModules, partlyValid };
}

/** A sequence file is an array of steps or an object with "steps". */
function sequenceSchemaIssues(data: unknown, source: ParsedSource, file: string): Array<Issue & { pointer: string }> {
  if (Array.isArray(data)) return checkSchema('stepList', data, source, file);
  if (data !== null && typeof data === 'object') return checkSchema('sequenceObject', data, source, file);
  return [
    {
      file,
      ...source.locate(''),
      severity: 'error' as const,
      code: 'wrong-type',
      message: `a sequence is an array of steps or an object with "steps", got ${data === null ? 'an empty file' : typeof data}`,
      pointer: '',
    },
  ];
}

/**
 * Reads modules.json into definitions (its settings and its valid modules) and checks the
 * modules in use; returns what was read, for telling a known module from an unknown one.
 */
async function readModules(
  definitions: Definitions,
  issues: Issue[],
  use: { isUsed: (name: string) => boolean; path: string | undefined; exists: (path: string) => boolean },
): Promise<ParsedSource | undefined> {
  const { repo } = definitions;
  const modulesRead = await readDefinitionFile(repo, MODULES_FILE);
  const modulesSource = modulesRead.source;
  if (modulesRead.issues.some((i) => i.code === 'unreadable-file')) {
    issues.push({
      file: MODULES_FILE,
      line: 1,
      column: 1,
      severity: 'error',
      code: 'missing-modules-file',
      message: `${MODULES_FILE} is missing: it maps each module_name to the command that runs it`,
    });
  } else {
    issues.push(...modulesRead.issues);
  }
  if (!modulesSource || modulesSource.data === undefined) return modulesSource;
  const data = modulesSource.data;
  const schemaIssues = checkSchema('modulesFile', data, modulesSource, MODULES_FILE);
  // Problems inside an unused module's entry belong to the sequences that use it.
  const brokenModules = new Set<string>();
  for (const { pointer, ...issue } of schemaIssues) {
    const name = pointer === '' ? undefined : pointer.split('/')[1]!.replace(/~1/g, '/').replace(/~0/g, '~');
    if (name !== undefined) brokenModules.add(name);
    if (name === undefined || use.isUsed(name)) issues.push(issue);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return modulesSource;
  if (!schemaIssues.some((i) => i.pointer.startsWith('/$flags')))
    definitions.flags = (data as { $flags?: Flags }).$flags;
  if (!schemaIssues.some((i) => i.pointer.startsWith('/$defaults')))
    definitions.defaults = (data as { $defaults?: StepDefaults }).$defaults;
  if (!schemaIssues.some((i) => i.pointer.startsWith('/$github')))
    definitions.github = (data as { $github?: GitHubSettings }).$github;
  for (const [name, def] of Object.entries(data)) {
    if (isModulesSetting(name)) continue;
    // A module with a schema error is not loaded, but what can still be checked is.
    const broken = brokenModules.has(name);
    const entry: ModuleEntry = { name, def: broken ? toModuleDefLenient(def) : (def as ModuleDef) };
    if (!broken) definitions.modules.set(name, entry);
    if (use.isUsed(name)) issues.push(...lintModule(entry, modulesSource, repo, use.path, use.exists));
  }
  return modulesSource;
}

/** Whether etl_sequences/ has a file for the sequence (valid or not). */
export function isDefinedSequence(repo: string, sequence: string): boolean {
  return SEQUENCE_EXTENSIONS.some((ext) => existsSync(join(repo, SEQUENCES_DIR, `${sequence}${ext}`)));
}

function discoverSequenceFiles(repo: string, issues: Issue[]): SequenceFileEntry[] {
  let names: string[];
  try {
    names = readdirSync(resolve(repo, SEQUENCES_DIR));
  } catch {
    issues.push({
      file: `${SEQUENCES_DIR}/`,
      line: 1,
      column: 1,
      severity: 'error',
      code: 'missing-sequences-folder',
      message: `no ${SEQUENCES_DIR}/ folder: is this a pipeline repository? (etl init creates one; --repo DIR points at another)`,
    });
    return [];
  }
  const byName = new Map<string, string>();
  const found: SequenceFileEntry[] = [];
  for (const fileName of names.sort()) {
    const extension = extname(fileName);
    if (fileName.startsWith('.')) continue;
    if (!(SEQUENCE_EXTENSIONS as readonly string[]).includes(extension)) {
      const ignored = ignoredEntryReason(repo, fileName);
      if (ignored)
        issues.push({
          file: `${SEQUENCES_DIR}/${fileName}`,
          line: 1,
          column: 1,
          severity: 'warning',
          code: 'ignored-file',
          message: ignored,
        });
      continue;
    }
    const name = basename(fileName, extension);
    const file = `${SEQUENCES_DIR}/${fileName}`;
    if (!new RegExp(NAME_PATTERN).test(name)) {
      issues.push({
        file,
        line: 1,
        column: 1,
        severity: 'error',
        code: 'invalid-sequence-name',
        message: `invalid sequence name "${name}": a file name may use letters, digits, ".", "_" and "-", starting with a letter or digit`,
      });
      continue;
    }
    const other = byName.get(name);
    if (other !== undefined) {
      issues.push({
        file,
        line: 1,
        column: 1,
        severity: 'error',
        code: 'duplicate-sequence',
        message: `sequence "${name}" is defined twice: here and in ${other}; keep one file`,
      });
      continue;
    }
    byName.set(name, file);
    found.push({ name, file });
  }
  return found;
}

/** Why an entry of etl_sequences/ that is not a sequence file is worth a word, if it is. */
function ignoredEntryReason(repo: string, fileName: string): string | undefined {
  let folder = false;
  try {
    folder = statSync(resolve(repo, SEQUENCES_DIR, fileName)).isDirectory();
  } catch {
    // a broken link: reported below like any other file
  }
  if (folder) return `folder ${fileName}/ is not read: sequences are files directly in ${SEQUENCES_DIR}/`;
  const extension = extname(fileName);
  const lower = extension.toLowerCase();
  if ((SEQUENCE_EXTENSIONS as readonly string[]).includes(lower))
    return `"${fileName}" is not read: the extension must be lower case (${lower})`;
  // Other files (a README) are the team's business; a near miss (.jsn, .ymal) is a typo.
  const hint = extension ? didYouMean(lower, SEQUENCE_EXTENSIONS, false) : '';
  return hint ? `"${fileName}" is not read: sequences are .json, .yaml or .yml files${hint}` : undefined;
}

/** Resolves names given on the command line; a name that is not one is a usage error. */
function selectSequences(repo: string, files: SequenceFileEntry[], wanted: string[]): SequenceFileEntry[] {
  const selected: SequenceFileEntry[] = [];
  for (const arg of wanted) {
    let name = arg;
    if (!/[\\/]/.test(arg) && (SEQUENCE_EXTENSIONS as readonly string[]).includes(extname(arg))) {
      name = basename(arg, extname(arg)); // "sales.yaml" names the sequence "sales"
    } else if (/[\\/]/.test(arg) || arg.startsWith('.')) {
      // A path is accepted only if it is a file directly inside etl_sequences/.
      const path = relative(resolve(repo, SEQUENCES_DIR), resolve(arg));
      if (
        path.startsWith('..') ||
        path.includes(sep) ||
        !(SEQUENCE_EXTENSIONS as readonly string[]).includes(extname(path))
      ) {
        throw new EtlError(
          'invalid-sequence-name',
          `"${arg}" is not a sequence: give a name from ${SEQUENCES_DIR}/ (e.g. "daily") or the path of a file in it`,
        );
      }
      name = basename(path, extname(path));
    }
    const entry = files.find((f) => f.name === name);
    if (!entry) {
      throw new EtlError(
        'unknown-sequence',
        `unknown sequence "${name}"${didYouMean(
          name,
          files.map((f) => f.name),
        )}: no ${SEQUENCES_DIR}/${name}.json, .yaml or .yml`,
      );
    }
    if (!selected.includes(entry)) selected.push(entry);
  }
  return selected;
}
