// What a command loads before it does anything: zod (some 100 ms of start-up) only builds the
// schemas and validators ahead of time, so no command's static imports may reach it. Read
// from the compiled files' own import statements (what Node loads when it starts them); an
// `await import()` is loaded when its moment comes and is left out.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/repo.js';

const STATIC_IMPORT = /^(?:import|export)\s[^'"]*?from\s+'([^']+)'|^import\s+'([^']+)'/gm;

/** The modules a file loads statically, through every file it loads in turn; bare names as packages. */
function staticImports(entry: string): { files: Set<string>; packages: Map<string, string> } {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const match of readFileSync(file, 'utf8').matchAll(STATIC_IMPORT)) {
      const target = match[1] ?? match[2]!;
      if (target.startsWith('.')) queue.push(resolve(dirname(file), target));
      else if (!target.startsWith('node:')) packages.set(target, file);
    }
  }
  return { files, packages };
}

for (const command of ['run', 'validate', 'plan', 'history', 'show']) {
  test(`etl ${command} does not load zod when it starts`, () => {
    const entry = join(ROOT, 'dist/src/cli', `${command}.js`);
    const { files, packages } = staticImports(entry);
    assert.ok(files.size > 5, `read only ${files.size} files from ${entry}`);
    const zod = [...packages].filter(([name]) => name === 'zod' || name.startsWith('zod/'));
    assert.deepEqual(
      zod.map(([name, file]) => `${name} from ${file.slice(ROOT.length)}`),
      [],
      'a value (not a type) imported from a file that builds zod schemas',
    );
  });
}
