import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitQuotedWords, splitWords } from '../../src/definitions/words.js';

test('a command line splits into words as sh quotes them, nothing expanded', () => {
  assert.deepEqual(splitWords(`sed 's/a/b/;s/c/d/' "x|y" a\\;b '' $HOME`), [
    'sed',
    's/a/b/;s/c/d/',
    'x|y',
    'a;b',
    '',
    '$HOME',
  ]);
  assert.throws(() => splitWords("sh 'open"), /unterminated single quote at character 4/);
});

test('each word tells which of its characters a shell would have taken as written, inside "...", or quoted', () => {
  const [plain, single, double, escaped] = splitQuotedWords(`a;b 'p>q' "$(x)|y" x\\&`);
  assert.deepEqual(plain, { text: 'a;b', bare: 'a;b', unquoted: 'a;b' });
  assert.deepEqual(single, { text: 'p>q', bare: '   ', unquoted: '   ' });
  assert.deepEqual(double, { text: '$(x)|y', bare: '      ', unquoted: '$(x)|y' });
  assert.deepEqual(escaped, { text: 'x&', bare: 'x ', unquoted: 'x ' });
});
