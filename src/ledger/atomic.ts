import { close, closeSync, fdatasync, fdatasyncSync, open, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

let counter = 0;

export interface AtomicWriteOptions {
  /** Temporary files made ahead (see SpareFiles). */
  spares?: SpareFiles;
  /**
   * Flush to disk before the rename (default). A state soon replaced (which step is running)
   * may skip it: a crash of the process still leaves old or new, and so does a power loss on
   * ext4 and btrfs, which flush a file replaced by rename first.
   */
  durable?: boolean;
  /**
   * Flush after the rename, in the background (instead of before it, on the caller's time).
   * A crash of the process still leaves the new content whole; a power loss before the flush
   * ends may leave the file empty, which readers take as not written.
   */
  flush?: BackgroundFlush;
}

/**
 * Writes a file so that a crash at any instant leaves the old content or the new, never a
 * torn one: write a temporary file in the same folder, flush it to disk, rename it over.
 */
export function writeFileAtomic(path: string, content: string, options: AtomicWriteOptions = {}): void {
  const { spares, durable = true, flush } = options;
  // Temporary names start with "." so that readers listing a folder skip them.
  const spare = spares?.take(dirname(path));
  const tmp = spare?.path ?? join(dirname(path), `.${basename(path)}.${process.pid}.${counter++}.tmp`);
  const fd = spare?.fd ?? openSync(tmp, 'w');
  try {
    writeSync(fd, content);
    // Data and size are what a reader needs back; fdatasync skips the rest (times).
    if (durable && !flush) fdatasyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(tmp);
    throw error;
  }
  if (durable && flush) {
    // rename() is atomic on one filesystem: readers see the old record or the new one, never half.
    renameSync(tmp, path);
    flush.add(fd);
    return;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

/**
 * Flushes written files to disk in the background, while the next module runs: a write
 * waits (settled()) only for the flush of the write before it, which had a whole step's time,
 * so at most one record is ever written but not yet on disk.
 */
export class BackgroundFlush {
  private pending: Promise<void> = Promise.resolve();
  private failure: NodeJS.ErrnoException | undefined;

  add(fd: number): void {
    const previous = this.pending;
    this.pending = new Promise<void>((resolve) => {
      fdatasync(fd, (error) => {
        if (error) this.failure ??= error;
        close(fd, () => void previous.then(resolve));
      });
    });
  }

  /** Resolves once every flush started so far is done; rejects if one of them failed. */
  async settled(): Promise<void> {
    await this.pending;
    if (this.failure) throw this.failure;
  }
}

export function writeJsonAtomic(path: string, value: unknown, options?: AtomicWriteOptions): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, options);
}

/**
 * Empty temporary files made ahead, in the background, for the atomic writes to come:
 * creating a file is the dearest part of a write on some filesystems (half a millisecond
 * and more), and a run writes records after every step. Made while a module runs, they cost
 * the run nothing. Unused ones are removed by close().
 */
export class SpareFiles {
  private readonly ready = new Map<string, Array<{ path: string; fd: number }>>();
  private readonly making = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly perFolder = 2) {}

  /** Starts making spare files in a folder, up to perFolder ready or on the way. */
  fill(folder: string): void {
    const have = (this.ready.get(folder)?.length ?? 0) + (this.making.get(folder) ?? 0);
    for (let i = have; i < this.perFolder && !this.closed; i++) {
      const path = join(folder, `.spare.${process.pid}.${counter++}.tmp`);
      this.making.set(folder, (this.making.get(folder) ?? 0) + 1);
      const made = new Promise<void>((resolve) => {
        open(path, 'wx', (error, fd) => {
          this.making.set(folder, this.making.get(folder)! - 1);
          if (error) return resolve();
          if (this.closed) return close(fd, () => resolve(unlinkQuietly(path)));
          const list = this.ready.get(folder) ?? [];
          list.push({ path, fd });
          this.ready.set(folder, list);
          resolve();
        });
      });
      this.inFlight.add(made);
      void made.then(() => this.inFlight.delete(made));
    }
  }

  take(folder: string): { path: string; fd: number } | undefined {
    return this.ready.get(folder)?.pop();
  }

  /** Removes the spare files not used, including those still being made. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.inFlight);
    for (const list of this.ready.values()) {
      for (const { path, fd } of list) {
        closeSync(fd);
        unlinkQuietly(path);
      }
    }
    this.ready.clear();
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone: nothing to clean.
  }
}
