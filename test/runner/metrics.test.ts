// Step metrics: what a module writes to ETL_METRICS, read as GITHUB_OUTPUT is, kept in the
// step record (its last attempt's), shown by etl show and listed over time by etl metrics.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { MetricPoint } from '../../src/ledger/metrics.js';
import { checkExpectations, comparesWithLast } from '../../src/runner/expect.js';
import { Redactor } from '../../src/runner/logs.js';
import { parseMetrics, readMetrics, redactMetrics } from '../../src/runner/metrics.js';
import { readOutputs } from '../../src/runner/outputs.js';
import type { RunRecord, StepRecord } from '../../src/runner/records.js';
import { pipelineRepo, runCli, tempRepo } from '../helpers/repo.js';
import { assertValidRecords, log, onlyRun } from '../helpers/runs.js';

test('ETL_METRICS lines: numbers as numbers, text kept as written, KEY<<END blocks, and each bad line said', () => {
  const { metrics, problems } = parseMetrics(
    'rows=25\r\nratio=0.25\nbig=1e3\nneg=-4\nregion=north \nempty=\nnote<<END\nline one\nline=two\nEND\n\nnot a pair\n9lives=1\nrows=26\nopen<<EOF\nnever closed\n',
  );
  assert.deepEqual(metrics, {
    rows: 26,
    ratio: 0.25,
    big: 1000,
    neg: -4,
    region: 'north ',
    empty: '',
    note: 'line one\nline=two',
  });
  assert.deepEqual(problems, [
    'ETL_METRICS line 12: expected NAME=VALUE, got "not a pair"',
    'ETL_METRICS line 13: "9lives" is not a metric name (letters, digits, _ . -; a letter or _ first)',
    'ETL_METRICS line 15: "open<<EOF" has no closing "EOF" line',
  ]);
  const many = parseMetrics(Array.from({ length: 250 }, (_, i) => `k${i}=${i}`).join('\n'));
  assert.equal(Object.keys(many.metrics).length, 200);
  assert.match(many.problems[0]!, /more than 200 names: "k200" and later ones are left out/);
});

test('a whole number past 2^53 is kept as written, as text; a metric that is a secret, a number too, is masked', () => {
  assert.deepEqual(
    parseMetrics('huge=12345678901234567890\nsafe=9007199254740991\nnegative=-9007199254740993\n').metrics,
    {
      huge: '12345678901234567890',
      safe: 9007199254740991,
      negative: '-9007199254740993',
    },
  );
  const redactor = new Redactor(['98765432']);
  assert.deepEqual(redactMetrics({ pin: 98765432, rows: 25, note: 'pw=98765432' }, redactor), {
    pin: '***',
    rows: 25,
    note: 'pw=***',
  });
});

test('an ETL_METRICS or ETL_OUTPUTS file over 64 KiB, counted in bytes, is not read at all: the step fails', (t) => {
  const dir = tempRepo(t);
  const file = (name: string, content: string) => {
    writeFileSync(join(dir, name), content);
    return join(dir, name);
  };
  // 30,000 'é' are 60,002 bytes: read whole. 40,000 are 80,002 bytes, 40,002 characters.
  const fits = file('fits.txt', `e=${'é'.repeat(30_000)}`);
  assert.equal(readOutputs(fits).values.e, 'é'.repeat(30_000));
  assert.equal(readOutputs(fits).tooLarge, undefined);
  const over = file('over.txt', `e=${'é'.repeat(40_000)}`);
  assert.deepEqual(readOutputs(over), {
    values: {},
    problems: [],
    tooLarge: 'ETL_OUTPUTS holds 80002 bytes, over its limit of 65536 (64 KiB): none of it is used',
  });
  assert.deepEqual(readMetrics(over), {
    metrics: {},
    problems: [],
    tooLarge: 'ETL_METRICS holds 80002 bytes, over its limit of 65536 (64 KiB): none of it is used',
  });
  const twice = file('twice.txt', `e=${'é'.repeat(80_000)}`);
  assert.match(readOutputs(twice).tooLarge!, /^ETL_OUTPUTS holds 160002 bytes/);
  // Exactly the limit is read; a value past it is never cut short and kept.
  const limit = file('limit.txt', `x=${'y'.repeat(65_534)}`);
  assert.equal(readMetrics(limit)?.metrics.x, 'y'.repeat(65_534));
  assert.match(readMetrics(file('cut.txt', `x=${'y'.repeat(65_535)}`))!.tooLarge!, /65537 bytes/);
  assert.equal(readMetrics(join(dir, 'none.txt')), undefined);
});

test('a step that wrote too much to ETL_METRICS fails, and the next one, started ahead by the helper, never starts', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { big: { cmd: './modules/big.sh' } },
    sequences: {
      s: {
        // touch itself, no shell before it: started ahead, it would leave its file at once.
        steps: [{ module_name: 'big' }, { run: 'touch started-2' }, { run: 'touch started-3' }, { run: 'true' }],
      },
    },
    files: {
      'modules/big.sh': {
        content: `#!/bin/sh\n{ printf 'rows='; yes 7 | head -n 70000 | tr -d '\\n'; echo; } >> "$ETL_METRICS"\n`,
        mode: 0o755,
      },
    },
  });
  const result = await runCli(['run', 's'], { cwd: repo, env: { ETL_SPAWNER: 'python' } });
  assert.equal(result.code, 1, result.stdout + result.stderr);
  const { folder, run, steps } = onlyRun(repo);
  assertValidRecords(run, steps);
  assert.deepEqual(
    run.steps.map((s) => s.status),
    ['failed', 'skipped', 'skipped', 'skipped'],
  );
  const why = 'ETL_METRICS holds 70006 bytes, over its limit of 65536 (64 KiB): none of it is used';
  assert.equal(steps[0]!.attempts[0]!.exit_code, 0);
  assert.equal(steps[0]!.attempts[0]!.error, why);
  assert.equal(steps[0]!.metrics, undefined, 'a number cut short is never kept');
  assert.equal(run.error, `step 1 (big) failed: ${why}`);
  assert.ok(result.stdout.includes(why), result.stdout);
  assert.ok(log(folder, steps[0]!).includes(`[etl-ledger: ${why}: the step fails]`));
  assert.equal(existsSync(join(repo, 'started-2')), false, 'the step after it started');
});

for (const spawner of ['python', 'node']) {
  test(`metrics from a real run (${spawner} spawner): in the step record, the last attempt's, secrets masked; etl show and etl metrics`, async (t) => {
    const repo = pipelineRepo(t, {
      modules: {
        extract: { cmd: './modules/extract.sh' },
        flaky: { cmd: './modules/flaky.sh' },
        quiet: { cmd: './modules/ok.sh' },
      },
      sequences: {
        daily: {
          secrets: ['API_TOKEN'],
          steps: [
            { module_name: 'extract' },
            { module_name: 'flaky', retries: 1 },
            { module_name: 'quiet' },
            { module_name: 'extract', name: 'again' },
          ],
        },
      },
      files: {
        'modules/extract.sh': {
          content:
            '#!/bin/sh\necho "rows=$ROWS" >> "$ETL_METRICS"\necho "source=https://x:$API_TOKEN@example.org" >> "$ETL_METRICS"\necho "oops" >> "$ETL_METRICS"\n',
          mode: 0o755,
        },
        // The first attempt writes a metric and fails; the second writes none and succeeds.
        'modules/flaky.sh': {
          content: '#!/bin/sh\nif [ "$ETL_ATTEMPT" = 1 ]; then echo "rows=1" >> "$ETL_METRICS"; exit 1; fi\n',
          mode: 0o755,
        },
      },
    });
    const env = { ETL_SPAWNER: spawner, API_TOKEN: 'tok-secret-123' };
    for (const rows of ['25', '0'])
      assert.equal((await runCli(['run', 'daily'], { cwd: repo, env: { ...env, ROWS: rows } })).code, 0);
    const shown = JSON.parse((await runCli(['show', 'daily', '--json'], { cwd: repo })).stdout) as {
      steps: StepRecord[];
    };
    assert.deepEqual(shown.steps[0]!.metrics, { rows: 0, source: 'https://x:***@example.org' });
    assert.equal(shown.steps[1]!.metrics, undefined, 'the last attempt wrote none');
    assert.equal(shown.steps[2]!.metrics, undefined);
    assert.deepEqual(shown.steps[3]!.metrics, { rows: 0, source: 'https://x:***@example.org' });
    const text = await runCli(['show', 'daily'], { cwd: repo });
    assert.match(text.stdout, /\n {3}metrics rows=0 source="https:\/\/x:\*\*\*@example\.org"\n/);
    const log = await runCli(['logs', 'daily', '1'], { cwd: repo });
    assert.match(log.stdout, /\[etl-ledger: ETL_METRICS line 3: expected NAME=VALUE, got "oops"\]/);
    assert.doesNotMatch(JSON.stringify(shown) + text.stdout, /tok-secret-123/);

    const points = JSON.parse(
      (await runCli(['metrics', 'daily', '--key', 'rows', '--json'], { cwd: repo })).stdout,
    ) as MetricPoint[];
    assert.deepEqual(
      points.map((p) => [p.step.index, p.step.name, p.metrics]),
      [
        [1, 'extract', { rows: 0 }],
        [4, 'again', { rows: 0 }],
        [1, 'extract', { rows: 25 }],
        [4, 'again', { rows: 25 }],
      ],
    );
    const byName = JSON.parse(
      (await runCli(['metrics', 'daily', '--step', 'again', '--json', '--limit', '1'], { cwd: repo })).stdout,
    ) as MetricPoint[];
    assert.deepEqual(
      byName.map((p) => [p.step.index, p.metrics.rows]),
      [[4, 0]],
    );
    const table = await runCli(['metrics', 'daily', '--step', '1'], { cwd: repo });
    assert.match(
      table.stdout,
      /^RUN +STARTED +STATUS +STEP +METRICS\n\S+ +\S+ \S+ +succeeded +1 extract +rows=0 source=/,
    );
    const none = await runCli(['metrics', 'daily', '--key', 'nothing'], { cwd: repo });
    assert.match(none.stdout, /no metrics "nothing" in the newest runs of daily/);
  });
}

test('expect rules: checked against the metrics, the share of another, and the last successful run', () => {
  // A share is compared exactly (0.0006 is not < 0.05% of 1, which is 0.0005), but floating
  // point's own noise is not a difference: 0.3 is 30% of 1.
  assert.deepEqual(
    checkExpectations(
      { bad: '< 0.05% of rows', ok: '<= 30% of rows', not: '< 30% of rows' },
      { rows: 1, bad: 0.0006, ok: 0.3, not: 0.3 },
      undefined,
    ).map((c) => [c.ok, c.message]),
    [
      [false, 'bad < 0.05% of rows: got 0.0006, and 0.05% of rows (1) is 0.0005'],
      [true, 'ok <= 30% of rows: got 0.3, and 30% of rows (1) is 0.3'],
      [false, 'not < 30% of rows: got 0.3, and 30% of rows (1) is 0.3'],
    ],
  );
  // Only "within N% of last" asks the ledger for the last run; a metric named last does not.
  assert.equal(comparesWithLast({ rows: '>= 1', loaded: ' within 20% of last ' }), true);
  assert.equal(comparesWithLast({ rows: '< 5% of last', note: 'about last' }), false);
  const checked = checkExpectations(
    { rows: '>= 1', dropped: '< 5% of read', loaded: 'within 20% of last', note: '== 1', gone: '> 0' },
    { rows: 0, dropped: 6, read: 100, loaded: 50, note: 'x' },
    { run_id: 'R1', metrics: { loaded: 110 } },
  );
  assert.deepEqual(
    checked.map((c) => [c.ok, c.message]),
    [
      [false, 'rows >= 1: got 0'],
      [false, 'dropped < 5% of read: got 6, and 5% of read (100) is 5'],
      [false, 'loaded within 20% of last: got 50, the last successful run (R1) had 110 (-54.545%)'],
      [false, 'note == 1: got "x", not a number'],
      [false, 'gone > 0: the module wrote no such metric to ETL_METRICS'],
    ],
  );
  assert.deepEqual(
    checkExpectations({ rows: 'within 20% of last' }, { rows: 5 }, undefined).map((c) => [c.ok, c.message]),
    [[true, 'rows within 20% of last: got 5; no successful run before to compare with']],
  );
  // A successful run before that has no such number: it is named.
  assert.deepEqual(
    checkExpectations(
      { rows: 'within 20% of last', kept: 'within 20% of last' },
      { rows: 5, kept: 4 },
      { run_id: 'R1', metrics: { kept: 'many' } },
    ).map((c) => [c.ok, c.message]),
    [
      [true, 'rows within 20% of last: got 5; the last successful run (R1) wrote no rows: nothing to compare with'],
      [
        true,
        'kept within 20% of last: got 4; the last successful run (R1) had "many", not a number: nothing to compare with',
      ],
    ],
  );
});

test('"within N% of last" compares a step with itself in the last run, by its name, when steps moved or one was added before it', async (t) => {
  const rows = (n: number) => ({ content: `#!/bin/sh\necho "rows=${n}" >> "$ETL_METRICS"\n`, mode: 0o755 });
  const step = (name: string) => ({ name, module_name: name, expect: { rows: 'within 10% of last' } });
  const repo = pipelineRepo(t, {
    modules: { big: { cmd: './modules/big.sh' }, small: { cmd: './modules/small.sh' } },
    sequences: { s: [step('big'), step('small')] },
    files: { 'modules/big.sh': rows(96), 'modules/small.sh': rows(5) },
  });
  assert.equal((await runCli(['run', 's'], { cwd: repo })).code, 0);
  writeFileSync(join(repo, 'etl_sequences/s.json'), JSON.stringify([step('small'), step('big')]));
  const swapped = await runCli(['run', 's', '--json'], { cwd: repo });
  assert.equal(swapped.code, 0, swapped.stderr);
  const record = JSON.parse(swapped.stdout) as RunRecord;
  const shown = JSON.parse((await runCli(['show', record.id, '--json'], { cwd: repo })).stdout) as {
    steps: StepRecord[];
  };
  assert.deepEqual(
    shown.steps.map((s) => s.expectations?.[0]?.message.replace(/\(\S+\)/, '(R)')),
    [
      'rows within 10% of last: got 5, the last successful run (R) had 5 (0%)',
      'rows within 10% of last: got 96, the last successful run (R) had 96 (0%)',
    ],
  );
});

test('"within N% of last" after a successful run whose step wrote no metrics names that run, and follows a skip to the run it stands for', async (t) => {
  const step = { module_name: 'extract', input: 'data/in.csv', output: 'work/out.csv' };
  const repo = pipelineRepo(t, {
    modules: { extract: { cmd: './modules/extract.sh' } },
    sequences: { daily: { skip_unchanged: true, steps: [step] } },
    files: {
      'data/in.csv': 'a\n',
      'modules/extract.sh': {
        content: `#!/bin/sh
while [ $# -gt 0 ]; do case "$1" in --input) i="$2";; --output) o="$2";; esac; shift 2; done
mkdir -p work && cp "$i" "$o"
if [ -n "$ROWS" ]; then echo "rows=$ROWS" >> "$ETL_METRICS"; fi
`,
        mode: 0o755,
      },
    },
  });
  const run = async (rows?: string) => {
    const result = await runCli(['run', 'daily', '--json'], { cwd: repo, env: rows ? { ROWS: rows } : {} });
    const record = JSON.parse(result.stdout) as RunRecord;
    const shown = JSON.parse((await runCli(['show', record.id, '--json'], { cwd: repo })).stdout) as {
      steps: StepRecord[];
    };
    return { record, step: shown.steps[0]! };
  };
  // A run before the rule existed, its module writing no metrics: successful, nothing to compare.
  const silent = await run();
  assert.equal(silent.record.status, 'succeeded');
  writeFileSync(
    join(repo, 'etl_sequences/daily.json'),
    JSON.stringify({ skip_unchanged: true, steps: [{ ...step, expect: { rows: 'within 20% of last' } }] }),
  );
  writeFileSync(join(repo, 'data/in.csv'), 'b\n');
  const first = await run('100');
  assert.equal(first.record.status, 'succeeded');
  assert.deepEqual(
    first.step.expectations?.map((e) => e.message),
    [
      `rows within 20% of last: got 100; the last successful run (${silent.record.id}) wrote no metrics at step "extract": nothing to compare with`,
    ],
  );
  // Skipped as unchanged: the next run compares with the run the skip stands for.
  const skipped = await run('100');
  assert.equal(skipped.step.skipped_as?.run_id, first.record.id);
  writeFileSync(join(repo, 'data/in.csv'), 'c\n');
  const doubled = await run('200');
  assert.equal(doubled.record.status, 'failed');
  assert.deepEqual(
    doubled.step.expectations?.map((e) => e.message),
    [`rows within 20% of last: got 200, the last successful run (${first.record.id}) had 100 (+100%)`],
  );
});

test('an expect rule that does not hold fails its step, names the rule, the value and the reference; a bad rule is a located error', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { extract: { cmd: './modules/extract.sh' }, load: { cmd: './modules/ok.sh' } },
    sequences: {
      daily: {
        steps: [
          { module_name: 'extract', expect: { rows: '>= 1', rows_loaded: 'within 20% of last' } },
          { module_name: 'load' },
        ],
        on_failure: { module_name: 'load', name: 'tell' },
      },
    },
    files: {
      'modules/extract.sh': {
        content: '#!/bin/sh\necho "rows=$ROWS" >> "$ETL_METRICS"\necho "rows_loaded=$ROWS" >> "$ETL_METRICS"\n',
        mode: 0o755,
      },
    },
  });
  const run = (rows: string) => runCli(['run', 'daily', '--json'], { cwd: repo, env: { ROWS: rows } });
  assert.equal((await run('100')).code, 0, 'no run before: "within" holds');
  assert.equal((await run('110')).code, 0);
  const empty = await run('0');
  assert.equal(empty.code, 1);
  const record = JSON.parse(empty.stdout) as RunRecord;
  assert.equal(record.status, 'failed');
  assert.match(record.error!, /^step 1 \(extract\) failed: expect rows >= 1: got 0$/);
  assert.deepEqual(
    record.steps.map((s) => [s.name, s.status, s.exit_code]),
    [
      ['extract', 'failed', 0],
      ['load', 'skipped', null],
      ['tell', 'succeeded', 0],
    ],
  );
  const shown = await runCli(['show', 'daily'], { cwd: repo });
  assert.match(shown.stdout, /expect rows >= 1: got 0 \(not met\)/);
  assert.match(
    shown.stdout,
    /expect rows_loaded within 20% of last: got 0, the last successful run \(\S+\) had 110 \(-100%\) \(not met\)/,
  );
  const log = await runCli(['logs', 'daily', '1'], { cwd: repo });
  assert.match(log.stdout, /\[etl-ledger: expect rows >= 1: got 0 -- NOT MET: the step fails\]/);

  writeFileSync(
    join(repo, 'etl_sequences/daily.json'),
    '{\n  "steps": [\n    { "module_name": "extract", "expect": { "rows": "at least 1" } }\n  ]\n}\n',
  );
  const invalid = await runCli(['validate'], { cwd: repo });
  assert.equal(invalid.code, 2);
  assert.match(
    invalid.stdout,
    /etl_sequences\/daily\.json:3:\d+: error: "at least 1" is not an expectation: .* \[bad-expect\]/,
  );
});
