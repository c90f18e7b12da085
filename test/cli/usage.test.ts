// Each command's usage is generated from its option table: these check the generator, so an
// option parseArgs accepts cannot go undescribed, nor one be described that it refuses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COMMANDS } from '../../src/cli/commands.js';
import {
  defineCommand,
  describedAs,
  formatOptions,
  GLOBAL_OPTIONS,
  type OptionTable,
  type OptionValues,
} from '../../src/cli/usage.js';

/** The options named on the label lines of a usage's "Options:" (not those its help text mentions). */
function describedOptions(usage: string): { long: string[]; short: string[] } {
  const section = usage.split('\nOptions:\n')[1] ?? '';
  const labels = section
    .split('\n')
    .filter((line) => line.startsWith('  -'))
    .map((line) => line.trim().split('  ')[0]!);
  return {
    long: labels.flatMap((label) => [...label.matchAll(/--([a-z][a-z-]*)/g)].map((m) => m[1]!)),
    short: labels.flatMap((label) => [...label.matchAll(/(?:^|, )-([a-zA-Z]),/g)].map((m) => m[1]!)),
  };
}

for (const [name, entry] of Object.entries(COMMANDS)) {
  test(`etl ${name}: its usage describes every option it accepts, and only those`, async () => {
    const command = await entry.load();
    // --help and --version are said once, in "etl --help"; --repo in every usage.
    const accepted = { ...command.options, repo: GLOBAL_OPTIONS.repo };
    const described = describedOptions(command.usage);
    assert.deepEqual([...described.long].sort(), Object.keys(accepted).sort());
    const shorts = Object.values(accepted).flatMap((option) => (option.short === undefined ? [] : [option.short]));
    assert.deepEqual([...described.short].sort(), shorts.sort());
  });
}

test('an option described with another shares its line; a long label pushes its help along, not the column', () => {
  const lines = formatOptions({
    from: { type: 'string', value: 'DATE', help: 'the range' },
    to: { type: 'string', value: 'DATE', describedWith: 'from' },
    json: { type: 'boolean', short: 'j', help: 'print JSON' },
    'a-very-long-option': { type: 'string', value: 'VALUE', help: 'still described' },
  });
  assert.equal(
    lines,
    [
      '  --from DATE, --to DATE  the range',
      '  -j, --json  print JSON',
      '  --a-very-long-option VALUE  still described',
      '',
    ].join('\n'),
  );
});

test('help is wrapped under its column, and "\\n" starts a line of its own', () => {
  const lines = formatOptions({
    format: { type: 'string', value: 'F', help: `${'word '.repeat(30).trim()}\njson: an array` },
  }).split('\n');
  assert.ok(lines.length > 3, lines.join('\n'));
  for (const line of lines.slice(1, -1)) assert.match(line, /^ {14}\S/);
  assert.ok(lines.every((line) => line.length <= 92));
  assert.equal(lines.at(-2), '              json: an array');
});

test('a shared group described on one line keeps each option as parseArgs reads it', () => {
  const command = defineCommand({
    synopsis: ['etl x [--commit] [--push]'],
    description: 'X.',
    options: describedAs(
      { commit: { type: 'boolean', default: false, help: 'a' }, push: { type: 'boolean', default: false, help: 'b' } },
      'given to every run',
    ),
    run: async () => 0,
  });
  assert.deepEqual(command.options, {
    commit: { type: 'boolean', default: false },
    push: { type: 'boolean', default: false },
  });
  assert.match(command.usage, /^ {2}--commit, --push {2}given to every run$/m);
  assert.match(command.usage, /^Usage: etl x \[--commit\] \[--push\]\n\nX\.\n\nOptions:\n/);
});

test('a repeatable option is an empty list when not given, so run never sees it undefined', () => {
  const command = defineCommand({
    synopsis: ['etl x'],
    description: 'X.',
    options: { param: { type: 'string', multiple: true, value: 'K=V', help: 'a param' } },
    run: async () => 0,
  });
  assert.deepEqual(command.options.param, { type: 'string', multiple: true, default: [] });
});

// Checked when the tests compile: what `run` receives for each kind of option.
const KINDS = {
  flag: { type: 'boolean', default: false },
  limit: { type: 'string', default: '20', value: 'N' },
  since: { type: 'string', value: 'DATE' },
  param: { type: 'string', multiple: true, value: 'K=V' },
} as const satisfies OptionTable;
const typed: OptionValues<typeof KINDS> = { flag: true, limit: '20', since: undefined, param: [] };
// @ts-expect-error an option with a default is always given
const noLimit: OptionValues<typeof KINDS>['limit'] = undefined;
// @ts-expect-error a repeatable option is a list
const oneParam: OptionValues<typeof KINDS>['param'] = 'K=V';
void [typed, noLimit, oneParam];
