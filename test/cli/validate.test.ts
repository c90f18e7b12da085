import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fixture, ROOT, runCli, tempRepo } from '../helpers/repo.js';

const INVALID = fixture('invalid');

test('the bundled example validates with no problems', async () => {
  const result = await runCli(['validate']);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /✓ 1 valid sequence, 6 modules: no problems/);
});

test('the seed files as published: missing scripts and config are errors, nothing else', async () => {
  const result = await runCli(['validate', '--format', 'json', '--repo', fixture('seed')]);
  assert.equal(result.code, 2);
  const issues = JSON.parse(result.stdout) as Array<{ file: string; line: number; column: number; code: string }>;
  assert.deepEqual(
    issues.map((i) => `${i.file}:${i.line}:${i.column} ${i.code}`),
    [
      'etl_sequences/dummy_etl.json:12:18 missing-conf',
      'modules.json:3:17 missing-command',
      'modules.json:6:17 missing-command',
      'modules.json:9:17 missing-command',
    ],
  );
});

test('the seed files, unchanged, validate once their scripts exist', async () => {
  const result = await runCli(['validate', '--strict', '--repo', fixture('seed-runnable')]);
  assert.equal(result.code, 0, result.stdout);
});

test('--format json prints an array of {file, line, column, severity, code, message} and nothing else', async () => {
  const result = await runCli(['validate', '--format', 'json', '--repo', join(INVALID, 'unknown-module')]);
  assert.equal(result.code, 2);
  assert.deepEqual(JSON.parse(result.stdout), [
    {
      file: 'etl_sequences/daily.yaml',
      line: 7,
      column: 18,
      severity: 'error',
      code: 'unknown-module',
      message: 'unknown module "extractr" (did you mean "extractor"?); modules.json defines extractor, loader',
    },
  ]);
});

test('--format github prints escaped annotations with paths relative to the working directory', async () => {
  const repo = join(INVALID, 'unknown-key-step');
  const result = await runCli(['validate', '--format', 'github', '--repo', repo]);
  assert.equal(result.code, 2);
  const file = relative(ROOT, join(repo, 'etl_sequences/daily.json'));
  assert.equal(
    result.stdout,
    `::error file=${file},line=3,col=5,title=etl unknown-key::unknown key "modul_name" (did you mean "module_name"?); expected one of: module_name, run, call, params, name, input, output, conf, timeout, retries, retry_delay, backoff, retry_on, env, expect, if, continue_on, needs, skip_unchanged\n`,
  );
});

test('--format github escapes newlines, percent signs, colons and commas', async (t) => {
  const repo = tempRepo(t, {
    'modules.json': '{"x": {"cmd": "true"}}',
    'etl_sequences/a,b:c.json': '[{"module_name": "x"}]',
    'etl_sequences/ok.json': '[{"module_name": "x\\n100%"}]',
  });
  const result = await runCli(['validate', '--format', 'github'], { cwd: repo });
  assert.equal(result.code, 2);
  const lines = result.stdout.trim().split('\n');
  assert.equal(lines.length, 2);
  assert.match(
    lines[0]!,
    /^::error file=etl_sequences\/a%2Cb%3Ac\.json,line=1,col=1,title=etl invalid-sequence-name::invalid sequence name "a,b:c": /,
  );
  assert.match(
    lines[1]!,
    /^::error file=etl_sequences\/ok\.json,line=1,col=18,title=etl unknown-module::unknown module "x%0A100%25"/,
  );
});

test('warnings pass, unless --strict', async () => {
  const repo = join(INVALID, 'none-literal');
  assert.equal((await runCli(['validate', '--repo', repo])).code, 0);
  const strict = await runCli(['validate', '--strict', '--repo', repo]);
  assert.equal(strict.code, 2);
  assert.match(strict.stdout, /2 warnings/);
});

test('named sequences are validated with only the modules they use', async (t) => {
  const repo = tempRepo(t, {
    'modules.json': JSON.stringify({
      good: { cmd: 'true' },
      broken: { cmd: './missing.sh' },
      typo: { cmd: 'true', timout: '1m' },
    }),
    'etl_sequences/fine.json': '[{"module_name": "good"}]',
    'etl_sequences/bad.json': '[{"module_name": "broken"}]',
  });
  const one = await runCli(['validate', 'fine'], { cwd: repo });
  assert.equal(one.code, 0, one.stdout);
  const all = await runCli(['validate', '--format', 'json'], { cwd: repo });
  assert.deepEqual(
    JSON.parse(all.stdout).map((i: { code: string }) => i.code),
    ['missing-command', 'unknown-key'],
  );
  const byPath = await runCli(['validate', 'etl_sequences/bad.json'], { cwd: repo });
  assert.equal(byPath.code, 2);
  assert.match(byPath.stdout, /missing-command/);
});

test('an unknown sequence name or one that leaves etl_sequences/ is a usage error', async (t) => {
  const repo = tempRepo(t, {
    'modules.json': '{"x": {"cmd": "true"}}',
    'etl_sequences/daily.json': '[{"module_name": "x"}]',
    'secret.json': '[]',
  });
  const unknown = await runCli(['validate', 'dayly'], { cwd: repo });
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown sequence "dayly" \(did you mean "daily"\?\)/);
  for (const name of ['../secret', 'etl_sequences/../secret.json', '/etc/passwd']) {
    const escaped = await runCli(['validate', name], { cwd: repo });
    assert.equal(escaped.code, 2, name);
    assert.match(escaped.stderr, /is not a sequence: give a name from etl_sequences\//);
  }
});

test('validate writes nothing, runs nothing and prints no stack trace', async (t) => {
  const repo = tempRepo(t, {
    'modules.json': JSON.stringify({ boom: { cmd: './boom.sh' } }),
    'boom.sh': { content: '#!/bin/sh\ntouch ran\n', mode: 0o755 },
    'etl_sequences/s.json': '[{"module_name": "boom", "output": "out.csv"}, {"module_name": "boom", "conf": "x.json"}]',
  });
  const before = snapshot(repo);
  const result = await runCli(['validate'], { cwd: repo });
  assert.equal(result.code, 2);
  assert.deepEqual(snapshot(repo), before);
  assert.doesNotMatch(result.stdout + result.stderr, /\n\s+at /);
});

test('usage errors exit 2: bad --format, unknown option with a suggestion', async () => {
  const format = await runCli(['validate', '--format', 'xml']);
  assert.equal(format.code, 2);
  assert.match(format.stderr, /--format must be one of text, json, github, got "xml"/);
  const option = await runCli(['validate', '--stirct']);
  assert.equal(option.code, 2);
  assert.match(option.stderr, /unknown option --stirct \(did you mean --strict\?\)/);
});

function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .sort()
    .map((f) => `${f} ${statSync(join(dir, f)).mtimeMs}`);
}
