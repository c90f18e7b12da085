import { isAbsolute, relative } from 'node:path';

/** Whether a real path lies inside a real folder (or is it). */
export function isInside(folder: string, path: string): boolean {
  const rel = relative(folder, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}
