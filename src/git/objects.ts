import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtlError } from '../errors.js';
import type { Env } from './git.js';
import { gitOutputSync } from './run-git.js';

export interface GitObject {
  type: string;
  content: Buffer;
}

/**
 * Reads many objects (`<rev>:<path>` specs) with one `git cat-file --batch`: one process, not
 * one per object. A sync caller, hence gitOutputSync.
 */
export function readObjects(repo: string, specs: string[], env: Env = process.env): Map<string, GitObject> {
  const objects = new Map<string, GitObject>();
  if (specs.length === 0) return objects;
  const out = gitOutputSync(repo, ['cat-file', '--batch'], { env, input: `${specs.join('\n')}\n` });
  let at = 0;
  for (const spec of specs) {
    const end = out.indexOf(0x0a, at);
    const header = out.subarray(at, end).toString();
    at = end + 1;
    const match = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
    if (!match) continue; // "<spec> missing"
    const size = Number(match[2]);
    objects.set(spec, { type: match[1]!, content: out.subarray(at, at + size) });
    at += size + 1;
  }
  return objects;
}

/** The id git gives an object: sha1 of "<type> <size>\0<content>". */
export function objectId(type: 'blob' | 'tree', content: Buffer): string {
  return createHash('sha1').update(`${type} ${content.length}\0`).update(content).digest('hex');
}

export interface TreeEntry {
  mode: string;
  name: string;
  /** 40 hex digits. */
  id: string;
}

/** Parses git's binary tree format: "<mode> <name>\0<20-byte id>" repeated. */
export function parseTree(content: Buffer): TreeEntry[] {
  const entries: TreeEntry[] = [];
  for (let at = 0; at < content.length; ) {
    const space = content.indexOf(0x20, at);
    const nul = content.indexOf(0, space);
    entries.push({
      mode: content.subarray(at, space).toString(),
      name: content.subarray(space + 1, nul).toString(),
      id: content.subarray(nul + 1, nul + 21).toString('hex'),
    });
    at = nul + 21;
  }
  return entries;
}

/** Serialises a tree, entries in git's order (a folder sorts as if its name ended in "/"). */
export function formatTree(entries: TreeEntry[]): Buffer {
  // Git compares names as bytes.
  const key = (e: TreeEntry) => Buffer.from(e.mode === '40000' ? `${e.name}/` : e.name);
  const sorted = [...entries].sort((a, b) => Buffer.compare(key(a), key(b)));
  return Buffer.concat(sorted.flatMap((e) => [Buffer.from(`${e.mode} ${e.name}\0`), Buffer.from(e.id, 'hex')]));
}

/**
 * Writes objects into the repository with one `git hash-object -w --stdin-paths` per type.
 * Returns the ids git computed, which must equal the ones computed here.
 */
export function writeObjects(repo: string, type: 'blob' | 'tree', paths: string[], env: Env = process.env): string[] {
  if (paths.length === 0) return [];
  const ids = gitOutputSync(repo, ['hash-object', '-w', '-t', type, '--stdin-paths'], {
    env,
    input: `${paths.join('\n')}\n`,
  });
  return ids.toString().trim().split('\n');
}

/** Writes tree objects (id -> content, ids computed here) with one git process, checking git agrees. */
export function writeTrees(repo: string, trees: Map<string, Buffer>, env: Env = process.env): void {
  if (trees.size === 0) return;
  const dir = mkdtempSync(join(tmpdir(), 'etl-trees-'));
  try {
    const paths = [...trees].map(([id, content]) => {
      const path = join(dir, id);
      writeFileSync(path, content);
      return path;
    });
    const ids = writeObjects(repo, 'tree', paths, env);
    if (ids.join() !== [...trees.keys()].join())
      throw new EtlError('git-failed', 'git computed other tree ids than expected');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
