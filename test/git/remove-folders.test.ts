// Removing many folders in one commit (what etl ledger prune does in git): the tree git itself
// would make, the user's index and working tree otherwise untouched, and the folders taken
// out of the working tree through the trash, emptied in the background when there are many.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { commitFolderRemoval } from '../../src/git/remove-folders.js';
import { discardFolders } from '../../src/git/trash.js';
import { git, initRepo } from '../helpers/git.js';
import { tempRepo, writeFiles } from '../helpers/repo.js';

const FOLDERS = {
  whole: ['runs/a/2025/01/01/r1', 'runs/a/2025/01/01/r2'], // the whole day goes
  part: ['runs/a/2025/01/02/r3'], // r4 stays beside it
  other: ['runs/b with space/2025/02/03/r"5'], // names git would quote
};

function ledger(t: Parameters<typeof tempRepo>[0]): string {
  const repo = initRepo(tempRepo(t));
  const files: Record<string, string> = { 'README.md': 'hello\n', 'runs/a/2025/01/02/r4/run.json': '{}\n' };
  for (const folder of Object.values(FOLDERS).flat()) {
    files[`${folder}/run.json`] = `{"folder": ${JSON.stringify(folder)}}\n`;
    files[`${folder}/steps/01-x.json`] = '{}\n';
  }
  writeFiles(repo, files);
  git(repo, 'add', '-A');
  git(repo, 'commit', '--quiet', '-m', 'runs');
  return repo;
}

/** Waits for a path to be gone (a background process deletes it), at most 20 s. */
async function gone(path: string): Promise<boolean> {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50)))
    if (!existsSync(path)) return true;
  return false;
}

test("the prune's commit has the tree git rm makes; what the user staged stays staged, their changes stay theirs", async (t) => {
  const repo = ledger(t);
  const removed = Object.values(FOLDERS).flat();
  // What git itself makes of the same removal, in a temporary index.
  const byGit = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: repo,
      encoding: 'utf8',
      env: { ...process.env, GIT_INDEX_FILE: join(repo, '.git/expected-index') },
    }).trim();
  byGit('read-tree', 'HEAD');
  byGit('rm', '--cached', '-r', '-q', '--', ...removed);
  const expected = byGit('write-tree');

  writeFileSync(join(repo, 'README.md'), 'staged\n');
  git(repo, 'add', 'README.md');
  writeFileSync(join(repo, 'notes.txt'), 'untracked\n');
  writeFileSync(join(repo, 'runs/a/2025/01/02/r4/run.json'), '{"changed": true}\n');
  const before = git(repo, 'rev-parse', 'HEAD');

  const result = await commitFolderRemoval(repo, removed, { base: 'runs', message: 'prune', reflog: 'prune' });
  assert.ok(result.commit);
  assert.equal(git(repo, 'rev-parse', 'HEAD~1'), before);
  assert.equal(git(repo, 'rev-parse', 'HEAD^{tree}'), expected);
  assert.deepEqual(
    git(repo, 'status', '--porcelain', '--untracked-files=all').split('\n'),
    ['M  README.md', ' M runs/a/2025/01/02/r4/run.json', '?? notes.txt'],
    'staged, changed and untracked as before; the removed files are nowhere',
  );
  for (const folder of removed) assert.equal(existsSync(join(repo, folder)), false, folder);
  assert.deepEqual(readdirSync(join(repo, 'runs/a/2025/01')), ['02'], "the emptied day's folder is gone");
  assert.deepEqual(readdirSync(join(repo, 'runs/b with space')), [], "the sequence's own folder stays, empty");
  assert.equal(result.emptying, undefined, 'a few folders are deleted at once');
  assert.equal(existsSync(join(repo, '.git/etl-trash')), false);

  // Nothing of HEAD left to remove: no commit.
  const again = await commitFolderRemoval(repo, removed, { base: 'runs', message: 'prune', reflog: 'prune' });
  assert.equal(again.commit, undefined);
  assert.equal(git(repo, 'rev-parse', 'HEAD~1'), before);
});

test('many folders leave the working tree at once and a background process empties the trash, earlier leftovers too', async (t) => {
  const repo = ledger(t);
  const trash = join(repo, '.git/etl-trash');
  // What an emptying cut short (the machine stopped) left behind.
  mkdirSync(join(trash, 'earlier/0/steps'), { recursive: true });
  writeFileSync(join(trash, 'earlier/0/steps/01-x.json'), '{}');

  const folders = [...FOLDERS.whole, ...FOLDERS.part];
  const result = discardFolders(repo, folders, 'runs', 2);
  assert.equal(result.emptying, trash);
  assert.deepEqual(result.left, []);
  for (const folder of folders) assert.equal(existsSync(join(repo, folder)), false, folder);
  assert.ok(await gone(trash), 'the trash is emptied');

  // A small discard also takes what an earlier one left.
  mkdirSync(join(trash, 'earlier'), { recursive: true });
  const small = discardFolders(repo, FOLDERS.other, 'runs');
  assert.equal(small.emptying, trash);
  assert.ok(await gone(trash));
  assert.equal(existsSync(join(repo, FOLDERS.other[0]!)), false);
});

test('where the trash cannot be used, the folders are deleted where they are', (t) => {
  const repo = ledger(t);
  writeFileSync(join(repo, '.git/etl-trash'), 'not a folder'); // as a rename across file systems fails
  const result = discardFolders(repo, FOLDERS.whole, 'runs', 1);
  assert.deepEqual(result, { left: [] });
  for (const folder of FOLDERS.whole) assert.equal(existsSync(join(repo, folder)), false, folder);
  assert.deepEqual(readdirSync(join(repo, 'runs/a/2025/01')), ['02']);
});
