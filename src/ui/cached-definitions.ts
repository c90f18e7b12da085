import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Definitions, MODULES_FILE, SEQUENCES_DIR } from '../definitions/model.js';
import { validate } from '../definitions/validate.js';

/**
 * The definitions, validated again only when a definition file changed (its size or time, or
 * the list of sequence files): an edited schedule shows without a restart, and an overview
 * does not pay a whole validation (some 30 ms for 200 sequences) every time.
 */
export function cachedDefinitions(repo: string, env: NodeJS.ProcessEnv): () => Promise<Definitions | undefined> {
  let cached: { signature: string; definitions: Definitions } | undefined;
  const stamp = (path: string) => {
    try {
      const stat = statSync(path);
      return `${stat.size}:${stat.mtimeMs}`;
    } catch {
      return '-';
    }
  };
  return async () => {
    const sequences = join(repo, SEQUENCES_DIR);
    let names: string[] = [];
    try {
      names = readdirSync(sequences).sort();
    } catch {
      // no etl_sequences/: validation says so
    }
    const signature = [
      stamp(join(repo, MODULES_FILE)),
      ...names.map((name) => `${name}=${stamp(join(sequences, name))}`),
    ].join('|');
    if (cached?.signature !== signature)
      cached = { signature, definitions: (await validate({ repo, env })).definitions };
    return cached.definitions;
  };
}
