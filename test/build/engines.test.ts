// `npm ci` on the oldest Node we support must not warn EBADENGINE: every installed package
// has to accept that Node, or package.json's engines would be a lie.
import assert from 'node:assert/strict';
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
