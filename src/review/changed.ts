import { isDeepStrictEqual } from 'node:util';
import { scriptArguments } from '../definitions/module-command.js';
import { MODULES_FILE, SEQUENCE_EXTENSIONS, SEQUENCES_DIR } from '../definitions/model.js';
import { NAME_PATTERN } from '../definitions/patterns.js';
import { confGlob, dependsProblem, repoConfFile } from '../definitions/depends.js';
import { globMatcher } from '../definitions/glob.js';
import { asObject, modulesUsed, stepsOf } from '../definitions/raw.js';
import { splitWords } from '../definitions/words.js';
import { EtlError } from '../errors.js';
import { gitOperation, openGit, resolveCommit, type Env } from '../git/git.js';
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
 * entry of modules.json that it uses changed, or a file of the repository that one of its
 * modules runs changed. Reads the definitions from git, not from the working tree. A base
 * of all zeros (the first push of a branch) means everything; see missingBase for one the
 * clone does not have.
 */
export async function changedSequences(
  repo: string,
  base: string,
  options: ChangedOptions = {},
): Promise<ChangedSequence[]> {
  const { head = 'HEAD', missingBase = 'error', env = process.env } = options;
  return gitOperation('finding the changed sequences', async () => {
    const git = openGit(repo, env);
    const headSha = await resolveCommit(git, head);
    if (!headSha) throw new EtlError('unknown-commit', `--head "${head}" is not a commit of this repository`);
    const firstPush = NO_COMMIT.test(base);
    const baseSha = firstPush ? '' : await resolveCommit(git, base);
    // A shallow clone may lack the base (then every sequence counts as changed).
    if (
      !baseSha &&
      !firstPush &&
      missingBase === 'error' &&
      (await git.raw(['rev-parse', '--is-shallow-repository'])).trim() !== 'true'
    ) {
      throw new EtlError('unknown-commit', `--base "${base}" is not a commit of this repository`);
    }

    const changedFiles = baseSha
      ? new Set(
          (await git.raw(['diff', '--name-only', '-z', '--no-renames', baseSha, headSha])).split('\0').filter(Boolean),
        )
      : undefined;
    const listing = await git.raw(['ls-tree', '-z', '--name-only', `${headSha}:${SEQUENCES_DIR}`]).catch(() => '');
    const sequenceFiles = listing
      .split('\0')
      .filter((name) => (SEQUENCE_EXTENSIONS as readonly string[]).some((ext) => name.endsWith(ext)))
      .map((name) => `${SEQUENCES_DIR}/${name}`);

    if (sequenceFiles.some((f) => /\.ya?ml$/.test(f)))
      yamlParse ??= (await import('yaml')).parse as (text: string) => unknown;
    const objects = readObjects(
      repo,
      [
        ...sequenceFiles.map((f) => `${headSha}:${f}`),
        `${headSha}:${MODULES_FILE}`,
        ...(baseSha ? [`${baseSha}:${MODULES_FILE}`] : []),
      ],
      env,
    );
    const text = (spec: string) => objects.get(spec)?.content.toString('utf8');
    const modulesHead = parseDefinition(text(`${headSha}:${MODULES_FILE}`), MODULES_FILE);
    const modulesBase = baseSha ? parseDefinition(text(`${baseSha}:${MODULES_FILE}`), MODULES_FILE) : undefined;

    const changed: ChangedSequence[] = [];
    for (const file of sequenceFiles) {
      const name = file.slice(SEQUENCES_DIR.length + 1).replace(/\.(json|ya?ml)$/, '');
      if (!new RegExp(NAME_PATTERN).test(name)) continue;
      if (!changedFiles) {
        changed.push({
          name,
          file,
          reasons: [
            firstPush
              ? 'no base commit: first push of the branch'
              : `base ${base.slice(0, 12)} not in this clone (a force push or a shallow clone)`,
          ],
        });
        continue;
      }
      const reasons: string[] = [];
      if (changedFiles.has(file)) reasons.push('sequence file changed');
      const data = parseDefinition(text(`${headSha}:${file}`), file);
      for (const module of modulesUsed(data)) {
        const now = asObject(modulesHead)[module];
        const before = asObject(modulesBase)[module];
        if (!isDeepStrictEqual(now, before)) reasons.push(`module "${module}" changed in ${MODULES_FILE}`);
        for (const path of moduleFiles(now)) if (changedFiles.has(path)) reasons.push(`module file ${path} changed`);
        const depends = asObject(now).depends;
        // The patterns as GitHub's path filter reads them: in order, "!" taking back.
        const matches = globMatcher(
          Array.isArray(depends) ? depends.filter((d): d is string => typeof d === 'string' && !dependsProblem(d)) : [],
        );
        for (const path of changedFiles)
          if (matches(path)) reasons.push(`${path} changed (module "${module}" depends on it)`);
      }
      for (const conf of stepConfs(data)) {
        // A conf with a template names a file that depends on the run: any it may be.
        const matches = globMatcher([confGlob(conf)]);
        for (const path of changedFiles) if (matches(path)) reasons.push(`conf file ${path} changed`);
      }
      if (!isDeepStrictEqual(asObject(modulesHead).$flags, asObject(modulesBase).$flags))
        reasons.push(`the interface flags ($flags) changed in ${MODULES_FILE}`);
      if (modulesHead === INVALID && changedFiles.has(MODULES_FILE))
        reasons.push(`${MODULES_FILE} changed and cannot be read`);
      if (reasons.length) changed.push({ name, file, reasons: [...new Set(reasons)] });
    }
    return changed;
  });
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

/** The repository files a module runs, from its cmd: a program given with a path, and its scripts. */
function moduleFiles(module: unknown): string[] {
  const cmd = asObject(module).cmd;
  if (typeof cmd !== 'string') return [];
  let words: string[];
  try {
    words = splitWords(cmd);
  } catch {
    return [];
  }
  const files = [...(words[0]?.includes('/') ? [words[0]] : []), ...scriptArguments(words)];
  return files.map((f) => f.replace(/^(\.\/)+/, '')).filter((f) => !f.startsWith('/') && !f.startsWith('../'));
}

/** The repository-relative conf files a sequence's steps name, from unvalidated data. */
function stepConfs(sequence: unknown): string[] {
  return stepsOf(sequence).flatMap((step) => repoConfFile(asObject(step).conf) ?? []);
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
