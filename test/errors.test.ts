// One owner for exit codes: every error code has its exit, and the CLI boundary uses it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ERROR_EXITS, EtlError, exitCodeFor, ExitCode, type ErrorCode } from '../src/errors.js';
import { internalErrorReport } from '../src/cli/internal-error.js';

/** What each kind of failure exits with, as the README's table says. */
const EXPECTED: Record<string, number> = { invalid: 2, failed: 1, locked: 3, remote: 4 };

test('every error code maps to a documented exit: usage 2, run failed 1, lock 3, git/GitHub 4', () => {
  const codes = Object.keys(ERROR_EXITS) as ErrorCode[];
  assert.ok(codes.length >= 40, `only ${codes.length} codes`);
  for (const code of codes) assert.equal(exitCodeFor(new EtlError(code, 'x')), EXPECTED[ERROR_EXITS[code]], code);
  // The ones the trial found wrong: a remote or API failure is not a usage error.
  for (const code of [
    'push-failed',
    'git-failed',
    'github-permission',
    'github-token',
    'github-not-found',
    'github-unreachable',
  ] as const) {
    assert.equal(exitCodeFor(new EtlError(code, 'x')), ExitCode.remote, code);
  }
  assert.equal(exitCodeFor(new EtlError('github-token-missing', 'x')), ExitCode.invalid);
  assert.equal(exitCodeFor(new EtlError('locked', 'x')), ExitCode.locked);
});

test("the internal-error report gives the version, Node and a place to report, with the user's paths redacted", () => {
  const error = new Error('boom');
  error.stack =
    'Error: boom\n    at run (/home/ana/pipelines/node_modules/etl-ledger/dist/x.js:1:1)\n    at /home/ana/data/y.js:2:2';
  const report = internalErrorReport(error, '/home/ana/pipelines', '/home/ana');
  assert.match(
    report,
    /^etl: internal error \(a bug in etl-ledger, not in your pipeline\)\netl-ledger \d+\.\d+\.\d+, Node v\d+/,
  );
  assert.match(report, /Please report it/);
  assert.match(report, /at run \(\.\/node_modules\/etl-ledger\/dist\/x\.js:1:1\)/);
  assert.match(report, /at ~\/data\/y\.js/);
  assert.doesNotMatch(report, /\/home\/ana/);
});
