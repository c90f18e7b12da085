// depends globs are GitHub's path filters: the examples of its "Filter pattern cheat sheet"
// (workflow syntax for GitHub Actions, "Patterns to match file paths") must match here too.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dependsProblem } from '../../src/definitions/depends.js';
import { escapeGlob, matchesGlobs } from '../../src/definitions/glob.js';

/** Each row of GitHub's table: its patterns, the paths it names as matches, and as not. */
const CHEAT_SHEET: Array<{ patterns: string[]; match: string[]; noMatch?: string[] }> = [
  { patterns: ['*'], match: ['README.md', 'server.rb'], noMatch: ['docs/README.md'] },
  { patterns: ['*.jsx?'], match: ['page.js', 'page.jsx'], noMatch: ['page.jsxx', 'page.ts'] },
  { patterns: ['**'], match: ['all/the/files.md'] },
  { patterns: ['*.js'], match: ['app.js', 'index.js'], noMatch: ['js/index.js'] },
  { patterns: ['**.js'], match: ['index.js', 'js/index.js', 'src/js/app.js'] },
  { patterns: ['docs/*'], match: ['docs/README.md', 'docs/file.txt'], noMatch: ['docs/mona/octocat.txt'] },
  { patterns: ['docs/**'], match: ['docs/README.md', 'docs/mona/octocat.txt'], noMatch: ['README.md'] },
  { patterns: ['docs/**/*.md'], match: ['docs/README.md', 'docs/mona/hello-world.md', 'docs/a/markdown/file.md'] },
  { patterns: ['**/docs/**'], match: ['docs/hello.md', 'dir/docs/my-file.txt', 'space/docs/plan/space.doc'] },
  { patterns: ['**/README.md'], match: ['README.md', 'js/README.md'] },
  { patterns: ['**/*src/**'], match: ['a/src/app.js', 'my-src/code/js/app.js'] },
  { patterns: ['**/*-post.md'], match: ['my-post.md', 'path/their-post.md'] },
  {
    patterns: ['**/migrate-*.sql'],
    match: ['migrate-10909.sql', 'db/migrate-v1.0.sql', 'db/sept/migrate-v1.sql'],
  },
  { patterns: ['*.md', '!README.md'], match: ['hello.md'], noMatch: ['README.md', 'docs/hello.md'] },
  { patterns: ['*.md', '!README.md', 'README*'], match: ['hello.md', 'README.md', 'README.doc'] },
  // The cheat sheet's special characters, with its own examples: [CB]at, [1-2]00, + and ?.
  { patterns: ['[CB]at'], match: ['Cat', 'Bat'], noMatch: ['Hat', 'CBat'] },
  { patterns: ['[1-2]00'], match: ['100', '200'], noMatch: ['300'] },
  { patterns: ['v[12].[0-9]+.[0-9]+'], match: ['v1.10.1', 'v2.0.0'], noMatch: ['v3.0.0', 'v1..1'] },
  { patterns: ['Octo*'], match: ['Octocat'] },
  // The issue that made this one dialect: GitHub matches sql/a.sql with sql/[ab].sql.
  { patterns: ['sql/[ab].sql'], match: ['sql/a.sql', 'sql/b.sql'], noMatch: ['sql/c.sql', 'sql/[ab].sql'] },
];

for (const { patterns, match, noMatch = [] } of CHEAT_SHEET) {
  test(`GitHub's ${patterns.map((p) => `'${p}'`).join(', ')}: matches ${match.join(', ')}${noMatch.length ? `; not ${noMatch.join(', ')}` : ''}`, () => {
    for (const path of match) assert.ok(matchesGlobs(path, patterns), `${patterns.join(', ')} should match ${path}`);
    for (const path of noMatch)
      assert.ok(!matchesGlobs(path, patterns), `${patterns.join(', ')} should not match ${path}`);
  });
}

test('a path made into a pattern matches only itself, whatever characters it has', () => {
  for (const path of ['conf/a[1].json', 'conf/x*y?.json', '!odd+name', 'back\\slash'])
    assert.ok(matchesGlobs(path, [escapeGlob(path)]), path);
  assert.ok(!matchesGlobs('conf/a1.json', [escapeGlob('conf/a[1].json')]));
});

test('a pattern GitHub would not read the same way is a validation error', () => {
  assert.match(dependsProblem('sql/[ab.sql')!, /"\[" without its closing "\]"/);
  assert.match(dependsProblem('sql/[a-Z].sql')!, /ranges can only be a-z, A-Z or 0-9/);
  assert.match(dependsProblem('!')!, /is empty/);
  assert.match(dependsProblem('!../x')!, /must not leave the repository/);
  assert.equal(dependsProblem('!lib/**/*_test.py'), undefined);
});
