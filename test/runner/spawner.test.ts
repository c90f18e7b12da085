// Both ways of starting modules, through runProcess: Node's own spawn and the Python helper
// must behave the same (exit codes, signals, output, errors, process groups), and the helper's
// start-ahead must never start a step that should not run.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type ProcessResult, runProcess } from '../../src/runner/process.js';
import { HelperSpawner, nodeSpawner, openSpawner, type Spawner } from '../../src/runner/spawner.js';
import { isRunning, pipelineRepo, runCli, waitUntilGone } from '../helpers/repo.js';

const spawners: Array<[string, () => Promise<Spawner>]> = [
  ['node', async () => nodeSpawner()],
  ['python', () => HelperSpawner.open(2000)],
];

function scratch(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'etl-spawner-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function script(dir: string, name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

async function run(spawner: Spawner, command: string, argv: string[], extra: { timeoutMs?: number } = {}) {
  let output = '';
  const result: ProcessResult = await runProcess({
    module: { command, argv, cwd: tmpdir(), env: { PATH: process.env.PATH, GREETING: 'hello' } },
    graceMs: 500,
    spawner,
    onOutput: (chunk, from) => {
      output += `${from}:${chunk.toString()}`;
    },
    ...extra,
  });
  return { result, output };
}

for (const [name, open] of spawners) {
  test(`${name} spawner: argv, argv[0], environment, stdout and stderr, exit code`, async (t) => {
    const spawner = await open();
    t.after(() => spawner.close());
    const dir = scratch(t);
    const path = script(dir, 'm.sh', 'echo "$1 $GREETING"; echo oops >&2; exit 3');
    const { result, output } = await run(spawner, path, ['m', 'one']);
    assert.equal(result.exitCode, 3);
    assert.equal(result.signal, null);
    assert.equal(result.error, null);
    assert.match(output, /out:one hello\n/);
    assert.match(output, /err:oops\n/);
    // argv[0] is what the program sees as its name.
    const named = await run(spawner, '/bin/sh', ['shown-name', '-c', 'tr "\\0" " " < /proc/$$/cmdline']);
    assert.match(named.output, /^out:shown-name -c /);
  });

  test(`${name} spawner: a shared environment under each module's own, which may unset a shared variable`, async (t) => {
    const spawner = await open();
    t.after(() => spawner.close());
    const envOf = async (sharedEnv: Record<string, string | undefined>, env: Record<string, string | undefined>) => {
      let output = '';
      const result = await runProcess({
        module: { command: '/bin/sh', argv: ['sh', '-c', 'echo "$A|${B-unset}|$C"'], cwd: tmpdir(), sharedEnv, env },
        graceMs: 500,
        spawner,
        onOutput: (chunk) => {
          output += chunk.toString();
        },
      });
      return result.error ?? output.trim();
    };
    const shared = { PATH: process.env.PATH, A: 'a', B: 'b', UNSET: undefined };
    assert.equal(await envOf(shared, { C: 'c' }), 'a|b|c');
    assert.equal(await envOf(shared, { A: 'own', B: undefined }), 'own|unset|');
    assert.equal(await envOf(shared, {}), 'a|b|', 'what one module set or unset is not left for the next');
    assert.equal(await envOf({ PATH: process.env.PATH, A: 'other' }, {}), 'other|unset|', 'a new shared environment');
    assert.match(await envOf({ PATH: process.env.PATH, A: 'x\0y' }, {}), /NUL character/);
    assert.equal(await envOf(shared, { C: 'again' }), 'a|b|again');
  });

  test(`${name} spawner: a module starts with no signal ignored and none blocked (as Node's spawn gives)`, async (t) => {
    const spawner = await open();
    t.after(() => spawner.close());
    // The module itself reads its own state (no shell in between: a shell blocks signals while it forks).
    const grep = execFileSync('sh', ['-c', 'command -v grep']).toString().trim();
    const { output } = await run(spawner, grep, ['grep', '-E', '^Sig(Ign|Blk)', '/proc/self/status']);
    const mask = (name: string) => BigInt(`0x${new RegExp(`${name}:\\s+([0-9a-f]+)`).exec(output)?.[1] ?? 'ff'}`);
    // Signals 1 to 31 (SIGPIPE, SIGXFSZ, SIGINT... at their defaults). glibc's posix_spawn
    // leaves its own two internal signals (32, 33: no program may use them) ignored.
    assert.equal(mask('SigIgn') & 0x7fffffffn, 0n, output);
    assert.equal(mask('SigBlk'), 0n, output);
  });

  test(`${name} spawner: a module killed by a signal, a missing program, a NUL in an argument`, async (t) => {
    const spawner = await open();
    t.after(() => spawner.close());
    const dir = scratch(t);
    const killed = await run(spawner, script(dir, 'k.sh', 'kill -TERM $$'), ['k']);
    assert.deepEqual([killed.result.exitCode, killed.result.signal], [null, 'SIGTERM']);
    const missing = await run(spawner, join(dir, 'nope'), ['nope']);
    assert.match(missing.result.error ?? '', /cannot start nope: ENOENT/);
    const nul = await run(spawner, '/bin/echo', ['echo', 'a\0b']);
    assert.match(nul.result.error ?? '', /NUL character/);
    const big = await run(spawner, '/bin/echo', ['echo', 'x'.repeat(3 * 1024 * 1024)]);
    assert.match(big.result.error ?? '', /E2BIG/);
  });

  test(`${name} spawner: a timeout reaches the module's grandchildren (its own process group)`, async (t) => {
    const spawner = await open();
    t.after(() => spawner.close());
    const dir = scratch(t);
    const pids = join(dir, 'pids');
    const path = script(dir, 'g.sh', `sleep 30 & echo $$ $! > ${pids}; wait`);
    const { result } = await run(spawner, path, ['g'], { timeoutMs: 300 });
    assert.equal(result.timedOut, true);
    const [module, grandchild] = readFileSync(pids, 'utf8').trim().split(' ').map(Number);
    assert.ok(await waitUntilGone([module!, grandchild!], 3000), 'module and grandchild are gone');
  });
}

test('python spawner: the next step starts on a success, never after a failure, and is ended when not taken', async (t) => {
  const spawner = await HelperSpawner.open(2000);
  t.after(() => spawner.close());
  const dir = scratch(t);
  const marker = join(dir, 'started');
  const next = {
    command: script(dir, 'next.sh', `echo $$ >> ${marker}; sleep 30`),
    argv: ['next'],
    cwd: dir,
    env: { PATH: process.env.PATH },
  };
  const step = (code: number) => ({
    command: script(dir, `exit${code}.sh`, `exit ${code}`),
    argv: [`exit${code}`],
    cwd: dir,
    env: { PATH: process.env.PATH },
  });
  const finish = (child: ReturnType<Spawner['start']>) =>
    new Promise<number | null>((resolve) => child.on('exit', (code: number | null) => resolve(code)));
  const started = () => readFileSync(marker, { encoding: 'utf8', flag: 'a+' }).trim().split('\n').filter(Boolean);

  // A failure: the next step must not start. The helper starts "next" in the turn that sees
  // the module's exit and its output's end, before it sends their frames: a next.sh would be
  // in /proc by the time both are heard.
  const failing = spawner.start(step(1));
  const closed = new Promise((resolve) => failing.once('close', resolve));
  spawner.startNext(next);
  assert.equal(await finish(failing), 1);
  await closed;
  assert.deepEqual(processesOf(next.command), [], 'nothing started after a failure');
  spawner.cancelNext();

  // A success: it starts at once, and start() of the same spec takes it.
  const ok = spawner.start(step(0));
  spawner.startNext(next);
  assert.equal(await finish(ok), 0);
  for (let i = 0; i < 100 && started().length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(started().length, 1, 'started ahead');
  const taken = spawner.start(next);
  // The helper tells the pid in a frame of its own, which may come after the module's first words.
  if (taken.pid === undefined) await new Promise((resolve) => taken.once('spawn', resolve));
  assert.equal(taken.pid, Number(started()[0]));
  process.kill(-taken.pid!, 'SIGKILL');
  assert.equal(await finish(taken), null);

  // Started ahead but not taken (the run was cancelled): ended.
  const again = spawner.start(step(0));
  spawner.startNext(next);
  await finish(again);
  for (let i = 0; i < 100 && started().length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  const orphan = Number(started()[1]);
  spawner.cancelNext();
  assert.ok(await waitUntilGone([orphan], 3000), 'a module started ahead and not taken is killed');
});

test('python spawner: the next step never starts after a module that exited 0 but wrote more than 64 KiB for the runner', async (t) => {
  const spawner = await HelperSpawner.open(2000);
  t.after(() => spawner.close());
  const dir = scratch(t);
  const next = {
    command: script(dir, 'next.sh', `echo started >> ${join(dir, 'started')}; sleep 30`),
    argv: ['next'],
    cwd: dir,
    env: { PATH: process.env.PATH },
  };
  // Its step fails (the file is not read): starting the next one would run a step that must not.
  for (const variable of ['ETL_METRICS', 'ETL_OUTPUTS']) {
    const writer = spawner.start({
      command: script(dir, 'big.sh', `yes x | head -n 40000 >> "$${variable}"`),
      argv: ['big'],
      cwd: dir,
      env: { PATH: process.env.PATH, [variable]: join(dir, `${variable}.txt`) },
    });
    const closed = new Promise((resolve) => writer.once('close', resolve));
    spawner.startNext(next);
    assert.equal(await new Promise((resolve) => writer.on('exit', resolve)), 0);
    await closed;
    assert.deepEqual(processesOf(next.command), [], `nothing started after 80,000 bytes in ${variable}`);
    spawner.cancelNext();
  }
});

test('without a Python for the helper the run falls back to Node spawn; ETL_SPAWNER chooses', async () => {
  const missing = { ETL_PYTHON: '/nonexistent/python3' };
  const fallback = await openSpawner(missing, 1000);
  assert.equal(fallback.kind, 'node', "Node's spawn");
  await assert.rejects(openSpawner({ ...missing, ETL_SPAWNER: 'python' }, 1000), /\/nonexistent\/python3/);
  // Not a Python 3.9 or later: the helper exits 3 at once.
  const old = join(scratch({ after: () => {} }), 'python3');
  writeFileSync(old, '#!/bin/sh\nexit 3\n');
  chmodSync(old, 0o755);
  assert.equal((await openSpawner({ ETL_PYTHON: old }, 1000)).kind, 'node', 'an old Python: Node');
  const saved = process.env.PATH;
  try {
    // The helper's Python is not looked up on the modules' PATH where the system has one.
    process.env.PATH = '/nonexistent';
    const system = await openSpawner({}, 1000);
    assert.equal(system.kind, existsSync('/usr/bin/python3') ? 'python' : 'node');
    system.close();
  } finally {
    process.env.PATH = saved;
  }
  const helper = await openSpawner({}, 1000);
  assert.equal(helper.kind, 'python', 'the helper where python3 is');
  helper.close();
  assert.equal((await openSpawner({ ETL_SPAWNER: 'node' }, 1000)).kind, 'node');
  assert.ok(isRunning(process.pid));
});

test('a mistaken ETL_SPAWNER, or python asked for where there is none: exit 2, one clear line, no run started', async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' } },
    sequences: { s: Array.from({ length: 5 }, () => ({ module_name: 'ok' })) },
  });
  // A PATH with node, git and sh but no python3.
  const bin = scratch(t);
  for (const program of ['git', 'sh'])
    symlinkSync(
      execFileSync('sh', ['-c', `command -v ${program}`])
        .toString()
        .trim(),
      join(bin, program),
    );
  const cases: Array<[NodeJS.ProcessEnv, RegExp]> = [
    [{ ETL_SPAWNER: 'pyhton' }, /ETL_SPAWNER is "pyhton": it may be node or python/],
    [
      { ETL_SPAWNER: 'python', ETL_PYTHON: join(bin, 'python3') },
      /ETL_SPAWNER=python, but \S+python3 \(Python 3\.9 or later\) cannot be started/,
    ],
  ];
  for (const [env, message] of cases) {
    const result = await runCli(['run', 's'], { cwd: repo, env });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, message);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(existsSync(join(repo, 'runs/s/.lock')), false, 'the lock is released');
    const made = existsSync(join(repo, 'runs'))
      ? readdirSync(join(repo, 'runs'), { recursive: true, encoding: 'utf8' })
      : [];
    assert.deepEqual(
      made.filter((path) => /\d{8}T\d{9}Z-/.test(path)),
      [],
      'no run folder, not even an empty one',
    );
  }
  // Without python3 and nothing asked: Node's spawn, and the run succeeds.
  const fallback = await runCli(['run', 's'], { cwd: repo, env: { PATH: bin, ETL_PYTHON: join(bin, 'python3') } });
  assert.equal(fallback.code, 0, fallback.stderr);
});

/** The processes whose command line holds `path` (Linux: /proc/PID/cmdline). */
function processesOf(path: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(path);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}
