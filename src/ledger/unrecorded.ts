// The run folders of a working tree that are not yet recorded in git, kept as a small list in
// its git directory: `etl ledger sync` reads the list instead of asking git to look at every
// file under runs/ (3.3 s with 100,000 runs in the ledger, and growing with it).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitDirOf } from '../git/git-dir.js';
import { RUN_ID_PATTERN } from './layout.js';

const folderOf = (gitDir: string) => join(gitDir, 'etl', 'unrecorded');
const scannedMark = (gitDir: string) => join(gitDir, 'etl', 'ledger-scanned');

/**
 * Notes a run folder about to be made, before it exists: a crash right after leaves the note.
 * A git directory the runner cannot write to costs the note, not the run: the next full scan
 * (`etl ledger sync --scan`) still finds the folder.
 */
export function noteUnrecorded(ledger: string, runId: string, folder: string): void {
  const gitDir = gitDirOf(ledger);
  if (!gitDir) return;
  try {
    mkdirSync(folderOf(gitDir), { recursive: true });
    writeFileSync(join(folderOf(gitDir), runId), `${folder}\n`);
  } catch {
    // see above
  }
}

/** The run is in git now (or its folder is gone): forget it. */
export function forgetUnrecorded(ledger: string, runId: string): void {
  const gitDir = gitDirOf(ledger);
  if (gitDir && RUN_ID_PATTERN.test(runId)) rmSync(join(folderOf(gitDir), runId), { force: true });
}

/** The run folders noted and not yet forgotten, relative to the ledger. */
export function listUnrecorded(ledger: string): Array<{ runId: string; folder: string }> {
  const gitDir = gitDirOf(ledger);
  if (!gitDir) return [];
  let names: string[];
  try {
    names = readdirSync(folderOf(gitDir));
  } catch {
    return [];
  }
  return names
    .filter((name) => RUN_ID_PATTERN.test(name))
    .flatMap((runId) => {
      try {
        return [{ runId, folder: readFileSync(join(folderOf(gitDir), runId), 'utf8').trim() }];
      } catch {
        return [];
      }
    });
}

/**
 * Whether the whole ledger has been looked at once since the list was kept: folders made
 * before (by an older etl, or copied in) are on no list.
 */
export function ledgerScanned(ledger: string): boolean {
  const gitDir = gitDirOf(ledger);
  return gitDir !== undefined && existsSync(scannedMark(gitDir));
}

export function markLedgerScanned(ledger: string): void {
  const gitDir = gitDirOf(ledger);
  if (!gitDir) return;
  mkdirSync(folderOf(gitDir), { recursive: true });
  writeFileSync(scannedMark(gitDir), `${new Date().toISOString()}\n`);
}
