// What the benchmarks share: medians, timing, a peak-memory sampler, the results table, and
// ledgers of committed runs made fast.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { newRunId, runFolder } from '../dist/src/ledger/layout.js';

const git = (cwd, ...args) => execFileSync('git', args, { cwd, encoding: 'utf8', maxBuffer: 1 << 28 }).trim();

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6;

/** How long `run` takes, in ms. */
export const time = (run) => {
  const start = process.hrtime.bigint();
  run();
  return ms(start);
};

/**
 * Runs a command to its end, sampling its peak resident memory (VmHWM, in KiB) as it goes:
 * the process's own, not that of the programs it starts.
 */
export function peakRss(command, args, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: 'ignore' });
    let peak = 0;
    const sample = () => {
      try {
        const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (hwm) peak = Math.max(peak, Number(hwm[1]));
      } catch {}
    };
    const timer = setInterval(sample, 5);
    child.on('exit', (code) => {
      clearInterval(timer);
      if (code === 0) resolve(peak);
      else reject(new Error(`${args.join(' ')} exited ${code}`));
    });
  });
}

/** Prints the rows [what, value, baseline, ratio, target, met] as a Markdown table; sets the exit code. */
export function printTable(title, rows) {
  console.log(`${title}\n`);
  console.log('| measurement | etl | baseline | ratio | target | met |');
  console.log('|---|---:|---:|---:|---:|---|');
  for (const [what, value, base, ratio, target, met] of rows)
    console.log(`| ${what} | ${value} | ${base} | ${ratio} | ${target} | ${met ? 'yes' : 'NO'} |`);
  process.exitCode = rows.every((r) => r[5]) ? 0 : 1;
}

/** A finished one-step run's record, as the runner writes it. */
export function runRecord(sequence, id) {
  return {
    schema_version: 1,
    id,
    sequence,
    status: 'succeeded',
    trigger: { kind: 'schedule', actor: null, ci: null },
    definitions: { commit: null, dirty: false, files: {} },
    selection: null,
    host: 'bench',
    pid: 1,
    runner_version: 'bench',
    started_at: new Date().toISOString(),
    finished_at: new Date().toISOString(),
    duration_ms: 1000,
    failed_step: null,
    error: null,
    steps: [
      {
        index: 1,
        role: 'step',
        name: 'extract',
        module: 'extract',
        status: 'succeeded',
        duration_ms: 1000,
        exit_code: 0,
        attempts: 1,
        record: 'steps/01-extract.json',
      },
    ],
  };
}

/** A run's folder and record. */
export function runOf(sequence, at) {
  const id = newRunId(at);
  return { folder: runFolder(sequence, id), run: runRecord(sequence, id) };
}

/**
 * A step record as the runner writes it, with a fingerprint and the lineage of an output (the
 * readers of skip_unchanged and lineage read these), when a bench needs them whole.
 */
export function stepRecord(run, output) {
  const sha = (text) => createHash('sha256').update(text).digest('hex');
  return {
    schema_version: 1,
    run_id: run.id,
    index: 1,
    role: 'step',
    name: 'extract',
    module: 'extract',
    argv: ['true'],
    input: null,
    output,
    config: null,
    status: 'succeeded',
    started_at: run.started_at,
    finished_at: run.finished_at,
    duration_ms: 1000,
    attempts: [
      {
        attempt: 1,
        started_at: run.started_at,
        finished_at: run.finished_at,
        duration_ms: 1000,
        exit_code: 0,
        signal: null,
        timed_out: false,
        error: null,
      },
    ],
    log: { bytes: 50, kept_bytes: 50, truncated: false, path: 'logs/01-extract.log' },
    module_files: {},
    fingerprint: sha(`${run.sequence} extract`),
    lineage: { input: null, config: null, output: { path: output, kind: 'file', size: 10, sha256: sha(run.id) } },
  };
}

/**
 * A pipeline repository whose history holds `count` runs of `sequences` sequences (each
 * defined, beside the one-step sequence "s"), one commit each with the runner's trailers,
 * written by git fast-import (minutes of `etl run --commit` otherwise), then checked out.
 * `wholeSteps`: step records as the runner writes them (stepRecord), not a stub.
 */
export async function committedLedger(repo, count, sequences = 10, { wholeSteps = false } = {}) {
  mkdirSync(repo, { recursive: true });
  git(repo, 'init', '--quiet', '--initial-branch=main');
  git(repo, 'config', 'user.name', 'bench');
  git(repo, 'config', 'user.email', 'bench@example.com');
  git(repo, 'config', 'gc.auto', '0');
  const importer = spawn('git', ['fast-import', '--quiet'], { cwd: repo, stdio: ['pipe', 'inherit', 'inherit'] });
  const data = (text) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  const inline = (path, text) => `M 644 inline ${path}\n${data(text)}`;
  const write = (text) =>
    importer.stdin.write(text) ? undefined : new Promise((r) => importer.stdin.once('drain', r));
  await write(
    `commit refs/heads/main\ncommitter bench <bench@example.com> 1700000000 +0000\n${data('definitions')}` +
      inline('modules.json', '{"t": {"cmd": "true"}}\n') +
      inline('etl_sequences/s.json', '[{"module_name": "t"}]\n') +
      Array.from({ length: sequences }, (_, k) =>
        inline(`etl_sequences/seq${k}.json`, `{"schedule": "${k % 60} 3 * * *", "steps": [{"module_name": "t"}]}\n`),
      ).join(''),
  );
  for (let i = 0; i < count; i++) {
    const sequence = `seq${i % sequences}`;
    const { folder, run } = runOf(sequence, new Date(Date.UTC(2024, 0, 1) + i * 600_000));
    const message = `etl(${sequence}): succeeded in 1s [${run.id}]\n\nEtl-Run-Id: ${run.id}\nEtl-Sequence: ${sequence}\nEtl-Status: succeeded\nEtl-Trigger: schedule\n`;
    await write(
      `commit refs/heads/main\ncommitter bench <bench@example.com> ${1700000000 + i} +0000\n${data(message)}` +
        inline(`${folder}/run.json`, `${JSON.stringify(run, null, 2)}\n`) +
        inline(
          `${folder}/steps/01-extract.json`,
          wholeSteps
            ? `${JSON.stringify(stepRecord(run, `out/${sequence}.csv`), null, 2)}\n`
            : '{"index": 1, "status": "succeeded"}\n',
        ) +
        inline(`${folder}/logs/01-extract.log`, `extracted ${run.id}\n`),
    );
  }
  importer.stdin.end();
  await new Promise((resolve) => importer.on('exit', resolve));
  git(repo, 'reset', '--quiet', '--hard', 'main');
  return repo;
}
