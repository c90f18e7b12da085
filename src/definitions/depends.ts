// Conf files and `depends` globs as the files a run depends on: which values name files of
// the repository, a conf as a path filter, whether a pattern can be used, and the files a
// list of patterns matches. sequence-files.ts says which of them a sequence depends on.
import { readdirSync, type Dirent } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { escapeGlob, fixedPrefix, globMatcher, globProblem, isNegated } from './glob.js';

/** A repository-relative path (not absolute, not a URL, not ~): a file to pin. */
export function isRepoPath(value: string): boolean {
  return !isAbsolute(value) && !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(value) && !value.startsWith('~');
}

/** A step's conf as a file of the repository to pin ("./conf/x.json" is "conf/x.json"), or undefined when it is not one. */
export function repoConfFile(conf: unknown): string | undefined {
  if (typeof conf !== 'string' || conf === '' || !isRepoPath(conf)) return undefined;
  return conf.replace(/^(\.\/)+/, '');
}

/**
 * A conf file as a path filter: its path with glob characters made plain, and each template
 * (the file depends on the run: `conf/${params.region}.json`) as a wildcard.
 */
export function confGlob(conf: string): string {
  return conf
    .split(/(\$\{[^}]*\})/)
    .map((part, i) => (i % 2 === 0 ? escapeGlob(part.replace(/\$\$/g, '$')) : part.includes('/') ? '**' : '*'))
    .join('');
}

/** Why a `depends` pattern cannot be used, or undefined when it can. */
export function dependsProblem(pattern: string): string | undefined {
  const path = isNegated(pattern) ? pattern.slice(1) : pattern;
  if (!isRepoPath(path)) return 'must be a path inside the repository, relative to its root';
  if (path.split('/').includes('..')) return 'must not leave the repository ("..")';
  const glob = globProblem(pattern);
  return glob && `${glob}; patterns are GitHub's path filters (* ** ? + [] !)`;
}

/** Folders never searched for dependencies: git's own, the ledger, installed packages. */
const SKIPPED = new Set(['.git', 'runs', 'node_modules']);

/**
 * The files of the repository that a list of patterns matches (in order, "!" taking back
 * what came before, as GitHub reads them), repository-relative, sorted.
 */
export function expandGlobs(repo: string, patterns: string[]): string[] {
  const usable = patterns.filter((p) => !dependsProblem(p));
  if (usable.length === 0) return [];
  const matches = globMatcher(usable);
  const found = new Set<string>();
  // Start below each pattern's fixed prefix: "modules/lib/**" never walks the whole tree.
  const bases = [...new Set(usable.filter((p) => !isNegated(p)).map(fixedPrefix))];
  for (const base of bases.filter((b) => !bases.some((o) => o !== b && (o === '' || b.startsWith(`${o}/`)))))
    walk(repo, base, (file) => {
      if (matches(file)) found.add(file);
    });
  return [...found].sort();
}

function walk(repo: string, dir: string, visit: (file: string) => void): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(join(repo, dir), { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory() && !SKIPPED.has(entry.name)) walk(repo, path, visit);
    else if (entry.isFile()) visit(path);
  }
}
