import { close, closeSync, fdatasync, fdatasyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

let counter = 0;

export interface AtomicWriteOptions {
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
  stageFileAtomic(path, content, options).commit();
}

/** A file written aside, not yet in its place. */
export interface StagedFile {
  /** Renames it into place (and starts its background flush). */
  commit(): void;
  /** Removes it. */
  discard(): void;
}

/** The first half of writeFileAtomic: the temporary file, written (and flushed, if durable without a background flush). */
export function stageFileAtomic(path: string, content: string, options: AtomicWriteOptions = {}): StagedFile {
  const { durable = true, flush } = options;
  // Temporary names start with "." so that readers listing a folder skip them.
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${counter++}.tmp`);
  const fd = openSync(tmp, 'w');
  const discard = () => {
    closeSync(fd);
    unlinkSync(tmp);
  };
  try {
    writeSync(fd, content);
    // Data and size are what a reader needs back; fdatasync skips the rest (times).
    if (durable && !flush) fdatasyncSync(fd);
  } catch (error) {
    discard();
    throw error;
  }
  return {
    discard,
    commit() {
      // rename() is atomic on one filesystem: readers see the old record or the new one, never half.
      renameSync(tmp, path);
      if (durable && flush) flush.add(fd);
      else closeSync(fd);
    },
  };
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
