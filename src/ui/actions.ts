// What `etl ui --allow-run` lets a page do: run a sequence (from a step), cancel a running run.
// Each starts what the CLI does, in a child process. Guarded three ways: POST only, an Origin
// that is this server's own, and the random token printed when the server started.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SEQUENCES_DIR } from '../definitions/model.js';
import { NAME_PATTERN } from '../definitions/patterns.js';
import { isDefinedSequence } from '../definitions/validate.js';
import type { LedgerStore } from '../ledger/store.js';
import { lockFile, RUN_ID_PATTERN } from '../ledger/layout.js';
import type { LockInfo } from '../ledger/lock.js';
import { isAlive, readLock } from '../lock-file.js';
import type { ApiResponse } from './api.js';
import type { CancellingAnswer, RunStartedAnswer } from './api-types.js';

export interface Actions {
  /** The secret a request must carry (X-Etl-Token). */
  token: string;
  /** The pipeline repository runs start in. */
  repo: string;
  store: LedgerStore;
  env: NodeJS.ProcessEnv;
  /** Told of every action asked for, done or refused, in a line: who, what, and the run. */
  log?(line: string): void;
}

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const MAX_BODY = 4096;

/** Answers POST /api/actions/NAME, after its checks, and logs what was asked and how it went. */
export async function handleAction(actions: Actions, name: string, request: IncomingMessage): Promise<ApiResponse> {
  const asked: { body?: Record<string, unknown> } = {};
  const answer = await answerAction(actions, name, request, asked);
  const json = (answer.json ?? {}) as Record<string, unknown>;
  const what = asked.body ? describe(name, asked.body) : name;
  const outcome =
    answer.status >= 400
      ? `refused (${answer.status}: ${String(json.error)})`
      : json.run
        ? `run ${String(json.run)}`
        : json.cancelling
          ? 'cancelling'
          : 'started, no run recorded yet';
  actions.log?.(`${request.socket.remoteAddress ?? 'unknown address'} asked to ${what}: ${outcome}`);
  return answer;
}

/**
 * An action in words: "run daily from step 2 with day=2026-01-01", "cancel run ID". What the
 * request said is quoted unless it is plain, so that no value can start a line of its own in
 * the log (a param value may hold a line break).
 */
function describe(name: string, body: Record<string, unknown>): string {
  const plain = (value: unknown) =>
    /^[\w.@%+=:,/-]+$/.test(String(value)) ? String(value) : JSON.stringify(String(value));
  if (name === 'cancel') return `cancel run ${plain(body.run)}`;
  const params = body.params && typeof body.params === 'object' ? Object.entries(body.params) : [];
  return [
    body.sequence !== undefined || body.run === undefined ? `run ${plain(body.sequence)}` : `run ${plain(body.run)}`,
    body.from !== undefined ? `from step ${plain(body.from)}` : '',
    body.resume !== undefined ? `resuming run ${plain(body.resume)}` : '',
    params.length ? `with ${params.map(([k, v]) => `${plain(k)}=${plain(v)}`).join(' ')}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

async function answerAction(
  actions: Actions,
  name: string,
  request: IncomingMessage,
  asked: { body?: Record<string, unknown> },
): Promise<ApiResponse> {
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
  if (body === null || typeof body !== 'object') return refuse(400, 'the body is a JSON object');
  asked.body = body;
  return name === 'run' ? run(actions, body) : cancel(actions, body);
}

/** How long a started `etl run` has to record its run before the answer goes without it. */
const RUN_START_MS = 30_000;

async function run(actions: Actions, body: Record<string, unknown>): Promise<ApiResponse> {
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
  if (!isDefinedSequence(actions.repo, sequence))
    return { status: 404, json: { error: `no sequence "${sequence}" in ${SEQUENCES_DIR}/` } };
  const params = body.params ?? {};
  if (
    typeof params !== 'object' ||
    params === null ||
    Array.isArray(params) ||
    Object.entries(params).some(([key, value]) => !PARAM_NAME.test(key) || typeof value !== 'string')
  )
    return { status: 400, json: { error: 'params is an object of names (letters, digits, _) and text values' } };
  const args = [
    CLI,
    '--repo',
    actions.repo,
    'run',
    sequence,
    '--trigger',
    'ui',
    ...(from ? ['--from', String(from)] : []),
    ...(resume ? ['--resume', resume] : []),
    ...Object.entries(params).flatMap(([key, value]) => ['--param', `${key}=${value as string}`]),
  ];
  // Its own process, as from a terminal: it outlives the page, and the server. What it says
  // on stderr goes to a file: the answer quotes it when no run starts.
  const said = join(tmpdir(), `etl-ui-run-${randomBytes(6).toString('hex')}.txt`);
  const stderr = openSync(said, 'w');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, args, {
      cwd: actions.repo,
      env: actions.env,
      stdio: ['ignore', 'ignore', stderr],
      detached: true,
    });
  } finally {
    closeSync(stderr);
  }
  child.unref();
  try {
    const id = await recordedRun(actions.store, sequence, child);
    if (id === undefined) {
      const error = readFileSync(said, 'utf8').trim().split('\n').slice(-5).join('\n');
      return { status: 409, json: { error: error || `etl run ended (exit code ${child.exitCode}) without a run` } };
    }
    return {
      status: 202,
      json: {
        started: sequence,
        from: (from as number | undefined) ?? null,
        resume: resume ?? null,
        run: id,
      } satisfies RunStartedAnswer,
    };
  } finally {
    rmSync(said, { force: true }); // the runner keeps writing to it, unseen, if it goes on
  }
}

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The id of the run the child records (its run.json names its pid): null if none shows up in
 * time while it goes on, undefined if it ended without one (refused: invalid, locked).
 */
async function recordedRun(
  store: LedgerStore,
  sequence: string,
  child: ChildProcess,
): Promise<string | null | undefined> {
  const host = hostname();
  const find = () => store.list({ sequence, limit: 5 }).find((run) => run.pid === child.pid && run.host === host)?.id;
  for (const deadline = Date.now() + RUN_START_MS; Date.now() < deadline; ) {
    const ended = child.exitCode !== null || child.signalCode !== null;
    const id = find();
    if (id) return id;
    if (ended) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return null;
}

function cancel(actions: Actions, body: Record<string, unknown>): ApiResponse {
  const id = body.run;
  if (typeof id !== 'string' || !RUN_ID_PATTERN.test(id)) return { status: 400, json: { error: 'run is a run id' } };
  let record: ReturnType<LedgerStore['readRun']>;
  let root: string;
  try {
    const ref = actions.store.find(id);
    record = actions.store.readRun(ref);
    root = ref.root;
  } catch {
    return { status: 404, json: { error: 'no such run' } };
  }
  // The runner is the process holding its sequence's lock for this run: SIGTERM is Ctrl-C.
  const lock = record && readLock<LockInfo>(join(root, lockFile(record.sequence)));
  if (record?.status !== 'running' || !lock || lock.run_id !== id || lock.host !== hostname() || !isAlive(lock))
    return { status: 409, json: { error: 'the run is not running here' } };
  process.kill(lock.pid, 'SIGTERM');
  return { status: 202, json: { cancelling: id } satisfies CancellingAnswer };
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
