// Inputs that once gave stack traces: each gets a clear, located error and exit 2, and a bad
// file never hides the other sequences.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pipelineRepo, runCli, tempRepo } from '../helpers/repo.js';
import { onlyRun } from '../helpers/runs.js';

const OK = { modules: { ok: { cmd: './modules/ok.sh' } }, sequences: { s: [{ module_name: 'ok' }] } };
const noTrace = (text: string) => assert.doesNotMatch(text, /internal error|\n\s+at .*:\d+:\d+/);

test('--repo that does not exist, is a file, or ends in a newline: a clear error for every command', async (t) => {
  const dir = tempRepo(t, { 'file.txt': 'x' });
  for (const [repo, message] of [
    ['/nonexistent', /--repo "\/nonexistent": no such folder/],
    [join(dir, 'file.txt'), /is a file, not a folder/],
    [`${dir}\n`, /--repo ".*\\n": no such folder/],
    ['', /--repo "" names no folder/],
  ] as const) {
    for (const command of [
      ['run', 'one'],
      ['validate'],
      ['list'],
      ['history'],
      ['show', 'x'],
      ['logs', 'x'],
      ['plan', 'x'],
      ['ledger', 'sync'],
      ['changed', '--base', 'HEAD'],
      ['due'],
      ['log'],
    ]) {
      const result = await runCli(['--repo', repo, ...command]);
      assert.equal(result.code, 2, `${command[0]}: ${result.stderr}`);
      assert.match(result.stderr, message, command[0]);
      noTrace(result.stderr);
    }
  }
  const missing = await runCli(['run', 's', '--repo']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^etl: run: --repo needs a value; run "etl run --help" for its options\n$/);
  const alone = await runCli(['--repo']);
  assert.equal(alone.code, 2);
  assert.match(alone.stderr, /--repo needs a folder: etl --repo DIR <command>/);
  const negative = await runCli(['history', '--limit', '-1']);
  assert.match(
    negative.stderr,
    /^etl: history: --limit needs a value; one that starts with "-" is written --limit=-1; run "etl history --help" for its options\n$/,
  );
});

for (const [extension, deep] of [
  ['json', `${'['.repeat(6000)}${']'.repeat(6000)}`],
  ['yaml', `${'['.repeat(6000)}${']'.repeat(6000)}`],
  ['json', `${'{"a":'.repeat(6000)}1${'}'.repeat(6000)}`],
] as const) {
  test(`a ${extension} file nested 6,000 levels deep is a located syntax error; the other sequences still validate and list`, async (t) => {
    const repo = pipelineRepo(t, OK);
    writeFileSync(join(repo, `etl_sequences/deep.${extension}`), deep);
    const result = await runCli(['validate', '--format', 'json'], { cwd: repo });
    assert.equal(result.code, 2);
    noTrace(result.stderr);
    const issues = JSON.parse(result.stdout) as Array<{ file: string; code: string; message: string }>;
    assert.deepEqual(
      issues.map((i) => `${i.file} ${i.code}`),
      [`etl_sequences/deep.${extension} syntax-error`],
    );
    assert.match(issues[0]!.message, /nest/);
    const list = await runCli(['list'], { cwd: repo });
    assert.match(list.stdout, /^s\s/m);
    assert.equal((await runCli(['run', 's'], { cwd: repo })).code, 0);
  });
}

test('a number an option takes is written in digits: 1e3, 0x10 and 2.0 are refused, not read as 1000, 16 and 2', async (t) => {
  const repo = tempRepo(t, { 'modules.json': '{}' });
  for (const [args, message] of [
    [['history', '--limit', '0x10'], /--limit must be a positive whole number, got "0x10"/],
    [['report', '--out', 'site', '--runs', '1e3'], /--runs must be a number of runs \(1 to 10000\), got "1e3"/],
    [['ui', '--port', '8e3'], /--port must be a port number \(0 to 65535\), got "8e3"/],
    [
      ['ledger', 'prune', '--keep-runs', '2.0', '--dry-run'],
      /--keep-runs takes a whole number of runs, at least 1, got "2\.0"/,
    ],
  ] as const) {
    const result = await runCli([...args], { cwd: repo });
    assert.equal(result.code, 2, args.join(' '));
    assert.match(result.stderr, message, args.join(' '));
  }
});

test('a NUL byte in an input, output, conf or env value, or a 200,000-character value, is a validation error: nothing runs', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh', env: { BIG: 'x'.repeat(200_000) } }, plain: { cmd: './modules/ok.sh' } },
    sequences: {
      nul: {
        env: { A: 'a\u0000b' },
        steps: [{ module_name: 'plain', input: 'in\u0000put', output: 'o\u0000', env: { B: '\u0000' } }],
      },
      big: [{ module_name: 'ok' }],
      long: [{ module_name: 'plain', input: 'i'.repeat(200_000) }],
    },
  });
  const result = await runCli(['validate', '--format', 'json'], { cwd: repo });
  assert.equal(result.code, 2);
  const issues = JSON.parse(result.stdout) as Array<{ file: string; line: number; code: string; message: string }>;
  assert.deepEqual(issues.map((i) => `${i.file} ${i.code}`).sort(), [
    'etl_sequences/long.json value-too-long',
    'etl_sequences/nul.json nul-character',
    'etl_sequences/nul.json nul-character',
    'etl_sequences/nul.json nul-character',
    'etl_sequences/nul.json nul-character',
    'modules.json value-too-long',
  ]);
  for (const name of ['nul', 'big', 'long']) {
    const run = await runCli(['run', name], { cwd: repo });
    assert.equal(run.code, 2, name);
    noTrace(run.stderr);
  }
  assert.equal((await runCli(['history'], { cwd: repo })).stdout, 'no runs in the ledger yet\n');
});

test('arguments and environment too large together (E2BIG) fail the step with that reason, recorded, not a ledger error', async (t) => {
  // Each value and each file is within its own limit; together they pass the kernel's ARG_MAX.
  const values = (prefix: string, n: number) =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, 'x'.repeat(120_000)]));
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh', env: values('M', 8) } },
    sequences: { s: { env: values('S', 8), steps: [{ module_name: 'ok' }] } },
  });
  const result = await runCli(['run', 's'], { cwd: repo, env: values('R', 4) });
  assert.equal(result.code, 1, result.stderr);
  noTrace(result.stderr);
  assert.doesNotMatch(result.stderr, /ledger-write/);
  const { run, steps } = onlyRun(repo);
  assert.equal(run.status, 'failed');
  assert.match(steps[0]!.attempts[0]!.error!, /cannot start .*E2BIG/);
});

test('a sequence that is neither defined nor ever ran is a usage error for every read command; one that is, is not', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: { daily: [{ module_name: 'ok' }], never: [{ module_name: 'ok' }] },
  });
  assert.equal((await runCli(['run', 'daily'], { cwd: repo })).code, 0);
  for (const args of [
    ['history', 'nosuch'],
    ['history', 'nosuch', '--ticks'],
    ['metrics', 'nosuch'],
    ['log', 'nosuch'],
    ['show', 'nosuch'],
    ['logs', 'nosuch'],
  ]) {
    const result = await runCli(args, { cwd: repo });
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stdout}`);
    assert.match(result.stderr, /"nosuch"/, args.join(' '));
    noTrace(result.stderr);
  }
  const typo = await runCli(['metrics', 'dayly'], { cwd: repo });
  assert.match(
    typo.stderr,
    /no sequence "dayly" in etl_sequences\/, and no runs of it in the ledger \(did you mean "daily"\?\)/,
  );
  // Defined and never run, or run and no longer defined: an empty answer, not an error.
  for (const args of [
    ['history', 'never'],
    ['metrics', 'never'],
    ['history', 'never', '--ticks'],
  ])
    assert.equal((await runCli(args, { cwd: repo })).code, 0, args.join(' '));
  rmSync(join(repo, 'etl_sequences/daily.json'));
  for (const args of [
    ['history', 'daily'],
    ['metrics', 'daily'],
  ])
    assert.equal((await runCli(args, { cwd: repo })).code, 0, args.join(' '));
});
