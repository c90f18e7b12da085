import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
// GitHub's own parser (needs the JSON import hook the test command registers).
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { isValidCron } from '@actions/workflow-parser/model/converter/cron';
import { parse as parseYaml } from 'yaml';
import { ROOT, pipelineRepo, runCli, tempRepo } from '../helpers/repo.js';

/** Parses a workflow as GitHub does; returns its errors and its schedules. */
async function parse(name: string, content: string) {
  const result = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  const errors = result.context.errors.getErrors().map((e) => e.message);
  if (!result.value) return { errors, schedules: [] as Array<{ cron: string; timezone?: string }> };
  const template = await convertWorkflowTemplate(result.context, result.value);
  errors.push(...(template.errors ?? []).map((e) => e.Message));
  return {
    errors,
    schedules: (template.events?.schedule ?? []) as Array<{ cron: string; timezone?: string }>,
    template,
  };
}

const shipped = readdirSync(join(ROOT, '.github/workflows')).filter((f) => f.endsWith('.yml'));

test('the repository ships ci, etl-validate, etl-run, etl-schedule and etl-dispatch workflows', () => {
  assert.deepEqual(shipped.sort(), [
    'ci.yml',
    'etl-dispatch.yml',
    'etl-run.yml',
    'etl-schedule.yml',
    'etl-validate.yml',
  ]);
});

for (const file of shipped) {
  test(`.github/workflows/${file} parses with GitHub's parser without errors`, async () => {
    const { errors, schedules } = await parse(file, readFileSync(join(ROOT, '.github/workflows', file), 'utf8'));
    assert.deepEqual(errors, []);
    for (const { cron } of schedules) assert.ok(isValidCron(cron), cron);
  });
}

test('the shipped workflows are what etl workflows generate makes of the definitions', async (t) => {
  const result = await runCli(['workflows', 'check']);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  // Whole files too, not only the generated regions: written from scratch, they match.
  const fresh = tempRepo(t);
  for (const path of ['etl_sequences', 'modules.json', 'modules', 'conf', 'package.json'])
    cpSync(join(ROOT, path), join(fresh, path), { recursive: true });
  assert.equal((await runCli(['workflows', 'generate'], { cwd: fresh })).code, 0);
  for (const name of shipped.filter((f) => f.startsWith('etl-'))) {
    assert.equal(
      readFileSync(join(ROOT, '.github/workflows', name), 'utf8'),
      readFileSync(join(fresh, '.github/workflows', name), 'utf8'),
      name,
    );
  }
});

test('generated workflows carry every schedule with its time zone, and the sequences as a choice list', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: {
      daily: { schedule: '17 3 * * *', steps: [{ module_name: 'ok' }] },
      madrid: { schedule: '17 3 * * *', timezone: 'Europe/Madrid', steps: [{ module_name: 'ok' }] },
      weekly: { schedule: '5 4 * * MON', timezone: 'UTC', steps: [{ module_name: 'ok' }] },
      manual: [{ module_name: 'ok' }],
    },
  });
  const result = await runCli(['workflows', 'generate'], { cwd: repo });
  assert.equal(result.code, 0, result.stderr);
  for (const file of readdirSync(join(repo, '.github/workflows'))) {
    const { errors, schedules, template } = await parse(
      file,
      readFileSync(join(repo, '.github/workflows', file), 'utf8'),
    );
    assert.deepEqual(errors, [], file);
    if (file === 'etl-schedule.yml') {
      assert.deepEqual(schedules, [
        { cron: '17 3 * * *' },
        { cron: '17 3 * * *', timezone: 'Europe/Madrid' },
        { cron: '5 4 * * MON' },
      ]);
      for (const { cron } of schedules) assert.ok(isValidCron(cron));
    }
    if (file === 'etl-dispatch.yml') {
      const inputs = JSON.stringify((template as { events: unknown }).events);
      assert.match(inputs, /"options":\["daily","madrid","manual","weekly"\]/);
    }
  }
});

test('etl workflows check fails when the definitions moved on; generate rewrites only the generated parts', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: { a: { schedule: '17 3 * * *', steps: [{ module_name: 'ok' }] } },
  });
  assert.equal((await runCli(['workflows', 'generate'], { cwd: repo })).code, 0);
  assert.equal((await runCli(['workflows', 'check'], { cwd: repo })).code, 0);
  const schedulePath = join(repo, '.github/workflows/etl-schedule.yml');
  // A team's own edit outside the generated regions.
  writeFileSync(
    schedulePath,
    readFileSync(schedulePath, 'utf8').replace(
      'permissions:\n  contents: read\n',
      'permissions:\n  contents: read\nenv:\n  TEAM: data\n',
    ),
  );
  writeFileSync(
    join(repo, 'etl_sequences/b.json'),
    JSON.stringify({ schedule: '45 23 * * 5', steps: [{ module_name: 'ok' }] }),
  );
  const stale = await runCli(['workflows', 'check'], { cwd: repo });
  assert.equal(stale.code, 1);
  assert.match(stale.stdout, /etl-schedule\.yml: stale/);
  assert.match(stale.stdout, /etl-dispatch\.yml: stale/);
  assert.match(stale.stderr, /run "etl workflows generate"/);
  assert.equal((await runCli(['workflows', 'generate'], { cwd: repo })).code, 0);
  const text = readFileSync(schedulePath, 'utf8');
  assert.match(text, /env:\n {2}TEAM: data\n/);
  assert.match(text, /- cron: '45 23 \* \* 5'/);
  assert.equal((await runCli(['workflows', 'check'], { cwd: repo })).code, 0);
  const { errors } = await parse('etl-schedule.yml', text);
  assert.deepEqual(errors, []);
});

test('a generated region whose marker was removed by hand is broken for check and generate, which say which and change nothing', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: { a: { schedule: '17 3 * * *', steps: [{ module_name: 'ok' }] } },
  });
  assert.equal((await runCli(['workflows', 'generate'], { cwd: repo })).code, 0);
  const schedulePath = join(repo, '.github/workflows/etl-schedule.yml');
  const edited = readFileSync(schedulePath, 'utf8').replace(/^ *# etl-ledger:end schedules\n/m, '');
  writeFileSync(schedulePath, edited);
  writeFileSync(
    join(repo, 'etl_sequences/a.json'),
    JSON.stringify({ schedule: '45 4 * * *', steps: [{ module_name: 'ok' }] }),
  );
  for (const action of ['check', 'generate']) {
    const result = await runCli(['workflows', action], { cwd: repo });
    assert.equal(result.code, 1, `${action}: ${result.stdout}${result.stderr}`);
    assert.match(
      result.stdout,
      /etl-schedule\.yml: broken: its generated region "schedules" is not there whole \(a "# etl-ledger:begin" or "# etl-ledger:end" line was removed\)/,
    );
    assert.equal(readFileSync(schedulePath, 'utf8'), edited, `${action} changed nothing`);
  }
});

test('workflows run on the current Node LTS; files written with Node 20 (at its end of life) are stale and generate moves them on', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: { a: { schedule: '17 3 * * *', steps: [{ module_name: 'ok' }] } },
  });
  assert.equal((await runCli(['workflows', 'generate', '--pages'], { cwd: repo })).code, 0);
  const files = readdirSync(join(repo, '.github/workflows'));
  for (const file of files) {
    const text = readFileSync(join(repo, '.github/workflows', file), 'utf8');
    const versions = [...text.matchAll(/node-version: (.*)/g)].map((m) => m[1]);
    assert.ok(versions.length > 0, file);
    assert.deepEqual(new Set(versions), new Set(["'lts/*'"]), file);
    assert.deepEqual((await parse(file, text)).errors, [], file);
  }
  // As an earlier etl-ledger wrote them, plus a job of the team's own that pins its Node.
  for (const file of files) {
    const path = join(repo, '.github/workflows', file);
    writeFileSync(path, readFileSync(path, 'utf8').replaceAll("node-version: 'lts/*'", 'node-version: 20'));
  }
  const runPath = join(repo, '.github/workflows/etl-run.yml');
  const own =
    '  own:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/setup-node@v5\n        with:\n          node-version: 20\n';
  writeFileSync(runPath, `${readFileSync(runPath, 'utf8')}${own}`);
  const stale = await runCli(['workflows', 'check'], { cwd: repo });
  assert.equal(stale.code, 1);
  for (const file of files) assert.match(stale.stdout, new RegExp(`${file.replace('.', '\\.')}: stale`));
  assert.equal((await runCli(['workflows', 'generate'], { cwd: repo })).code, 0);
  assert.equal((await runCli(['workflows', 'check'], { cwd: repo })).code, 0);
  const run = readFileSync(runPath, 'utf8');
  assert.ok(run.endsWith(own), "a setup of the team's own is theirs");
  assert.equal(run.split("node-version: 'lts/*'").length - 1, 2);
});

test('etl workflows generate --pages adds etl-pages.yml: GitHub Pages from etl report, with only the permissions it needs', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: { a: { schedule: '17 3 * * *', steps: [{ module_name: 'ok' }] } },
  });
  const pagesPath = join(repo, '.github/workflows/etl-pages.yml');
  assert.equal((await runCli(['workflows', 'generate'], { cwd: repo })).code, 0);
  assert.equal(existsSync(pagesPath), false, 'opt-in only');
  const opted = await runCli(['workflows', 'generate', '--pages'], { cwd: repo });
  assert.equal(opted.code, 0, opted.stderr);
  assert.match(opted.stdout, /etl-pages\.yml: created/);
  const text = readFileSync(pagesPath, 'utf8');
  const { errors } = await parse('etl-pages.yml', text);
  assert.deepEqual(errors, []);
  const workflow = parseYaml(text) as {
    on: { workflow_run: { workflows: string[] } };
    permissions: Record<string, string>;
    jobs: Record<
      string,
      {
        permissions?: Record<string, string>;
        steps: Array<{ uses?: string; run?: string; with?: Record<string, unknown> }>;
      }
    >;
  };
  assert.deepEqual(workflow.on.workflow_run.workflows, ['etl-run', 'etl-schedule', 'etl-dispatch']);
  // What is published must not be able to hold the checkout's token (a log linked to .git/config).
  const checkout = workflow.jobs.build!.steps.find((s) => s.uses?.startsWith('actions/checkout@'));
  assert.equal(checkout?.with?.['persist-credentials'], false);
  assert.deepEqual(workflow.permissions, { contents: 'read' });
  assert.equal(workflow.jobs.build!.permissions, undefined, 'building reads only');
  assert.deepEqual(workflow.jobs.deploy!.permissions, { pages: 'write', 'id-token': 'write' });
  const steps = Object.values(workflow.jobs).flatMap((job) => job.steps);
  assert.ok(steps.some((s) => s.run?.includes('etl report --out _site')));
  assert.ok(steps.some((s) => s.uses?.startsWith('actions/upload-pages-artifact@')));
  assert.ok(steps.some((s) => s.uses?.startsWith('actions/deploy-pages@')));
  // Once there, it is kept: a plain generate and check see it as up to date.
  assert.match((await runCli(['workflows', 'check'], { cwd: repo })).stdout, /etl-pages\.yml: up to date/);
  writeFileSync(
    pagesPath,
    text.replace('\njobs:', '\n# etl-ledger:begin ledger (etl workflows generate)\n# etl-ledger:end ledger\njobs:'),
  );
  assert.equal((await runCli(['workflows', 'check'], { cwd: repo })).code, 1);
});

test('etl-dispatch.yml offers the params and the tick as inputs, reaching etl run as arguments and never as shell code', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: {
      daily: {
        params: { region: { default: 'es', description: 'Which region' }, day: {} },
        steps: [{ module_name: 'ok', output: 'out/${params.region}-${params.day}.csv' }],
      },
      other: [{ module_name: 'ok' }],
    },
  });
  assert.equal((await runCli(['workflows', 'generate'], { cwd: repo })).code, 0);
  const path = join(repo, '.github/workflows/etl-dispatch.yml');
  const text = readFileSync(path, 'utf8');
  const { errors, template } = await parse('etl-dispatch.yml', text);
  assert.deepEqual(errors, []);
  const workflow = parseYaml(text) as {
    on: { workflow_dispatch: { inputs: Record<string, { description: string; type?: string }> } };
    jobs: { run: { steps: Array<{ name?: string; run?: string }> } };
  };
  const { inputs } = workflow.on.workflow_dispatch;
  assert.deepEqual(Object.keys(inputs), ['sequence', 'params', 'tick', 'dry_run']);
  assert.match(inputs.params!.description, /daily: region \(default es\), day \(required\)/);
  assert.doesNotMatch(inputs.params!.description, /other/);
  assert.match(JSON.stringify(template), /"tick"/);

  // The step itself, run by a shell with etl replaced by a recorder of its arguments.
  const step = workflow.jobs.run.steps.find((s) => s.name === 'etl run')!;
  const argv = (inputs: Record<string, string>) =>
    spawnSync('bash', ['-e', '-c', `npx() { printf '%s\\n' "$@"; }\n${step.run!}`], {
      cwd: repo,
      env: { PATH: process.env.PATH, DRY_RUN: 'false', ...inputs },
      encoding: 'utf8',
    }).stdout.split('\n');
  assert.deepEqual(argv({ SEQUENCE: 'daily', PARAMS: 'region=fr  day=2026-11-01', TICK: '2026-11-01T06:00:00Z' }), [
    'etl',
    'run',
    'daily',
    '--param=region=fr',
    '--param=day=2026-11-01',
    '--tick=2026-11-01T06:00:00Z',
    '--push',
    '--notify',
    '',
  ]);
  // Input that would be code in a shell is an argument: no command runs, no file is globbed.
  assert.deepEqual(argv({ SEQUENCE: 'daily', PARAMS: 'day=$(touch pwned) region=*', TICK: '' }), [
    'etl',
    'run',
    'daily',
    '--param=day=$(touch',
    '--param=pwned)',
    '--param=region=*',
    '--push',
    '--notify',
    '',
  ]);
  assert.equal(existsSync(join(repo, 'pwned')), false);
  assert.deepEqual(argv({ SEQUENCE: 'other', PARAMS: '', TICK: '', DRY_RUN: 'true' }).slice(0, 4), [
    'etl',
    'run',
    'other',
    '--dry-run',
  ]);

  // A file written before params existed gets the inputs and the new step from generate.
  const old = text.replace(/ {6}# etl-ledger:begin params[\s\S]*# etl-ledger:end params\n/, '').replace(
    /( {6})# etl-ledger:begin dispatch[\s\S]*# etl-ledger:end dispatch\n/,
    `      - name: etl run
        env:
          SEQUENCE: \${{ inputs.sequence }}
          DRY_RUN: \${{ inputs.dry_run }}
          GITHUB_TOKEN: \${{ secrets.GITHUB_TOKEN }}
        run: |
          if [ "$DRY_RUN" = "true" ]; then
            npx etl run "$SEQUENCE" --dry-run
          else
            npx etl run "$SEQUENCE" --push --notify
          fi
`,
  );
  assert.notEqual(old, text);
  writeFileSync(path, old);
  assert.match((await runCli(['workflows', 'check'], { cwd: repo })).stdout, /etl-dispatch\.yml: stale/);
  assert.equal((await runCli(['workflows', 'generate'], { cwd: repo })).code, 0);
  assert.equal(readFileSync(path, 'utf8'), text);
});
