// What the benchmarks share: medians, timing, a peak-memory sampler, the results table.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6;

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
