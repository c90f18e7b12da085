// The files a sequence's runs depend on, beyond its own file and modules.json: the programs
// and scripts its modules run, the conf files its steps name, and what a module declares in
// `depends` (globs). Each run pins them, `etl changed` watches them, and the generated
// workflows' path filters list them.
import { readdirSync, type Dirent } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { allSteps, MODULES_FILE, type Definitions } from './model.js';

/** A repository-relative path (not absolute, not a URL, not ~): a file to pin. */
export function isRepoPath(value: string): boolean {
  return !isAbsolute(value) && !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(value) && !value.startsWith('~');
}

/** A step's conf as a file of the repository to pin ("./conf/x.json" is "conf/x.json"), or undefined when it is not one. */
export function repoConfFile(conf: unknown): string | undefined {
  if (typeof conf !== 'string' || conf === '' || !isRepoPath(conf)) return undefined;
  return conf.replace(/^(\.\/)+/, '');
}

/** Why a `depends` pattern cannot be used, or undefined when it can. */
export function dependsProblem(pattern: string): string | undefined {
  if (!isRepoPath(pattern)) return 'must be a path inside the repository, relative to its root';
  if (pattern.split('/').includes('..')) return 'must not leave the repository ("..")';
  return undefined;
}

/** A glob as a regular expression: `**` any path, `*` any name part, `?` one character. */
export function globToRegExp(pattern: string): RegExp {
  let source = '';
  const text = pattern.replace(/^\.\//, '');
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '*' && text[i + 1] === '*') {
      // "dir/**" matches everything below dir; "**/x" matches x at any depth.
      const slash = text[i + 2] === '/';
      source += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** Folders never searched for dependencies: git's own, the ledger, installed packages. */
const SKIPPED = new Set(['.git', 'runs', 'node_modules']);

/** The files of the repository that match the patterns, repository-relative, sorted. */
export function expandGlobs(repo: string, patterns: string[]): string[] {
  if (patterns.length === 0) return [];
  const tests = patterns.map(globToRegExp);
  const found: string[] = [];
  for (const pattern of patterns) {
    // Start below the pattern's fixed prefix: "modules/lib/**" never walks the whole tree.
    const fixed = pattern.replace(/^\.\//, '').split('/');
    const stop = fixed.findIndex((part) => /[*?]/.test(part));
    const base = (stop === -1 ? fixed.slice(0, -1) : fixed.slice(0, stop)).join('/');
    walk(repo, base, (file) => {
      if (tests.some((t) => t.test(file))) found.push(file);
    });
  }
  return [...new Set(found)].sort();
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

/** The conf files a sequence's steps name inside the repository. */
export function confFiles(definitions: Definitions, sequence: string): string[] {
  const def = definitions.sequences.get(sequence);
  if (!def) return [];
  return allSteps(def).flatMap((step) => repoConfFile(step.conf) ?? []);
}

/** The `depends` patterns of the modules a sequence uses. */
export function dependsPatterns(definitions: Definitions, sequence: string): string[] {
  const def = definitions.sequences.get(sequence);
  if (!def) return [];
  return [...new Set(allSteps(def).flatMap((step) => definitions.modules.get(step.module_name)?.def.depends ?? []))];
}

/** Every definition file a run of the sequence depends on, besides its modules' programs. */
export function definitionFiles(definitions: Definitions, sequence: string): string[] {
  const def = definitions.sequences.get(sequence);
  if (!def) return [];
  return [
    def.file,
    MODULES_FILE,
    ...confFiles(definitions, sequence),
    ...expandGlobs(definitions.repo, dependsPatterns(definitions, sequence)),
  ];
}
