// What a step read and wrote: for its input, output and config, when they are local files or
// folders, the size and a content hash (sha256 of a file, streamed; for a folder, a manifest
// hash over its files' paths and hashes, bounded in files and bytes, and said when the bound
// was hit). A value that is not a local path (a URL, s3://..., a database URI) is recorded as
// given and never fetched.
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, type Stats, statSync } from 'node:fs';
import { lstat, readdir, readlink, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { RanOut } from './deadline.js';
import type { Artifact } from './records.js';

/** A folder's hash stops at this many files, or bytes: a manifest of a data lake is not the point. */
export const FOLDER_MAX_FILES = 10_000;
export const FOLDER_MAX_BYTES = 16 * 1024 ** 3;

/** "s3://b/k", "https://...", "postgres://...", "sqlite:///x.db": not a path of this machine. */
export function isExternal(value: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]+:/.test(value);
}

/**
 * The artifact a step's value names, hashed as it is now; `shown` is the value as recorded.
 * Aborting `signal` (the run stopped, or its time ran out) stops a long hash at once: recorded as not hashed.
 */
export async function describeArtifact(
  value: string | undefined,
  shown: string | null,
  cwd: string,
  signal?: AbortSignal,
): Promise<Artifact | null> {
  if (value === undefined || shown === null) return null;
  if (isExternal(value)) return { path: shown, kind: 'external' };
  const full = isAbsolute(value) ? value : resolve(cwd, value);
  let info: Stats;
  try {
    // Synchronous where the work is small: a trip through the thread pool costs more than it.
    info = statSync(full);
  } catch {
    return { path: shown, kind: 'missing' };
  }
  try {
    if (info.isDirectory()) return { path: shown, kind: 'folder', ...(await hashFolder(full, signal)) };
    if (!info.isFile()) return { path: shown, kind: 'missing' };
    return { path: shown, kind: 'file', size: info.size, sha256: await hashSized(full, info.size, signal) };
  } catch (error) {
    // Unreadable (permissions), changed while it was read, the run stopped or its time ran
    // out: said, never the run's failure.
    const why = signal?.aborted
      ? `not hashed: ${signal.reason instanceof RanOut ? signal.reason.message : 'the run was stopped'}`
      : (error as Error).message;
    return { path: shown, kind: 'unreadable', error: why };
  }
}

/** Files up to this size are read in one call: a stream costs more than the read for them. */
const SMALL_FILE = 1024 * 1024;

/** sha256 of a file whose size is known: read at once when small, else streamed. */
async function hashSized(path: string, size: number, signal?: AbortSignal): Promise<string> {
  if (size > SMALL_FILE) return hashFile(path, signal);
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** sha256 of a file, streamed in 1 MiB reads: a file of any size never sits in memory. */
export function hashFile(path: string, signal?: AbortSignal): Promise<string> {
  return new Promise((done, fail) => {
    const hash = createHash('sha256');
    createReadStream(path, { highWaterMark: 1024 * 1024, signal })
      .on('data', (chunk) => hash.update(chunk))
      .on('error', fail)
      .on('end', () => done(hash.digest('hex')));
  });
}

/**
 * A folder's manifest hash: its files in path order, a line "<sha256>  <path>" each. A symbolic
 * link is followed and its target is in its line ("<sha256>  <path> -> <target>"), so editing
 * what it points at, or pointing it elsewhere, changes the hash; a link to nothing is
 * "missing  <path> -> <target>". A link that leads back into a folder being walked leaves the
 * content unknown (`bounded`: its step always runs).
 */
async function hashFolder(
  root: string,
  signal?: AbortSignal,
): Promise<Pick<Artifact, 'size' | 'sha256' | 'files' | 'bounded'>> {
  const manifest = createHash('sha256');
  let files = 0;
  let size = 0;
  let bounded: string | undefined;
  // `within`: the real paths of the folders being walked, for links that loop.
  const walk = async (dir: string, prefix: string, within: Set<string>): Promise<void> => {
    const names = (await readdir(dir)).sort();
    for (const name of names) {
      if (bounded) return;
      signal?.throwIfAborted();
      const path = join(dir, name);
      const relative = prefix ? `${prefix}/${name}` : name;
      let info = await lstat(path);
      let line = relative;
      if (info.isSymbolicLink()) {
        line = `${relative} -> ${await readlink(path)}`;
        try {
          info = await stat(path);
        } catch {
          manifest.update(`missing  ${line}\n`);
          continue;
        }
      }
      if (info.isDirectory()) {
        const real = await realpath(path);
        if (within.has(real)) {
          bounded = `a symbolic link loops: ${line}`;
          return;
        }
        if (line !== relative) manifest.update(`folder  ${line}\n`);
        await walk(path, relative, new Set([...within, real]));
      } else if (info.isFile()) {
        if (files >= FOLDER_MAX_FILES) bounded = `stopped after ${FOLDER_MAX_FILES} files`;
        else if (size + info.size > FOLDER_MAX_BYTES)
          bounded = `stopped before ${relative}: past ${FOLDER_MAX_BYTES / 1024 ** 3} GiB`;
        else {
          manifest.update(`${await hashSized(path, info.size, signal)}  ${line}\n`);
          files++;
          size += info.size;
        }
      }
    }
  };
  await walk(root, '', new Set([await realpath(root)]));
  return { size, sha256: manifest.digest('hex'), files, ...(bounded ? { bounded } : {}) };
}
