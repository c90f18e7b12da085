import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { warningLine } from '../../src/github/actions.js';
import type { RunRecord } from '../../src/runner/records.js';
import { pipelineRepo, runCli, tempRepo } from '../helpers/repo.js';

/** The variables a GitHub Actions runner sets, with real output and summary files. */
function actionsEnv(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  writeFileSync(join(dir, 'output.txt'), '');
  writeFileSync(join(dir, 'summary.md'), '');
  return {
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_OUTPUT: join(dir, 'output.txt'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary.md'),
    GITHUB_EVENT_NAME: 'schedule',
    GITHUB_WORKFLOW: 'etl-schedule',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '2',
    GITHUB_SHA: 'abc123',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_ACTOR: 'octocat',
    GITHUB_REPOSITORY: 'office/pipelines',
    GITHUB_SERVER_URL: 'https://github.com',
    ...extra,
  };
}

/** Parses GITHUB_OUTPUT: name=value lines and name<<DELIMITER blocks. */
function readOutputs(file: string): Record<string, string> {
  const lines = readFileSync(file, 'utf8').split('\n');
  const outputs: Record<string, string> = {};
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([^=<]+)<<(.+)$/.exec(lines[i]!);
    if (heredoc) {
      const end = lines.indexOf(heredoc[2]!, i + 1);
      outputs[heredoc[1]!] = lines.slice(i + 1, end).join('\n');
      i = end;
    } else if (lines[i]!.includes('=')) {
      outputs[lines[i]!.slice(0, lines[i]!.indexOf('='))] = lines[i]!.slice(lines[i]!.indexOf('=') + 1);
    }
  }
  return outputs;
}

test('in GitHub Actions: masks first, each step in a group, module output behind stop-commands, summary and outputs written', async (t) => {
  const secret = 'sup3r-s3cret-value';
  const repo = pipelineRepo(t, {
    modules: {
      inject: { cmd: './modules/inject.sh' },
      leak: { cmd: './modules/print-secret.sh' },
      fail: { cmd: './modules/fail.sh 3' },
    },
    sequences: {
      s: {
        secrets: ['DB_PASSWORD'],
        steps: [{ module_name: 'inject' }, { module_name: 'leak' }, { module_name: 'fail' }],
      },
    },
  });
  const env = actionsEnv(repo, { DB_PASSWORD: secret });
  const result = await runCli(['run', 's'], { cwd: repo, env });
  assert.equal(result.code, 1, result.stderr);
  const out = result.stdout;
  assert.ok(out.startsWith(`::add-mask::${secret}\n`), out.slice(0, 200));
  assert.equal(out.split(secret).length - 1, 1, 'the value appears only in the mask command');
  const group = /::group::1\/3 inject\n::stop-commands::([0-9a-f]{32})\n([\s\S]*?)::\1::\n::endgroup::\n/.exec(out);
  assert.ok(group, out);
  assert.equal(group[2], '::error::injected by a module\n::add-mask::nothing\nno newline at the end\n');
  assert.match(
    out,
    /::group::3\/3 fail\n::stop-commands::[0-9a-f]{32}\nfail\.sh is about to fail\nsomething went wrong\n/,
  );
  assert.match(out, /✗ 3\/3 fail failed \(exited with code 3\)/);

  const outputs = readOutputs(env.GITHUB_OUTPUT!);
  assert.equal(outputs.status, 'failed');
  assert.match(outputs['run-id']!, /^\d{8}T\d{9}Z-[0-9a-f]{8}$/);
  const run = JSON.parse(readFileSync(join(repo, outputs['record-path']!), 'utf8')) as RunRecord;
  assert.equal(run.id, outputs['run-id']);
  assert.deepEqual(run.trigger, {
    kind: 'schedule',
    actor: 'octocat',
    ci: {
      provider: 'github-actions',
      workflow: 'etl-schedule',
      run_id: '4242',
      run_attempt: '2',
      sha: 'abc123',
      ref: 'refs/heads/main',
      event: 'schedule',
      actor: 'octocat',
      repository: 'office/pipelines',
      url: 'https://github.com/office/pipelines/actions/runs/4242',
    },
  });
  const summary = readFileSync(env.GITHUB_STEP_SUMMARY!, 'utf8');
  assert.match(summary, /^### etl run `s`: failed in \S+/);
  assert.match(summary, /\| 3 \| fail \| fail \| failed \| \S+ \| 3 \|/);
  assert.match(
    summary,
    /<summary>last lines of fail's log<\/summary>\n\n```\nfail\.sh is about to fail\nsomething went wrong\n```/,
  );
  assert.doesNotMatch(summary, new RegExp(secret));
});

test('in GitHub Actions: a step with run is named by its program in the summary, marked (run)', async (t) => {
  const repo = pipelineRepo(t, {
    modules: {},
    sequences: { s: { steps: [{ run: "sh -c 'echo one'" }, { name: 'two', run: "sh -c 'exit 3'" }] } },
  });
  const env = actionsEnv(repo);
  const result = await runCli(['run', 's'], { cwd: repo, env });
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stdout, /::group::1\/2 sh \(run\)\n/);
  const summary = readFileSync(env.GITHUB_STEP_SUMMARY!, 'utf8');
  assert.match(summary, /\| 1 \| sh \| \(run\) sh \| succeeded \| \S+ \| 0 \|/);
  assert.match(summary, /\| 2 \| two \| \(run\) sh \| failed \| \S+ \| 3 \|/);
});

test('in GitHub Actions: a graph run lists its steps by level in the summary; a call step names the run it started', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: {
      other: [{ module_name: 'ok' }],
      g: {
        max_parallel: 3,
        steps: [
          { name: 'a', module_name: 'ok', needs: [] },
          { name: 'b', module_name: 'ok', needs: [] },
          { name: 'c', call: 'other', needs: ['a', 'b'] },
          { name: 'd', module_name: 'ok', needs: ['a'] },
        ],
      },
    },
  });
  const env = actionsEnv(repo);
  const result = await runCli(['run', 'g'], { cwd: repo, env });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const summary = readFileSync(env.GITHUB_STEP_SUMMARY!, 'utf8');
  assert.match(summary, /\| 3 \| c \| \(call\) other \| succeeded \|/);
  assert.match(
    summary,
    /Ran as a graph, up to 3 steps at once; by level \(each after the steps it needs\):\n\n1\. 1 a \(succeeded\) · 2 b \(succeeded\)\n2\. 3 c \(succeeded\) · 4 d \(succeeded\)\n/,
  );
  assert.match(summary, /Step 3 ran `other` as run `\d{8}T\d{9}Z-[0-9a-f]{8}`\./);
  // The child run wrote its own summary, naming its parent.
  assert.match(summary, /Called by step 3 \(c\) of run `\d{8}T\d{9}Z-[0-9a-f]{8}` of `g`\./);
});

test('--format github annotates 10 errors and 10 warnings; the rest go to the log and the job summary', async (t) => {
  const sequences: Record<string, string> = {};
  for (let i = 0; i < 12; i++)
    sequences[`etl_sequences/s${String(i).padStart(2, '0')}.json`] = JSON.stringify([
      { module_name: `missing${i}`, input: 'None' },
    ]);
  const repo = tempRepo(t, { 'modules.json': '{"x": {"cmd": "true"}}', ...sequences });
  const env = actionsEnv(repo);
  const result = await runCli(['validate', '--format', 'github'], { cwd: repo, env });
  assert.equal(result.code, 2);
  const lines = result.stdout.trim().split('\n');
  assert.equal(lines.filter((l) => l.startsWith('::error ')).length, 10);
  assert.equal(lines.filter((l) => l.startsWith('::warning ')).length, 10);
  assert.match(result.stdout, /^::notice title=etl validate::4 more problems than GitHub shows as annotations/m);
  assert.equal(lines.filter((l) => /^etl_sequences\/s1[01]\.json:1:\d+: (error|warning): /.test(l)).length, 4);
  const summary = readFileSync(env.GITHUB_STEP_SUMMARY!, 'utf8');
  assert.match(summary, /^### etl validate: 12 errors, 12 warnings/);
  assert.equal(summary.split('\n').filter((l) => l.startsWith('| `etl_sequences/')).length, 24);
});

test('a warning is an escaped annotation inside Actions and a plain line outside', () => {
  const message = 'could not notify GitHub: 100% down\nsee the log';
  assert.equal(
    warningLine({ GITHUB_ACTIONS: 'true' }, 'etl run', 'etl run --notify', message),
    '::warning title=etl run --notify::could not notify GitHub: 100%25 down%0Asee the log\n',
  );
  assert.equal(warningLine({}, 'etl run', 'etl run --notify', message), `etl run: warning: ${message}\n`);
});
