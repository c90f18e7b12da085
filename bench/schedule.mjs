#!/usr/bin/env node
// Firing accuracy of `etl schedule` in real time: a daemon runs two sequences scheduled every
// minute ("* * * * *", one in UTC, one in Europe/Madrid) for --minutes minutes; then, from the
// run records, each run's recorded start against the tick it was for (median and worst), and
// the daemon's resident memory at the start and at the end. The baseline is the tick itself:
// a perfect scheduler starts each run at 0 ms. With --push, the repository has a bare remote
// on this machine and the daemon runs with --push: each tick is claimed on the remote first,
// and each run committed and pushed.
//
//   npm run build && node bench/schedule.mjs [--minutes 10] [--push]
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median, printTable } from './lib.mjs';

const { values } = parseArgs({
  options: { minutes: { type: 'string', default: '10' }, push: { type: 'boolean', default: false } },
});
const MINUTES = Number(values.minutes);
const bin = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
const repo = mkdtempSync(join(tmpdir(), 'etl-bench-schedule-'));
const rss = (pid) => Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024);

try {
  mkdirSync(join(repo, 'etl_sequences'));
  mkdirSync(join(repo, 'modules'));
  writeFileSync(join(repo, 'modules/ok.sh'), '#!/bin/sh\necho ok\n', { mode: 0o755 });
  writeFileSync(join(repo, 'modules.json'), '{"ok": {"cmd": "./modules/ok.sh"}}');
  writeFileSync(join(repo, 'etl_sequences/utc.json'), '{"schedule": "* * * * *", "steps": [{"module_name": "ok"}]}');
  writeFileSync(
    join(repo, 'etl_sequences/madrid.json'),
    '{"schedule": "* * * * *", "timezone": "Europe/Madrid", "steps": [{"module_name": "ok"}]}',
  );
  if (values.push) {
    const git = (...args) => execFileSync('git', args, { cwd: repo, stdio: 'ignore' });
    git('init', '--quiet', '--initial-branch=main');
    git('add', '-A');
    git('-c', 'user.name=bench', '-c', 'user.email=bench@example.com', 'commit', '--quiet', '-m', 'definitions');
    git('init', '--quiet', '--bare', join(repo, '.remote.git'));
    git('remote', 'add', 'origin', join(repo, '.remote.git'));
    git('push', '--quiet', 'origin', 'main');
  }
  const daemon = spawn(process.execPath, [bin, 'schedule', ...(values.push ? ['--push'] : [])], {
    cwd: repo,
    stdio: 'ignore',
  });
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const startRss = rss(daemon.pid);
  await new Promise((resolve) => setTimeout(resolve, MINUTES * 60_000));
  const endRss = rss(daemon.pid);
  daemon.kill('SIGTERM');
  await new Promise((resolve) => daemon.on('exit', resolve));
  const runs = JSON.parse(
    execFileSync(process.execPath, [bin, 'history', '--json', '--limit', '10000'], { cwd: repo, encoding: 'utf8' }),
  );
  const delays = runs.filter((r) => r.trigger.tick).map((r) => Date.parse(r.started_at) - Date.parse(r.trigger.tick));
  const ticks = new Set(runs.map((r) => `${r.sequence} ${r.trigger.tick}`));
  printTable(
    `etl schedule${values.push ? ' --push (ticks claimed on a bare remote on this machine)' : ''}, ${MINUTES} minutes of real time, 2 sequences every minute; node ${process.version}`,
    [
      [
        'runs (one per sequence and tick)',
        `${runs.length} (${ticks.size} ticks)`,
        `${MINUTES * 2} ticks passed`,
        '',
        'one a tick, none missed',
        ticks.size === runs.length && runs.length >= MINUTES * 2 - 2,
      ],
      [
        'tick to recorded start, median',
        `${median(delays).toFixed(0)} ms`,
        'the tick: 0 ms',
        '',
        '< 100 ms',
        median(delays) < 100,
      ],
      [
        'tick to recorded start, worst',
        `${Math.max(...delays).toFixed(0)} ms`,
        'the tick: 0 ms',
        '',
        '< 1000 ms',
        Math.max(...delays) < 1000,
      ],
      [
        'daemon RSS at the end',
        `${endRss} MB`,
        `at the start: ${startRss} MB`,
        `${(endRss / startRss).toFixed(2)}x`,
        '<= 1.2x',
        endRss / startRss <= 1.2,
      ],
    ],
  );
} finally {
  rmSync(repo, { recursive: true, force: true });
}
