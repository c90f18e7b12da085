import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { EtlError } from '../errors.js';
import { validate } from '../definitions/validate.js';
import { renderWorkflows, syncWorkflows, WORKFLOWS_DIR } from '../github/workflows.js';
import { defaultBranch } from '../ledger/git.js';
import { TEMPLATE_FILES } from './template.js';

export interface InitResult {
  dir: string;
  created: string[];
  gitInitialised: boolean;
}

/**
 * Scaffolds a pipeline repository that passes `etl validate` at once. Never overwrites:
 * if any file it would write exists, nothing is written.
 */
export async function initRepository(target: string): Promise<InitResult> {
  const dir = resolve(target);
  const existing = [...TEMPLATE_FILES.map((f) => f.path), ...Object.keys(renderWorkflows({ repo: dir, modules: new Map(), sequences: new Map() }, { etl: '', branch: '' })).map((f) => `${WORKFLOWS_DIR}/${f}`)].filter((path) => existsSync(join(dir, path)));
  if (existing.length > 0) {
    throw new EtlError('init-would-overwrite', `${dir} already has ${existing.join(', ')}; etl init writes only into a folder without them, so nothing was changed`);
  }
  for (const file of TEMPLATE_FILES) {
    const path = join(dir, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.content, { flag: 'wx' });
    if (file.executable) chmodSync(path, 0o755);
  }
  const gitInitialised = initGit(dir);
  // The workflows come from the definitions just written, as `etl workflows generate` makes them.
  const report = await validate({ repo: dir });
  const workflows = syncWorkflows(dir, report.definitions, { etl: 'npx etl', branch: await defaultBranch(dir), write: true }).map((w) => w.file);
  return { dir, created: [...TEMPLATE_FILES.map((f) => f.path), ...workflows], gitInitialised };
}

/** `git init` unless the folder is already inside a work tree (or git is not installed). */
function initGit(dir: string): boolean {
  try {
    execFileSync('git', ['rev-parse', '--is-inside-work-tree'], { cwd: dir, stdio: 'ignore' });
    return false;
  } catch {
    try {
      execFileSync('git', ['init', '--quiet'], { cwd: dir, stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  }
}
