import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';

/**
 * The git directory of the working tree holding `path` (a linked worktree has its own), found
 * as git finds it, or undefined outside git. No git process: every run asks.
 */
export function gitDirOf(path: string): string | undefined {
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    const dotGit = join(dir, '.git');
    try {
      if (statSync(dotGit).isDirectory()) return dotGit;
      const pointer = /^gitdir: (.+)$/m.exec(readFileSync(dotGit, 'utf8'))?.[1]?.trim();
      if (pointer) return isAbsolute(pointer) ? pointer : resolve(dir, pointer);
    } catch {
      // no .git here: look higher up
    }
    if (dirname(dir) === dir) return undefined;
  }
}
