import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { EtlError } from '../errors.js';
import { SEQUENCES_DIR } from '../definitions/model.js';
import { validate } from '../definitions/validate.js';
import { syncWorkflows } from '../github/workflows.js';
import { defaultBranch, gitQuery } from '../git/git.js';
import { runGit } from '../git/run-git.js';
import { GITIGNORE_LINES, pythonHelperFile, templateFiles } from './template.js';

export interface InitResult {
  dir: string;
  created: string[];
  /** Files that existed and were merged into: "what init changed". */
  changed: string[];
  /** Files that existed and were left exactly as they were. */
  kept: string[];
  gitInitialised: boolean;
  /** Things the user has to do by hand. */
  warnings: string[];
  /** etl-ledger is in the repository's node_modules: `npx etl` works there now. */
  installed: boolean;
  /** package.json names etl-ledger: `npm install` installs it. */
  packageNamesEtl: boolean;
}

export interface InitOptions {
  /** How package.json names etl-ledger (an npm install spec); see packageSpec(). */
  packageSpec?: string;
  /** Also write modules/etl_module.py, the helpers for modules in Python. */
  python?: boolean;
}

/**
 * Makes `target` a pipeline repository that passes `etl validate` at once, or adds what is
 * missing to an existing one. Never overwrites a file: an existing modules.json (and then
 * the example) is kept; .gitignore and package.json get only the lines they lack.
 */
export async function initRepository(target: string, options: InitOptions = {}): Promise<InitResult> {
  const dir = resolve(target);
  if (existsSync(dir) && !statIsFolder(dir)) throw new EtlError('init-not-a-folder', `${dir} is a file, not a folder`);
  mkdirSync(dir, { recursive: true });
  const result: InitResult = {
    dir,
    created: [],
    changed: [],
    kept: [],
    gitInitialised: false,
    warnings: [],
    installed: existsSync(join(dir, 'node_modules/etl-ledger/package.json')),
    packageNamesEtl: false,
  };
  // The example sequence needs the example module: with a modules.json of one's own, neither.
  const ownModules = existsSync(join(dir, 'modules.json'));
  const files = [...templateFiles(schemasFolder(dir)), ...(options.python ? [pythonHelperFile()] : [])];
  for (const file of files) {
    const path = join(dir, file.path);
    if (existsSync(path) || (ownModules && file.example)) {
      if (existsSync(path)) result.kept.push(file.path);
      continue;
    }
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.content, { flag: 'wx' });
    if (file.executable) chmodSync(path, 0o755);
    result.created.push(file.path);
  }
  mkdirSync(join(dir, SEQUENCES_DIR), { recursive: true });
  mergeLines(dir, '.gitignore', GITIGNORE_LINES, result);
  result.packageNamesEtl = mergePackageJson(dir, options.packageSpec ?? (await packageSpec()), result);
  result.gitInitialised = await initGit(dir);
  // The workflows come from the definitions, as `etl workflows generate` makes them: a
  // workflow of one's own keeps everything outside its generated regions.
  const report = await validate({ repo: dir });
  for (const state of syncWorkflows(dir, report.definitions, {
    etl: 'npx etl',
    branch: await defaultBranch(dir),
    write: true,
  })) {
    if (state.status === 'created') result.created.push(state.file);
    else if (state.status === 'updated') result.changed.push(state.file);
    else result.kept.push(state.file);
  }
  return result;
}

/**
 * Where `"$schema"` finds etl-ledger's schemas, relative to `dir`: an etl-ledger already
 * installed here or in a folder above, else where `npm install` of the package.json that
 * init writes will put it (editors find the file once it has run).
 */
function schemasFolder(dir: string): string {
  for (let folder = dir; ; folder = dirname(folder)) {
    const schemas = join(folder, 'node_modules/etl-ledger/schemas');
    if (existsSync(join(schemas, 'modules.schema.json'))) return relative(dir, schemas).split(sep).join('/');
    if (dirname(folder) === folder) return 'node_modules/etl-ledger/schemas';
  }
}

function statIsFolder(path: string): boolean {
  return statSync(path).isDirectory();
}

/** Appends the lines a text file lacks (creating it if needed). */
function mergeLines(dir: string, file: string, lines: string[], result: InitResult): void {
  const path = join(dir, file);
  const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  const have = new Set((current ?? '').split('\n').map((l) => l.trim()));
  const missing = lines.filter((line) => (line.startsWith('#') ? false : !have.has(line)));
  if (current !== undefined && missing.length === 0) return void result.kept.push(file);
  const block = current === undefined ? lines : ['# etl-ledger', ...missing];
  writeFileSync(path, `${current ?? ''}${current && !current.endsWith('\n') ? '\n' : ''}${block.join('\n')}\n`);
  (current === undefined ? result.created : result.changed).push(file);
}

interface PackageJson {
  name?: string;
  private?: boolean;
  scripts?: Record<string, string>;
  devDependencies?: Record<string, string>;
  dependencies?: Record<string, string>;
}

/** The workflows run `npm ci` and `npx etl`: package.json must install etl-ledger. True when it does. */
function mergePackageJson(dir: string, spec: string | undefined, result: InitResult): boolean {
  const path = join(dir, 'package.json');
  let pkg: PackageJson;
  const exists = existsSync(path);
  if (exists) {
    try {
      pkg = JSON.parse(readFileSync(path, 'utf8')) as PackageJson;
    } catch (error) {
      result.warnings.push(
        `package.json could not be read (${(error as Error).message}): add etl-ledger to its devDependencies yourself`,
      );
      return false;
    }
    if (pkg.dependencies?.['etl-ledger'] || pkg.devDependencies?.['etl-ledger']) {
      result.kept.push('package.json');
      return true;
    }
  } else {
    pkg = {
      name: basename(dir)
        .toLowerCase()
        .replace(/[^a-z0-9._-]+/g, '-'),
      private: true,
    };
  }
  if (!spec) {
    result.warnings.push(
      'add etl-ledger to package.json\'s devDependencies ("npm install --save-dev git+https://github.com/OWNER/etl-ledger.git"): the workflows install it with npm ci',
    );
    if (exists) result.kept.push('package.json');
    return false;
  }
  pkg.devDependencies = { ...pkg.devDependencies, 'etl-ledger': spec };
  writeFileSync(path, `${JSON.stringify(pkg, null, 2)}\n`);
  (exists ? result.changed : result.created).push('package.json');
  result.warnings.push('run "npm install" to write package-lock.json: the workflows run npm ci, which needs it');
  return true;
}

/**
 * Where this etl-ledger came from, as an npm install spec: the git repository it was cloned
 * from, or the spec of the project that installed it. Undefined when neither can be told.
 */
export async function packageSpec(): Promise<string | undefined> {
  const root = new URL('../../../', import.meta.url).pathname;
  const parent = /^(.*)\/node_modules\/etl-ledger\/$/.exec(root)?.[1];
  if (parent) {
    try {
      const pkg = JSON.parse(readFileSync(join(parent, 'package.json'), 'utf8')) as PackageJson;
      const spec = pkg.devDependencies?.['etl-ledger'] ?? pkg.dependencies?.['etl-ledger'];
      if (spec) return spec;
    } catch {
      // no readable package.json above node_modules
    }
  }
  const url = (await gitQuery(root, ['remote', 'get-url', 'origin']))?.trim();
  if (url === undefined) return undefined; // not a git checkout
  if (/^https:\/\//.test(url)) return `git+${url}`;
  const scp = /^([\w.-]+@[\w.-]+):(.+)$/.exec(url); // git@github.com:owner/etl-ledger.git
  if (scp) return `git+ssh://${scp[1]}/${scp[2]}`;
  return undefined;
}

/** `git init` unless the folder is already inside a work tree (or git is not installed). */
async function initGit(dir: string): Promise<boolean> {
  if ((await runGit(dir, ['rev-parse', '--is-inside-work-tree'])).code === 0) return false;
  return (await runGit(dir, ['init', '--quiet'])).code === 0;
}
