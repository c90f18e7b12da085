// Sequence names and run references, as every command takes them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pipelineRepo, runCli, tempRepo } from '../helpers/repo.js';

const OK = { modules: { ok: { cmd: './modules/ok.sh' } }, sequences: { s: [{ module_name: 'ok' }] } };

test("read commands refuse a sequence name that is a path: another repository's runs are never read", async (t) => {
  const other = pipelineRepo(t, OK);
  assert.equal((await runCli(['run', 's'], { cwd: other })).code, 0);
  const repo = pipelineRepo(t, OK);
  const outside = `../../../..${other}/runs/s`;
  for (const args of [
    ['history', outside],
    ['show', `${outside}@latest`],
    ['logs', `${outside}@latest`],
    ['log', outside],
    ['history', '../x'],
  ]) {
    const result = await runCli(args, { cwd: repo });
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stdout}`);
    assert.match(result.stderr, /is not a sequence name|is not a run id/, args.join(' '));
    assert.doesNotMatch(result.stdout, /succeeded/, args.join(' '));
  }
});

test('show and logs take an id, a prefix, the hash at its end, the printed record path, or a bare sequence name', async (t) => {
  const repo = pipelineRepo(t, OK);
  const run = await runCli(['run', 's'], { cwd: repo });
  const record = /record: (\S+)/.exec(run.stdout)![1]!;
  const id = /([0-9TZ]+-([0-9a-f]{8}))\/run\.json$/.exec(record)!;
  for (const spec of [
    id[1]!,
    id[1]!.slice(0, 12),
    id[2]!,
    record,
    record.replace(/\/run\.json$/, ''),
    's',
    's@latest',
  ]) {
    const shown = await runCli(['show', spec], { cwd: repo });
    assert.equal(shown.code, 0, `${spec}: ${shown.stderr}`);
    assert.match(shown.stdout, new RegExp(`run ${id[1]}`), spec);
  }
});

test('show, logs, diff and lineage name a mistyped sequence as history does, with the nearest name; an existing one without such a run says that', async (t) => {
  const repo = pipelineRepo(t, OK);
  assert.equal((await runCli(['run', 's'], { cwd: repo })).code, 0);
  for (const args of [
    ['show', 'sx@latest'],
    ['logs', 'sx'],
    ['diff', 's@latest', 'sx@last-failed'],
    ['lineage', '--openlineage', 'sx@latest'],
  ]) {
    const typo = await runCli(args, { cwd: repo });
    assert.equal(typo.code, 2, args.join(' '));
    assert.match(
      typo.stderr,
      /no sequence "sx" in etl_sequences\/, and no runs of it in the ledger \(did you mean "s"\?\) \[unknown-sequence\]/,
      args.join(' '),
    );
  }
  const noFailure = await runCli(['show', 's@last-failed'], { cwd: repo });
  assert.match(noFailure.stderr, /no failed run of sequence "s" in the ledger \[unknown-run\]/);
  const id = await runCli(['show', 'deadbeef'], { cwd: repo });
  assert.match(id.stderr, /no run id starts with "deadbeef"/);
});

test('history says what it filtered: a sequence that does not exist, a date in the future', async (t) => {
  const repo = pipelineRepo(t, OK);
  assert.equal((await runCli(['run', 's'], { cwd: repo })).code, 0);
  const unknown = await runCli(['history', 'nosuchseq'], { cwd: repo });
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no sequence "nosuchseq" in etl_sequences\/, and no runs of it in the ledger/);
  assert.match(
    (await runCli(['history', '--since', '2999-01-01'], { cwd: repo })).stdout,
    /no runs since 2999-01-01T00:00:00\.000Z \(in the future\)/,
  );
  assert.match(
    (await runCli(['history', 's', '--status', 'failed'], { cwd: repo })).stdout,
    /no runs of sequence "s" with status failed/,
  );
  assert.match(
    (await runCli(['history'], { cwd: tempRepo(t, { 'modules.json': '{}' }) })).stdout,
    /no runs in the ledger yet/,
  );
});

test('plan sales.yaml names the sequence sales', async (t) => {
  const repo = pipelineRepo(t, OK);
  const result = await runCli(['plan', 's.json'], { cwd: repo });
  assert.equal(result.code, 0, result.stderr);
});
