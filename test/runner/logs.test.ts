import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { LogWriter, Redactor } from '../../src/runner/logs.js';

function writer(
  t: TestContext,
  secrets: string[] = [],
  limit?: number,
): { log: LogWriter; seen: string[]; text: () => string } {
  const dir = mkdtempSync(join(tmpdir(), 'etl-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const seen: string[] = [];
  const log = new LogWriter(join(dir, 'step.log'), new Redactor(secrets), limit, (text) => seen.push(text));
  return { log, seen, text: () => readFileSync(join(dir, 'step.log'), 'utf8') };
}

test('an unfinished line of one stream is not broken by a line of the other', (t) => {
  const { log, seen, text } = writer(t);
  log.write(Buffer.from('progress: '), 'out');
  log.write(Buffer.from('warning on stderr\n'), 'err');
  log.write(Buffer.from('done\nnext'), 'out');
  assert.deepEqual(seen, ['warning on stderr\n', 'progress: done\n']);
  log.close();
  assert.equal(text(), 'warning on stderr\nprogress: done\nnext');
});

test('a very long line without an end is written anyway, so memory stays bounded', (t) => {
  const { log, seen } = writer(t);
  log.write(Buffer.from('x'.repeat(10_000)), 'out');
  assert.equal(seen.join('').length, 10_000);
  log.close();
});

test('a runner note comes after the unfinished lines it interrupts', (t) => {
  const { log, text } = writer(t);
  log.write(Buffer.from('half a line'), 'out');
  log.note('[etl-ledger: attempt 2 of 2]');
  log.close();
  assert.equal(text(), 'half a line[etl-ledger: attempt 2 of 2]\n');
});

test('a secret of exactly 3 characters is masked, split across writes too; one of 2 is left as it is', (t) => {
  const { log, text } = writer(t, ['x7q', 'ab']);
  log.write(Buffer.from('pw=x7'), 'out');
  log.write(Buffer.from('q and ab, x7q\n'), 'out');
  log.close();
  assert.equal(text(), 'pw=*** and ab, ***\n');
});

test('a secret split across writes and streams is redacted; a long line holds back only a possible secret start', (t) => {
  const { log, seen, text } = writer(t, ['hunter2-correct-horse']);
  log.write(Buffer.from('pw=hunt'), 'out');
  log.write(Buffer.from('err: hunter2-correct-horse\n'), 'err');
  log.write(Buffer.from('er2-correct-horse\n'), 'out');
  log.write(Buffer.from(`${'y'.repeat(9000)}hunter2-co`), 'out');
  // The long line went out except the part that could begin the secret.
  assert.ok(seen.join('').endsWith('y'.repeat(100)));
  log.write(Buffer.from('rrect-horse!\n'), 'out');
  const summary = log.close();
  assert.equal(text(), `err: ***\npw=***\n${'y'.repeat(9000)}***!\n`);
  assert.equal(
    summary.bytes,
    'pw=hunt'.length +
      'err: hunter2-correct-horse\n'.length +
      'er2-correct-horse\n'.length +
      9010 +
      'rrect-horse!\n'.length,
  );
});

test('a multi-byte character split across writes is kept whole', (t) => {
  const { log, text } = writer(t);
  const bytes = Buffer.from('café ünïcode\n');
  log.write(bytes.subarray(0, 4), 'out');
  log.write(bytes.subarray(4), 'out');
  log.close();
  assert.equal(text(), 'café ünïcode\n');
});

test('a multi-line secret split across writes: the other stream never lands inside the stdout line', (t) => {
  const { log, text } = writer(t, ['abc\ndef']);
  log.write(Buffer.from('token: abc\n'), 'out');
  log.write(Buffer.from('E: on stderr\n'), 'err');
  log.write(Buffer.from('def and more\n'), 'out');
  log.close();
  assert.equal(text(), 'E: on stderr\ntoken: *** and more\n');
});
