// The API's answers, as a real `etl ui --allow-run` gives them over a ledger of real runs, match
// the published schemas/api.schema.json: the description the pages are typed against.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type {
  ConfigAnswer,
  DefinitionsAnswer,
  ErrorAnswer,
  LineageAnswer,
  MetricsAnswer,
  RunAnswer,
  RunStartedAnswer,
  RunsAnswer,
  ScheduleAnswer,
  SequencesAnswer,
} from '../../src/ui/api-types.js';
import { initRepo } from '../helpers/git.js';
import { pipelineRepo, ROOT, runCli, startCli } from '../helpers/repo.js';

/** The schema's definitions by name, with the types the pages read them as. */
interface Answers {
  SequencesAnswer: SequencesAnswer;
  RunsAnswer: RunsAnswer;
  RunAnswer: RunAnswer;
  DefinitionsAnswer: DefinitionsAnswer;
  LineageAnswer: LineageAnswer;
  MetricsAnswer: MetricsAnswer;
  ScheduleAnswer: ScheduleAnswer;
  ConfigAnswer: ConfigAnswer;
  RunStartedAnswer: RunStartedAnswer;
  ErrorAnswer: ErrorAnswer;
}

const COUNT = `#!/bin/sh
while [ $# -gt 0 ]; do case "$1" in --input) i="$2";; --output) o="$2";; esac; shift 2; done
if [ -e fail ] && [ "$ETL_STEP" = 2 ]; then echo "cannot clean" >&2; exit 5; fi
mkdir -p "$(dirname "$o")"
cp "$i" "$o"
echo "rows=$(wc -l < "$i")" >> "$ETL_METRICS"
`;

test('every answer of etl ui matches the published API schema', { timeout: 90_000 }, async (t) => {
  const repo = initRepo(
    pipelineRepo(t, {
      modules: { copy: { cmd: './modules/count.sh' }, ok: { cmd: './modules/ok.sh' } },
      sequences: {
        make: {
          schedule: '0 * * * *',
          steps: [
            { module_name: 'copy', name: 'raw', input: 'data/source.csv', output: 'work/raw.csv' },
            { module_name: 'copy', name: 'clean', input: 'work/raw.csv', output: 'work/clean.csv' },
          ],
        },
        // A graph: its records carry each step's needs and the run's max_parallel.
        fan: {
          max_parallel: 2,
          steps: [
            { module_name: 'ok', name: 'first' },
            { module_name: 'copy', name: 'left', needs: ['first'], input: 'data/source.csv', output: 'work/left.csv' },
            { module_name: 'ok', name: 'right', needs: ['first'] },
            { module_name: 'ok', name: 'join', needs: ['left', 'right'] },
          ],
        },
      },
      files: {
        'data/source.csv': 'a\nb\n',
        '.gitignore': 'work/\nfail\n',
        'modules/count.sh': { content: COUNT, mode: 0o755 },
      },
    }),
  );
  const first = await runCli(['run', 'make'], { cwd: repo });
  assert.equal(first.code, 0, first.stderr);
  const fan = await runCli(['run', 'fan', '--json'], { cwd: repo });
  assert.equal(fan.code, 0, fan.stderr);
  // A failed run of changed (uncommitted) definitions: a diff, a failed step, an error.
  const make = join(repo, 'etl_sequences/make.json');
  writeFileSync(make, JSON.stringify({ description: 'counts', ...JSON.parse(readFileSync(make, 'utf8')) }));
  writeFileSync(join(repo, 'data/source.csv'), 'a\nb\nc\n');
  writeFileSync(join(repo, 'fail'), '');
  assert.equal((await runCli(['run', 'make'], { cwd: repo })).code, 1);
  rmSync(join(repo, 'fail'));
  // A sequence that only has runs left in the ledger.
  writeFileSync(join(repo, 'etl_sequences/gone.json'), JSON.stringify([{ module_name: 'copy' }]));
  await runCli(['run', 'gone'], { cwd: repo });
  rmSync(join(repo, 'etl_sequences/gone.json'));

  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true });
  ajv.addSchema(JSON.parse(readFileSync(join(ROOT, 'schemas/api.schema.json'), 'utf8')), 'api');
  const matches = (definition: string, answer: unknown, what: string) => {
    const valid = ajv.validate(`api#/$defs/${definition}`, answer);
    assert.equal(valid, true, `${what}: ${ajv.errorsText()}\n${JSON.stringify(answer, null, 2)}`);
  };

  const server = startCli(['ui', '--port', '0', '--allow-run'], { cwd: repo });
  t.after(() => server.child.kill('SIGTERM'));
  const printed = /(http:\/\/\S+)/.exec(await server.line(/^etl ui: serving/))![1]!;
  const url = new URL(printed);
  const token = url.searchParams.get('token')!;
  const get = async <K extends keyof Answers>(path: string, definition: K, status = 200): Promise<Answers[K]> => {
    const response = await fetch(new URL(path, url.origin));
    assert.equal(response.status, status, path);
    const answer = await response.json();
    matches(definition, answer, path);
    return answer as Answers[K];
  };

  const { sequences } = await get('/api/sequences', 'SequencesAnswer');
  assert.deepEqual(
    sequences.map((s) => s.name),
    ['fan', 'gone', 'make'],
  );
  assert.equal(sequences.find((s) => s.name === 'fan')?.last?.max_parallel, 2);
  const { runs } = await get('/api/runs?sequence=make&limit=1', 'RunsAnswer');
  const failed = runs[0]!;
  assert.equal(failed.status, 'failed');
  const one = await get(`/api/runs/${failed.id}`, 'RunAnswer');
  assert.equal(one.steps.length, 2);
  const definitions = await get(`/api/runs/${failed.id}/definitions`, 'DefinitionsAnswer');
  assert.ok(definitions.previous, 'the run before it');
  const lineage = await get(`/api/runs/${failed.id}/lineage`, 'LineageAnswer');
  assert.ok(
    lineage.sources.some((s) => s.input !== null),
    'step 2 read what step 1 wrote',
  );
  const metrics = await get('/api/sequences/make/metrics?limit=5', 'MetricsAnswer');
  assert.ok(metrics.points.length > 0);
  // A list run's answers carry no needs, nor max_parallel.
  assert.equal(one.run.max_parallel, undefined);
  assert.ok(one.run.steps.every((s) => !('needs' in s)) && one.steps.every((s) => !('needs' in s)));
  // A graph run's carry them: in the summaries, in the step records, in the run's lists.
  const graphRun = (await get('/api/runs?sequence=fan', 'RunsAnswer')).runs[0]!;
  assert.equal(graphRun.id, JSON.parse(fan.stdout).id);
  const graph = await get(`/api/runs/${graphRun.id}`, 'RunAnswer');
  assert.equal(graph.run.max_parallel, 2);
  const needs = [[], [1], [1], [2, 3]];
  assert.deepEqual(
    graph.run.steps.map((s) => s.needs),
    needs,
  );
  assert.deepEqual(
    graph.steps.map((s) => s.needs),
    needs,
  );
  await get(`/api/runs/${graphRun.id}/definitions`, 'DefinitionsAnswer');
  await get(`/api/runs/${graphRun.id}/lineage`, 'LineageAnswer');
  await get('/api/sequences/fan/metrics', 'MetricsAnswer');
  await get('/api/runs?limit=10', 'RunsAnswer');
  await get('/api/config', 'ConfigAnswer');
  assert.equal((await get('/api/schedule', 'ScheduleAnswer')).status, null, 'no daemon has run here');
  await get('/api/runs?status=late', 'ErrorAnswer', 400);
  await get('/api/runs/20261201T000000000Z-0000000a', 'ErrorAnswer', 404);

  const daemon = startCli(['schedule'], { cwd: repo });
  t.after(() => daemon.child.kill('SIGKILL'));
  await daemon.line(/scheduled sequences?,/);
  assert.equal((await get('/api/schedule', 'ScheduleAnswer')).alive, true);
  daemon.child.kill('SIGTERM');
  assert.equal((await daemon.done).code, 0);
  assert.ok((await get('/api/schedule', 'ScheduleAnswer')).status?.stopped_at);

  const act = async <K extends keyof Answers>(
    action: string,
    body: unknown,
    status: number,
    definition: K,
  ): Promise<Answers[K]> => {
    const response = await fetch(new URL(`/api/actions/${action}`, url.origin), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: url.origin, 'X-Etl-Token': token },
      body: JSON.stringify(body),
    });
    assert.equal(response.status, status, action);
    const answer = await response.json();
    matches(definition, answer, action);
    return answer as Answers[K];
  };
  const started = await act('run', { sequence: 'make', from: 2 }, 202, 'RunStartedAnswer');
  assert.match(started.run ?? '', /^\d{8}T/);
  await act('run', { sequence: 'nosuch' }, 404, 'ErrorAnswer');
  await act('cancel', { run: failed.id }, 409, 'ErrorAnswer');
});
