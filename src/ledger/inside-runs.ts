// What a reader of the ledger may open: a run's records and logs are committed files, and a
// committed symbolic link may point anywhere (../../../../../../../.git/config, /etc/passwd).
// Nothing whose real path is outside the ledger's runs/ folder is read as a record, printed
// as a log, served or copied into a report.
import { realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { isInside } from '../paths.js';
import { RUNS_DIR } from './layout.js';

/**
 * The real path of a ledger root's runs/ folder, when it is a folder of its own inside the
 * root (runs/ may be a link to another folder of the repository, never to the root itself
 * or into .git, or every file of the checkout would count as inside it).
 */
function realRunsFolder(root: string): string | undefined {
  try {
    const realRoot = realpathSync.native(root);
    const real = realpathSync.native(join(root, RUNS_DIR));
    const inGit = isInside(join(realRoot, '.git'), real);
    return real !== realRoot && isInside(realRoot, real) && !inGit ? real : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `path` (a file under `root`'s runs/) exists and its real path lies inside that runs/ folder. */
export function insideRuns(root: string, path: string): boolean {
  const runs = realRunsFolder(root);
  if (runs === undefined) return false;
  try {
    return isInside(runs, realpathSync.native(path));
  } catch {
    return false;
  }
}

/**
 * The ledger root a path under runs/ belongs to: the folder holding its nearest runs/
 * ancestor (a run folder is runs/SEQUENCE/YYYY/MM/DD/ID), or undefined for a path not under one.
 */
export function ledgerRootOf(path: string): string | undefined {
  for (let dir = dirname(resolve(path)); dir !== dirname(dir); dir = dirname(dir)) {
    if (basename(dir) === RUNS_DIR) return dirname(dir);
  }
  return undefined;
}
