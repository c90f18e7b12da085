import { isDeepStrictEqual } from 'node:util';
import { confGlob, dependsProblem } from '../definitions/depends.js';
import { globMatcher } from '../definitions/glob.js';
import { MODULES_FILE, SEQUENCE_EXTENSIONS, SEQUENCES_DIR } from '../definitions/model.js';
import { NAME_PATTERN } from '../definitions/patterns.js';
import { asObject, modulesUsed, stepsOf } from '../definitions/raw.js';
import { type SequenceFile, sequenceFiles } from '../definitions/sequence-files.js';
import { EtlError } from '../errors.js';
import { gitOperation, openGit, resolveCommit, type Env, type GitClient } from '../git/git.js';
import { readObjects } from '../git/objects.js';

export interface ChangedSequence {
  name: string;
  file: string;
  /** Why its runs would differ: "sequence file changed", "module extract changed in modules.json", ... */
  reasons: string[];
}

const NO_COMMIT = /^0+$/;

export interface ChangedOptions {
  head?: string;
  /**
   * A base this clone does not have: 'error' (a mistyped commit), or 'all' (a force push
   * dropped it: every sequence counts as changed). A shallow clone always means 'all'.
   */
  missingBase?: 'error' | 'all';
  env?: Env;
}

/**
 * The sequences whose runs would differ between two commits: the sequence file changed, an
 * entry of modules.json that it uses changed, or a file of the repository it depends on
 * changed (sequence-files.ts says which). Reads the definitions from git, not from the
 * working tree. A base of all zeros (the first push of a branch) means everything; see
 * missingBase for one the clone does not have.
 */
export async function changedSequences(
  repo: string,
  base: string,
  options: ChangedOptions = {},
): Promise<ChangedSequence[]> {
  const { head = 'HEAD', missingBase = 'error', env = process.env } = options;
  return gitOperation('finding the changed sequences', async () => {
    const git = openGit(repo, env);
    const range = await commitRange(git, base, head, missingBase);
    const changedFiles = range.baseSha ? await filesChanged(git, range.baseSha, range.headSha) : undefined;
    const sequencePaths = await sequencePathsAt(git, range.headSha);
    const definitions = await readDefinitions(repo, range, sequencePaths, env);
    const changed: ChangedSequence[] = [];
    for (const file of sequencePaths) {
      const name = file.slice(SEQUENCES_DIR.length + 1).replace(/\.(json|ya?ml)$/, '');
      if (!new RegExp(NAME_PATTERN).test(name)) continue;
      const reasons = changedFiles
        ? changeReasons(file, definitions, changedFiles)
        : [
            range.baseSha === undefined
              ? 'no base commit: first push of the branch'
              : `base ${base.slice(0, 12)} not in this clone (a force push or a shallow clone)`,
          ];
      changed.push({ name, file, reasons });
    }
    addCalledChanges(changed, definitions);
    return changed.filter((sequence) => sequence.reasons.length > 0);
  });
}

interface CommitRange {
  headSha: string;
  /** Undefined for an all-zero base (a first push), '' for a base this clone does not have. */
  baseSha?: string;
}

/** The commits compared; a base that is not a commit is an error unless it may have been dropped. */
async function commitRange(
  git: GitClient,
  base: string,
  head: string,
  missingBase: ChangedOptions['missingBase'],
): Promise<CommitRange> {
  const headSha = await resolveCommit(git, head);
  if (!headSha) throw new EtlError('unknown-commit', `--head "${head}" is not a commit of this repository`);
  if (NO_COMMIT.test(base)) return { headSha };
  const baseSha = await resolveCommit(git, base);
  // A shallow clone may lack the base (then every sequence counts as changed).
  if (
    !baseSha &&
    missingBase === 'error' &&
    (await git.raw(['rev-parse', '--is-shallow-repository'])).trim() !== 'true'
  ) {
    throw new EtlError('unknown-commit', `--base "${base}" is not a commit of this repository`);
  }
  return { headSha, baseSha };
}

async function filesChanged(git: GitClient, baseSha: string, headSha: string): Promise<Set<string>> {
  const names = await git.raw(['diff', '--name-only', '-z', '--no-renames', baseSha, headSha]);
  return new Set(names.split('\0').filter(Boolean));
}

/** The sequence files at a commit, repository-relative. */
async function sequencePathsAt(git: GitClient, sha: string): Promise<string[]> {
  const listing = await git.raw(['ls-tree', '-z', '--name-only', `${sha}:${SEQUENCES_DIR}`]).catch(() => '');
  return listing
    .split('\0')
    .filter((name) => (SEQUENCE_EXTENSIONS as readonly string[]).some((ext) => name.endsWith(ext)))
    .map((name) => `${SEQUENCES_DIR}/${name}`);
}

/** The definitions as read at the two commits: parsed, never validated (INVALID when unreadable). */
interface DefinitionsAt {
  sequenceAtHead(file: string): unknown;
  modulesAtHead: unknown;
  modulesAtBase: unknown;
}

async function readDefinitions(
  repo: string,
  range: CommitRange,
  sequencePaths: string[],
  env: Env,
): Promise<DefinitionsAt> {
  const { headSha, baseSha } = range;
  if (sequencePaths.some((f) => /\.ya?ml$/.test(f)))
    yamlParse ??= (await import('yaml')).parse as (text: string) => unknown;
  const objects = readObjects(
    repo,
    [
      ...sequencePaths.map((f) => `${headSha}:${f}`),
      `${headSha}:${MODULES_FILE}`,
      ...(baseSha ? [`${baseSha}:${MODULES_FILE}`] : []),
    ],
    env,
  );
  const text = (spec: string) => objects.get(spec)?.content.toString('utf8');
  return {
    sequenceAtHead: (file) => parseDefinition(text(`${headSha}:${file}`), file),
    modulesAtHead: parseDefinition(text(`${headSha}:${MODULES_FILE}`), MODULES_FILE),
    modulesAtBase: baseSha ? parseDefinition(text(`${baseSha}:${MODULES_FILE}`), MODULES_FILE) : undefined,
  };
}

/**
 * A sequence that calls a changed one (a `call` step, at any depth) runs differently too: it
 * is changed, saying which. Each round adds the callers of the sequences changed so far.
 */
function addCalledChanges(sequences: ChangedSequence[], definitions: DefinitionsAt): void {
  const calls = new Map(
    sequences.map(({ name, file }) => [
      name,
      [
        ...new Set(
          stepsOf(definitions.sequenceAtHead(file)).flatMap((step) => {
            const call = asObject(step).call;
            return typeof call === 'string' && call !== '' ? [call] : [];
          }),
        ),
      ],
    ]),
  );
  const changed = new Set(sequences.filter((s) => s.reasons.length > 0).map((s) => s.name));
  for (let grew = true; grew; ) {
    grew = false;
    for (const sequence of sequences) {
      if (changed.has(sequence.name)) continue;
      const called = calls.get(sequence.name)!.filter((name) => changed.has(name));
      if (called.length === 0) continue;
      sequence.reasons.push(...called.map((name) => `sequence "${name}" it calls changed`));
      changed.add(sequence.name);
      grew = true;
    }
  }
}

/** Why a sequence's runs would differ: what it depends on that changed, in the order it names them. */
function changeReasons(file: string, definitions: DefinitionsAt, changedFiles: Set<string>): string[] {
  const { modulesAtHead, modulesAtBase } = definitions;
  const data = definitions.sequenceAtHead(file);
  const files = sequenceFiles({ file, steps: stepsOf(data) }, (module) => asObject(modulesAtHead)[module]);
  const reasons: string[] = [];
  for (const entry of files)
    if (entry.kind === 'sequence-file' && changedFiles.has(entry.path)) reasons.push('sequence file changed');
  for (const module of modulesUsed(data)) {
    const now = asObject(modulesAtHead)[module];
    if (!isDeepStrictEqual(now, asObject(modulesAtBase)[module]))
      reasons.push(`module "${module}" changed in ${MODULES_FILE}`);
    reasons.push(
      ...moduleFileReasons(
        files.filter((entry) => entry.module === module),
        module,
        changedFiles,
      ),
    );
  }
  for (const { kind, path } of files)
    if ((kind === 'run-command' || kind === 'run-argument') && changedFiles.has(path))
      reasons.push(`file ${path} changed (a step's run runs it)`);
  for (const conf of files.filter((entry) => entry.kind === 'conf')) {
    // A conf with a template names a file that depends on the run: any it may be.
    const matches = globMatcher([confGlob(conf.path)]);
    for (const path of changedFiles) if (matches(path)) reasons.push(`conf file ${path} changed`);
  }
  if (!isDeepStrictEqual(asObject(modulesAtHead).$flags, asObject(modulesAtBase).$flags))
    reasons.push(`the interface flags ($flags) changed in ${MODULES_FILE}`);
  if (modulesAtHead === INVALID && changedFiles.has(MODULES_FILE))
    reasons.push(`${MODULES_FILE} changed and cannot be read`);
  return [...new Set(reasons)];
}

/** The changes among one module's files: what its cmd runs, then what its `depends` globs match. */
function moduleFileReasons(files: SequenceFile[], module: string, changedFiles: Set<string>): string[] {
  const reasons: string[] = [];
  for (const { kind, path } of files)
    if ((kind === 'module-command' || kind === 'module-argument') && changedFiles.has(path))
      reasons.push(`module file ${path} changed`);
  // The patterns as GitHub's path filter reads them: in order, "!" taking back.
  const patterns = files.filter((f) => f.kind === 'depends-glob' && !dependsProblem(f.path)).map((f) => f.path);
  const matches = globMatcher(patterns);
  for (const path of changedFiles)
    if (matches(path)) reasons.push(`${path} changed (module "${module}" depends on it)`);
  return reasons;
}

const INVALID = Symbol('invalid');

function parseDefinition(text: string | undefined, file: string): unknown {
  if (text === undefined) return undefined;
  try {
    if (/\.ya?ml$/.test(file)) return parseYaml(text);
    return JSON.parse(text);
  } catch {
    return INVALID;
  }
}

/** Loaded only when a YAML definition is among the files. */
let yamlParse: ((text: string) => unknown) | undefined;
function parseYaml(text: string): unknown {
  return yamlParse!(text);
}

/** The sequences whose files exist at `base` but not at `head`: a change that deletes them. */
export async function deletedSequences(
  repo: string,
  base: string,
  options: { head?: string; env?: Env } = {},
): Promise<string[]> {
  return gitOperation('finding the deleted sequences', async () => {
    const git = openGit(repo, options.env ?? process.env);
    const [baseSha, headSha] = [await resolveCommit(git, base), await resolveCommit(git, options.head ?? 'HEAD')];
    if (!baseSha || !headSha) return [];
    const names = async (sha: string) =>
      new Set(
        (await git.raw(['ls-tree', '-z', '--name-only', `${sha}:${SEQUENCES_DIR}`]).catch(() => ''))
          .split('\0')
          .filter((name) => (SEQUENCE_EXTENSIONS as readonly string[]).some((ext) => name.endsWith(ext)))
          .map((name) => name.replace(/\.(json|ya?ml)$/, '')),
      );
    const [before, after] = [await names(baseSha), await names(headSha)];
    return [...before].filter((name) => !after.has(name)).sort();
  });
}
