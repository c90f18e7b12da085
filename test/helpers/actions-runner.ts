import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { BIN } from './repo.js';

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  env?: Record<string, string>;
}

interface Job {
  needs?: string;
  if?: string;
  outputs?: Record<string, string>;
  strategy?: { matrix?: Record<string, string> };
  steps: Step[];
}

export interface JobRun {
  job: string;
  matrix?: Record<string, unknown>;
  /** Every run step's exit code, stdout and stderr. */
  steps: Array<{ name: string; code: number | null; stdout: string; stderr: string }>;
  outputs: Record<string, string>;
  summary: string;
}

export interface SimulationOptions {
  /** The repository checkout the jobs run in (a clone with a remote). */
  workspace: string;
  workflow: string;
  eventName: string;
  event: Record<string, unknown>;
  inputs?: Record<string, unknown>;
  env: Record<string, string>;
  scratch: string;
}

/**
 * Runs a workflow's jobs the way GitHub's runner would, as far as this project's workflows
 * need: each `run:` script in bash with the step's env (its `${{ }}` expressions evaluated
 * from the event, inputs, matrix, step and job outputs), GITHUB_* variables, and real
 * GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files; `needs`, job outputs, `if:` and a matrix from
 * fromJSON(). `uses:` steps (checkout, setup-node) and `npm ci` are what the workspace already
 * is; `npx etl` runs this build's CLI.
 */
export async function simulateWorkflow(options: SimulationOptions): Promise<JobRun[]> {
  const workflow = parse(readFileSync(join(options.workspace, '.github/workflows', options.workflow), 'utf8')) as {
    jobs: Record<string, Job>;
  };
  const shims = join(options.scratch, 'bin');
  mkdirSync(shims, { recursive: true });
  writeFileSync(
    join(shims, 'npx'),
    `#!/bin/sh\n[ "$1" = etl ] && shift && exec "${process.execPath}" "${BIN}" "$@"\necho "npx $* is not simulated" >&2; exit 127\n`,
  );
  chmodSync(join(shims, 'npx'), 0o755);
  writeFileSync(join(options.scratch, 'event.json'), JSON.stringify(options.event));
  const jobOutputs: Record<string, Record<string, string>> = {};
  const runs: JobRun[] = [];
  let counter = 0;
  for (const [name, job] of Object.entries(workflow.jobs)) {
    const context = {
      github: { event: options.event, event_name: options.eventName },
      inputs: options.inputs ?? {},
      needs: Object.fromEntries(Object.entries(jobOutputs).map(([k, v]) => [k, { outputs: v }])),
      secrets: { GITHUB_TOKEN: options.env.GITHUB_TOKEN ?? '' },
    };
    if (job.if && !truthy(evaluate(job.if, context))) continue;
    const matrixSource = job.strategy?.matrix;
    const combos: Array<Record<string, unknown> | undefined> = matrixSource
      ? Object.entries(matrixSource).flatMap(([key, value]) =>
          (evaluate(String(value), context) as unknown[]).map((v) => ({ [key]: v })),
        )
      : [undefined];
    for (const matrix of combos) {
      const files = {
        output: join(options.scratch, `output-${++counter}`),
        summary: join(options.scratch, `summary-${counter}`),
      };
      const stepOutputs: Record<string, { outputs: Record<string, string> }> = {};
      const run: JobRun = { job: name, matrix, steps: [], outputs: {}, summary: '' };
      for (const step of job.steps) {
        if (step.uses || !step.run || step.run.trim() === 'npm ci') continue;
        writeFileSync(files.output, '');
        const scope = { ...context, matrix: matrix ?? {}, steps: stepOutputs };
        const env = Object.fromEntries(
          Object.entries(step.env ?? {}).map(([k, v]) => [k, String(evaluate(String(v), scope) ?? '')]),
        );
        const result = await bash(step.run, options.workspace, {
          ...process.env,
          ...options.env,
          ...env,
          PATH: `${shims}:${process.env.PATH}`,
          GITHUB_ACTIONS: 'true',
          CI: 'true',
          GITHUB_EVENT_NAME: options.eventName,
          GITHUB_EVENT_PATH: join(options.scratch, 'event.json'),
          GITHUB_OUTPUT: files.output,
          GITHUB_STEP_SUMMARY: files.summary,
          GITHUB_WORKFLOW: options.workflow.replace(/\.yml$/, ''),
          NO_COLOR: '1',
        });
        run.steps.push({
          name: step.name ?? step.run.split('\n')[0]!,
          code: result.status,
          stdout: result.stdout,
          stderr: result.stderr,
        });
        if (step.id) stepOutputs[step.id] = { outputs: readOutputs(files.output) };
        if (result.status !== 0) break;
      }
      try {
        run.summary = readFileSync(files.summary, 'utf8');
      } catch {
        run.summary = '';
      }
      run.outputs = Object.fromEntries(
        Object.entries(job.outputs ?? {}).map(([k, v]) => [
          k,
          String(evaluate(v, { ...context, steps: stepOutputs }) ?? ''),
        ]),
      );
      jobOutputs[name] = run.outputs;
      runs.push(run);
    }
  }
  return runs;
}

/** Runs a script without blocking this process: the loopback GitHub server answers from here. */
function bash(
  script: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-e', '-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** The expressions this project's workflows use: paths into the contexts, fromJSON, != and &&. */
function evaluate(text: string, scope: Record<string, unknown>): unknown {
  const whole = /^\s*\$\{\{\s*([\s\S]+?)\s*\}\}\s*$/.exec(text);
  if (whole) return expression(whole[1]!, scope);
  return text.replace(/\$\{\{\s*([\s\S]+?)\s*\}\}/g, (_m, e: string) => String(expression(e, scope) ?? ''));
}

function expression(text: string, scope: Record<string, unknown>): unknown {
  if (text.includes('&&')) return text.split('&&').every((part) => truthy(expression(part.trim(), scope)));
  const compare = /^(.+?)\s*(!=|==)\s*'([^']*)'$/.exec(text);
  if (compare) {
    const value = String(expression(compare[1]!, scope) ?? '');
    return compare[2] === '!=' ? value !== compare[3] : value === compare[3];
  }
  const fromJson = /^fromJSON\((.+)\)$/.exec(text);
  if (fromJson) return JSON.parse(String(expression(fromJson[1]!, scope)));
  return text.split('.').reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], scope);
}

function truthy(value: unknown): boolean {
  return value !== false && value !== '' && value !== null && value !== undefined && value !== 0;
}

function readOutputs(file: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = readFileSync(file, 'utf8').split('\n');
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
