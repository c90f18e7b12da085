import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { test } from 'node:test';
import { validate } from '../../src/definitions/validate.js';
import { fixture, runCli, tempRepo } from '../helpers/repo.js';

const INVALID = fixture('invalid');
const cases = readdirSync(INVALID).sort();

// Each folder is a pipeline repository with one kind of mistake; expected.txt lists every
// issue validate must report for it, as "file:line:column: severity [code]".
test('the corpus of bad definitions has at least 30 cases', () => {
  assert.ok(cases.length >= 30, `only ${cases.length} cases`);
});

for (const name of cases) {
  test(`invalid/${name} reports exactly the expected issues at the expected places`, async () => {
    const repo = join(INVALID, name);
    const bin = join(repo, 'bin');
    const env = { ...process.env, PATH: existsSync(bin) ? `${bin}${delimiter}${process.env.PATH}` : process.env.PATH };
    const report = await validate({ repo, env });
    const got = report.issues.map((i) => `${i.file}:${i.line}:${i.column}: ${i.severity} [${i.code}]`);
    const expected = readFileSync(join(repo, 'expected.txt'), 'utf8').trim().split('\n');
    assert.deepEqual(got, expected);
    for (const issue of report.issues) assert.ok(issue.message.length > 10, `message too thin: ${issue.message}`);
  });
}

test('a definition file over 1 MiB is refused without being parsed', async (t) => {
  const steps = Array.from({ length: 20_000 }, () => ({ module_name: 'extractor', input: 'x'.repeat(40) }));
  const big = JSON.stringify(steps);
  assert.ok(big.length > 1024 * 1024);
  const repo = tempRepo(t, { 'modules.json': '{"extractor": {"cmd": "true"}}', 'etl_sequences/huge.json': big });
  const report = await validate({ repo });
  assert.deepEqual(
    report.issues.map((i) => [i.file, i.line, i.column, i.code]),
    [['etl_sequences/huge.json', 1, 1, 'file-too-large']],
  );
});

test('the CLI exits 2 with located text lines for a bad repository', async () => {
  const result = await runCli(['validate', '--repo', join(INVALID, 'unknown-module')]);
  assert.equal(result.code, 2);
  assert.match(
    result.stdout,
    /^etl_sequences\/daily\.yaml:7:18: error: unknown module "extractr" \(did you mean "extractor"\?\); modules.json defines extractor, loader \[unknown-module\]$/m,
  );
});

test('shell syntax in run names the word and what a shell would do, and says how to keep it literal', async () => {
  const [first] = (await validate({ repo: join(INVALID, 'run-shell-operators') })).issues;
  assert.equal(
    first!.message,
    `"a;b" in run has ";" outside quotes, which a shell would act on, but run is never given to a shell: the program would get it as a plain argument; put the pipeline or redirection in a script or say sh -c '...' yourself, or quote it ('...') if the program should get it as written`,
  );
});

test('an output of a name several earlier steps share is refused where it is used, naming those steps', async () => {
  const messages = (await validate({ repo: join(INVALID, 'outputs-ambiguous') })).issues.map((i) => i.message);
  assert.equal(
    messages[0],
    '${steps.a.outputs.k} is ambiguous: steps 1, 2 are both named "a", and it would take the outputs of whichever ran last; give them distinct names and use one of those',
  );
  assert.match(
    messages[2]!,
    /^\$\{steps\.producer\.outputs\.k\} is ambiguous: steps 4, 5 are both called "producer" \(by their module\)/,
  );
  assert.match(messages[3]!, /^\$\{steps\.c\.outputs\.k\} is ambiguous: steps 6, 8 are both named "c"/);
});

test('an ambiguous need says how the steps came by their name', async () => {
  const message = async (name: string) => (await validate({ repo: join(INVALID, name) })).issues.at(-1)!.message;
  assert.equal(
    await message('needs-ambiguous-named'),
    'steps 1, 2 are both named "b": give them distinct names, and need one of those',
  );
  assert.equal(
    await message('needs-ambiguous'),
    'steps 1, 2 are both called "loader" (by their module): give them distinct names, and need one of those',
  );
});

test('a step name of digits only is refused: --from and --only read a number as a position', async () => {
  const [first] = (await validate({ repo: join(INVALID, 'step-name-digits') })).issues;
  assert.equal(
    first!.message,
    'step name "2" is all digits, which --from and --only read as a step\'s position, not as its name: give it a name with a letter in it',
  );
});

test('a command missing from PATH suggests the near program that is there', async () => {
  const repo = join(INVALID, 'missing-command-path');
  const report = await validate({ repo, env: { PATH: join(repo, 'bin') } });
  assert.match(
    report.issues[0]!.message,
    /command "etl-fixture-tol" is not on PATH \(did you mean "etl-fixture-tool"\?\)/,
  );
});

test('messages name what was expected and what was found', async () => {
  const messages = async (name: string) => (await validate({ repo: join(INVALID, name) })).issues.map((i) => i.message);
  assert.deepEqual(await messages('unknown-key-step'), [
    'unknown key "modul_name" (did you mean "module_name"?); expected one of: module_name, run, call, params, name, input, output, conf, timeout, retries, retry_delay, backoff, retry_on, env, expect, if, continue_on, needs, skip_unchanged',
  ]);
  assert.deepEqual(await messages('wrong-type-retries'), ['"retries" must be an integer or null, got a string ("3")']);
  assert.match(
    (await messages('invalid-cron-dow-7'))[0]!,
    /7 is outside 0-6 \(GitHub Actions does not accept 7 for Sunday: use 0\)/,
  );
  assert.match((await messages('missing-command-file'))[0]!, /did you mean "\.\/modules\/extract\.sh"\?/);
  assert.match((await messages('duplicate-key-yaml'))[0]!, /duplicate key "input"/);
  assert.match((await messages('none-literal'))[0]!, /input is the string "None"/);
});

test('a union value says every form it may take; a bad item of a list is named as the item it is', async (t) => {
  const repo = tempRepo(t, {
    'modules.json': '{"ok": {"cmd": "true"}}',
    'etl_sequences/s.yaml': `steps:
  - module_name: ok
    continue_on: failures
  - module_name: ok
    name: b
    continue_on: [0]
    retry_on: [3, 256]
`,
  });
  const result = await runCli(['validate'], { cwd: repo });
  assert.equal(result.code, 2);
  assert.equal(
    result.stdout,
    `etl_sequences/s.yaml:3:18: error: "continue_on" must be "failure" or an array, got "failures" [invalid-value]
etl_sequences/s.yaml:6:19: error: item 1 of "continue_on" must be an integer ≥ 1, got 0 [invalid-value]
etl_sequences/s.yaml:7:19: error: item 2 of "retry_on" must be an integer ≤ 255, got 256 [invalid-value]
3 errors (0 valid sequences, 1 module)
`,
  );
});
