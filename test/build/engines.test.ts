// `npm ci` on the oldest Node we support must not warn EBADENGINE: every installed package
// has to accept that Node, or package.json's engines would be a lie. And a project that
// installs etl-ledger as a dependency gets its production tree without our package.json's
// `overrides` (npm applies them in the root package only): that tree must fit too.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/repo.js';

/** Whether a package's engines.node range accepts Node `major` (the forms npm packages use). */
function acceptsMajor(range: string, major: number): boolean {
  return range.split('||').some((alternative) => {
    const text = alternative.trim().replace(/([<>=^~]+)\s+/g, '$1'); // ">= 14.6" is ">=14.6"
    if (text === '' || text === '*' || text === 'x') return true;
    const parts = text.split(/\s+(?=[<>^~=]|\d)/);
    return parts.every((part) => {
      const match = /^(>=|>|<=|<|\^|~|=)?\s*v?(\d+)(?:\.(\d+|x))?/.exec(part);
      if (!match) return true;
      const [, op = '=', n] = match;
      const wanted = Number(n);
      if (op === '>=') return major >= wanted;
      if (op === '>') return major > wanted || (major === wanted && match[3] !== undefined);
      if (op === '<') return major < wanted;
      if (op === '<=') return major <= wanted;
      return major === wanted; // ^N, ~N, =N, N
    });
  });
}

test('the engines reader understands the ranges npm packages write', () => {
  assert.equal(acceptsMajor('>=22', 20), false);
  assert.equal(acceptsMajor('>=18', 20), true);
  assert.equal(acceptsMajor('^18.17.0 || >=20.5.0', 20), true);
  assert.equal(acceptsMajor('>= 14.17', 20), true);
  assert.equal(acceptsMajor('^20.19.0 || ^22.12.0 || >=23', 20), true);
  assert.equal(acceptsMajor('>=18 <20', 20), false);
});

test('every installed package accepts the oldest Node that package.json promises (no EBADENGINE)', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
  const oldest = Number(/(\d+)/.exec(pkg.engines.node)![1]);
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { engines?: { node?: string } | string[]; version?: string }>;
  };
  const refused = Object.entries(lock.packages)
    .filter(
      ([path, info]) =>
        path !== '' &&
        info.engines &&
        !Array.isArray(info.engines) &&
        info.engines.node &&
        !acceptsMajor(info.engines.node, oldest),
    )
    .map(
      ([path, info]) =>
        `${path.replace(/^node_modules\//, '')}@${info.version} needs Node ${(info.engines as { node: string }).node}`,
    );
  assert.deepEqual(refused, []);
});

interface LsNode {
  version?: string;
  overridden?: boolean;
  invalid?: string;
  missing?: boolean;
  dependencies?: Record<string, LsNode>;
}

test('the production tree, as a project that depends on etl-ledger installs it, accepts Node 20, 22 and 24', () => {
  let out: string;
  try {
    out = execFileSync('npm', ['ls', '--omit=dev', '--all', '--json'], { cwd: ROOT, encoding: 'utf8' });
  } catch (error) {
    out = (error as { stdout: string }).stdout; // npm ls exits 1 on a problem, and still prints the tree
  }
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { engines?: { node?: string }; version?: string }>;
  };
  const engines = new Map<string, string | undefined>();
  for (const [path, info] of Object.entries(lock.packages))
    if (path) engines.set(`${path.slice(path.lastIndexOf('node_modules/') + 13)}@${info.version}`, info.engines?.node);

  const problems: string[] = [];
  let count = 0;
  const visit = (name: string, node: LsNode, via: string) => {
    count++;
    const id = `${name}@${node.version}`;
    // Only the root package's overrides apply: a consumer would install what the range says.
    if (node.overridden) problems.push(`${id} (via ${via}) is there by an override, which a consumer does not get`);
    if (node.invalid || node.missing) problems.push(`${id} (via ${via}): ${node.invalid ?? 'missing'}`);
    const range = engines.get(id);
    for (const major of [20, 22, 24])
      if (range && !acceptsMajor(range, major)) problems.push(`${id} (via ${via}) needs Node ${range}, not ${major}`);
    for (const [child, sub] of Object.entries(node.dependencies ?? {})) visit(child, sub, `${via} > ${name}`);
  };
  const tree = JSON.parse(out) as LsNode;
  for (const [name, node] of Object.entries(tree.dependencies ?? {})) visit(name, node, 'etl-ledger');
  assert.ok(count > 20, `the production tree has only ${count} packages: is npm ls reading it?`);
  assert.deepEqual(problems, []);
});
