// The definitions a run pinned, read back from git: each file's content by the blob hash the
// run recorded, and what changed between two runs' pins as unified diffs. A file that ran
// with uncommitted changes may have no blob in git: its content is then unknown, and said so.
import { createTwoFilesPatch } from 'diff';
import type { Env } from '../git/git.js';
import { readObjects } from '../git/objects.js';
import type { DefinitionsPin } from '../runner/records.js';

export interface PinnedFile {
  path: string;
  /** The blob hash the run recorded; null when the file was missing. */
  blob: string | null;
  /** The content, or null when git does not hold that blob (an uncommitted edit) or it is binary. */
  content: string | null;
}

export interface PinnedChange {
  path: string;
  change: 'added' | 'removed' | 'changed';
  /** A unified diff from the older pin to the newer; null when a side's content is unknown. */
  patch: string | null;
}

/** Every file a pin names, with its content read from git. */
export function pinnedFiles(repo: string, pin: DefinitionsPin, env: Env = process.env): PinnedFile[] {
  const contents = blobContents(repo, Object.values(pin.files), env);
  return Object.entries(pin.files)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([path, blob]) => ({ path, blob, content: blob ? (contents.get(blob) ?? null) : null }));
}

/** The files whose pinned blob differs between two runs, with a diff of each. */
export function pinDiff(repo: string, older: DefinitionsPin, newer: DefinitionsPin, env: Env = process.env) {
  const paths = [...new Set([...Object.keys(older.files), ...Object.keys(newer.files)])].sort();
  const changed = paths.filter((path) => (older.files[path] ?? null) !== (newer.files[path] ?? null));
  const blobs = changed.flatMap((path) => [older.files[path], newer.files[path]]);
  const contents = blobContents(repo, blobs, env);
  return changed.map((path): PinnedChange => {
    const before = older.files[path] ?? null;
    const after = newer.files[path] ?? null;
    const change = before === null ? 'added' : after === null ? 'removed' : 'changed';
    const text = (blob: string | null) => (blob === null ? '' : (contents.get(blob) ?? null));
    const [a, b] = [text(before), text(after)];
    const patch =
      a === null || b === null
        ? null
        : // As git prints one: from the "---" line on (the library heads it with a rule).
          createTwoFilesPatch(`a/${path}`, `b/${path}`, a, b, before ?? 'missing', after ?? 'missing').replace(
            /^=+\n/,
            '',
          );
    return { path, change, patch };
  });
}

/** Blob hash -> UTF-8 text, for the blobs git holds (binary files are left out). */
function blobContents(repo: string, blobs: Array<string | null | undefined>, env: Env): Map<string, string> {
  const wanted = [...new Set(blobs.filter((b): b is string => typeof b === 'string' && /^[0-9a-f]{40,64}$/.test(b)))];
  const texts = new Map<string, string>();
  let objects: ReturnType<typeof readObjects>;
  try {
    objects = readObjects(repo, wanted, env);
  } catch {
    return texts; // not a git repository: nothing can be read back
  }
  for (const [blob, object] of objects) {
    if (object.type !== 'blob' || object.content.includes(0)) continue;
    texts.set(blob, object.content.toString('utf8'));
  }
  return texts;
}
