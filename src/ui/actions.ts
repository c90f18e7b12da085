// What `etl ui --allow-run` lets a page do: run a sequence (from a step), cancel a running run.
// Each starts what the CLI does, in a child process. Guarded three ways: POST only, an Origin
// that is this server's own, and the random token printed when the server started.
import { spawn } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NAME_PATTERN } from '../definitions/patterns.js';
import { findRun, type LedgerView, readRun } from '../ledger/history.js';
import { lockFile, RUN_ID_PATTERN } from '../ledger/layout.js';
import type { LockInfo } from '../ledger/lock.js';
import { isAlive, readLock } from '../lock-file.js';
import type { ApiResponse } from './api.js';

export interface Actions {
  /** The secret a request must carry (X-Etl-Token). */
  token: string;
  /** The pipeline repository runs start in. */
  repo: string;
  view: LedgerView;
  env: NodeJS.ProcessEnv;
}

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const MAX_BODY = 4096;

/** Answers POST /api/actions/NAME, after its checks. */
export async function handleAction(actions: Actions, name: string, request: IncomingMessage): Promise<ApiResponse> {
  const refuse = (status: number, error: string): ApiResponse => ({ status, json: { error } });
  if (name !== 'run' && name !== 'cancel') return refuse(404, 'no such action');
  if (request.method !== 'POST') return refuse(405, 'actions are POST');
  // A page of another site may post here (the browser sends its Origin): only ours may act.
  if (request.headers.origin !== `http://${request.headers.host}`) return refuse(403, 'not from this page');
  const token = Buffer.from(String(request.headers['x-etl-token'] ?? ''));
  const expected = Buffer.from(actions.token);
  if (token.length !== expected.length || !timingSafeEqual(token, expected))
    return refuse(403, 'missing or wrong token');
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(await readBody(request)) as Record<string, unknown>;
  } catch {
    return refuse(400, 'the body is a JSON object');
  }
  return name === 'run' ? run(actions, body) : cancel(actions, body);
}

function run(actions: Actions, body: Record<string, unknown>): ApiResponse {
  const sequence = body.sequence;
  if (typeof sequence !== 'string' || !new RegExp(NAME_PATTERN).test(sequence))
    return { status: 400, json: { error: 'sequence is a sequence name' } };
  const from = body.from;
  if (from !== undefined && !(Number.isInteger(from) && (from as number) >= 1))
    return { status: 400, json: { error: 'from is a step number' } };
  const resume = body.resume;
  if (resume !== undefined && !(typeof resume === 'string' && RUN_ID_PATTERN.test(resume)))
    return { status: 400, json: { error: 'resume is a run id' } };
  if (from !== undefined && resume !== undefined) return { status: 400, json: { error: 'from or resume, not both' } };
  const args = [
    CLI,
    '--repo',
    actions.repo,
    'run',
    sequence,
    ...(from ? ['--from', String(from)] : []),
    ...(resume ? ['--resume', resume] : []),
  ];
  // Its own process, as from a terminal: it outlives the page, and the server.
  spawn(process.execPath, args, { cwd: actions.repo, env: actions.env, stdio: 'ignore', detached: true }).unref();
  return { status: 202, json: { started: sequence, from: from ?? null, resume: resume ?? null } };
}

function cancel(actions: Actions, body: Record<string, unknown>): ApiResponse {
  const id = body.run;
  if (typeof id !== 'string' || !RUN_ID_PATTERN.test(id)) return { status: 400, json: { error: 'run is a run id' } };
  let record: ReturnType<typeof readRun>;
  let root: string;
  try {
    const ref = findRun(actions.view, id);
    record = readRun(ref.root, ref);
    root = ref.root;
  } catch {
    return { status: 404, json: { error: 'no such run' } };
  }
  // The runner is the process holding its sequence's lock for this run: SIGTERM is Ctrl-C.
  const lock = record && readLock<LockInfo>(join(root, lockFile(record.sequence)));
  if (record?.status !== 'running' || !lock || lock.run_id !== id || lock.host !== hostname() || !isAlive(lock))
    return { status: 409, json: { error: 'the run is not running here' } };
  process.kill(lock.pid, 'SIGTERM');
  return { status: 202, json: { cancelling: id } };
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > MAX_BODY) {
        reject(new Error('too large'));
        request.destroy();
      }
    });
    request.on('end', () => resolve(body));
    request.on('error', reject);
  });
}
