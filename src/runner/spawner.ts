// How modules are started: by Node itself, or by a small Python helper that starts them
// for a whole run (spawner.py). The helper is the fast path: Node forks the whole runner
// for every module (about 1.4 ms a step here); the helper starts each with posix_spawn (no
// copy of the runner's memory, about 0.6 ms) and starts the next step as soon as the one
// before exits 0, while the runner writes its records. Where python3 is missing, fails, or
// ETL_SPAWNER=node, Node's spawn is used: the same behaviour, slower, with a watchdog shell
// that ends the modules if the runner dies.
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EtlError } from '../errors.js';
import { startWatchdog, type Watchdog } from './watchdog.js';

/** A module to start: the program, its argv (argv[0] is what it sees as its name), where, with what. */
export interface ModuleSpec {
  command: string;
  argv: string[];
  cwd: string;
  /** Its environment: these variables over sharedEnv's (undefined unsets one). */
  env: Record<string, string | undefined>;
  /**
   * The part of the environment every module of a run shares, the same object each time: the
   * helper is sent it once, not with every module.
   */
  sharedEnv?: Record<string, string | undefined>;
}

/** What runProcess needs of a started module: the part of Node's ChildProcess it uses. */
export type ModuleChild = Pick<ChildProcess, 'pid' | 'on' | 'once'> & {
  stdout: Pick<NonNullable<ChildProcess['stdout']>, 'on' | 'destroy'>;
  stderr: Pick<NonNullable<ChildProcess['stderr']>, 'on' | 'destroy'>;
};

export interface Spawner {
  /** Starts a module now, or takes the one started ahead for this very spec. Throws like spawn. */
  start(spec: ModuleSpec): ModuleChild;
  /**
   * The module to start the moment the one started last exits 0 with its output ended (the
   * next step). Ignored by Node's spawn. A later start() with another spec cancels it.
   */
  startNext(spec: ModuleSpec): void;
  /** Forgets the module to start next; ends it if it has already started. */
  cancelNext(): void;
  /** Who starts the modules: Node itself (with a watchdog), or the Python helper. */
  readonly kind: 'node' | 'python';
  close(): void;
}

/**
 * What ends a run's modules if the runner dies (SIGTERM to each group, SIGKILL after the
 * grace): the helper itself, or Node's watchdog. Before it ends them it writes their pids to
 * `note` (MODULES_ENDED_NOTE in the run's folder), for the record of the abandoned run.
 */
export interface Guard {
  graceMs: number;
  note?: string;
}

/** The note a run's guard leaves in its folder, one pid a line, when it ends modules the dead runner left. */
export const MODULES_ENDED_NOTE = '.modules-ended.tmp';

/**
 * Node's own spawn: a process group of its own per module (detached: setsid). With a guard,
 * a watchdog ends the modules still running when the runner dies.
 */
export function nodeSpawner(guard?: Guard): Spawner {
  const watchdog: Watchdog | undefined = guard && startWatchdog(guard.graceMs, guard.note);
  return {
    start: (spec) => {
      const child = spawn(spec.command, spec.argv.slice(1), {
        argv0: spec.argv[0],
        cwd: spec.cwd,
        env: spec.sharedEnv ? { ...spec.sharedEnv, ...spec.env } : spec.env,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // its own process group: kill(-pid) reaches everything it started
      });
      const { pid } = child;
      if (watchdog && pid !== undefined) {
        watchdog.watch(pid);
        child.once('exit', () => watchdog.forget(pid));
      }
      return child as ModuleChild;
    },
    startNext: () => {},
    cancelNext: () => {},
    kind: 'node',
    close: () => watchdog?.close(),
  };
}

/** Below this many steps, starting Python costs more than it saves. */
export const HELPER_MIN_STEPS = 4;

/**
 * Which spawner a run uses: ETL_SPAWNER=node|python, else the helper when the run has
 * HELPER_MIN_STEPS steps or more and its Python (helperPython) starts. Either way, modules
 * still running when the runner dies are ended, and `note` names them.
 */
export async function openSpawner(
  env: Record<string, string | undefined>,
  graceMs: number,
  steps = HELPER_MIN_STEPS,
  note?: string,
): Promise<Spawner> {
  const wanted = env.ETL_SPAWNER || 'auto';
  if (!['auto', 'node', 'python'].includes(wanted))
    throw new EtlError('usage', `ETL_SPAWNER is "${wanted}": it may be node or python (or unset, to choose by itself)`);
  const guard = { graceMs, note };
  if (wanted === 'node' || (wanted === 'auto' && steps < HELPER_MIN_STEPS)) return nodeSpawner(guard);
  const python = helperPython(env);
  const helper = await HelperSpawner.open(graceMs, python, note).catch(() => undefined);
  if (helper) return helper;
  if (wanted === 'python')
    throw new EtlError('usage', `ETL_SPAWNER=python, but ${python} (Python 3.9 or later) cannot be started`);
  return nodeSpawner(guard);
}

/**
 * The helper's interpreter: ETL_PYTHON, else the system's /usr/bin/python3 on Linux, else
 * python3 on PATH. The modules' own PATH is not the helper's business, and a version
 * manager's shim there (pyenv) costs a run some 60 ms before its first step.
 */
export function helperPython(env: Record<string, string | undefined>): string {
  if (env.ETL_PYTHON) return env.ETL_PYTHON;
  if (process.platform === 'linux' && existsSync(SYSTEM_PYTHON)) return SYSTEM_PYTHON;
  return 'python3';
}

const SYSTEM_PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./spawner.py', import.meta.url));

type HelperStream = EventEmitter & { destroy(): void };

/** A module started by the helper, looking like a ChildProcess to runProcess. */
class HelperChild extends EventEmitter {
  pid: number | undefined;
  readonly stdout: HelperStream;
  readonly stderr: HelperStream;

  constructor(drop: () => void) {
    super();
    let dropped = false;
    const once = () => {
      if (!dropped) drop();
      dropped = true;
    };
    const stream = (): HelperStream => Object.assign(new EventEmitter(), { destroy: once });
    this.stdout = stream();
    this.stderr = stream();
  }
}

interface Pending {
  id: number;
  spec: ModuleSpec;
  key: string;
  child: HelperChild;
  /** Frames that came before the engine took this module (it started ahead). */
  early: Array<[string, Buffer]>;
  taken: boolean;
  /** Started ahead and not taken: ended as soon as it starts, its output dropped. */
  discarded?: boolean;
  exited?: boolean;
  closed?: boolean;
}

export class HelperSpawner implements Spawner {
  readonly kind = 'python';
  private nextId = 1;
  private readonly modules = new Map<number, Pending>();
  private ahead: Pending | undefined;
  private buffered: Buffer = Buffer.alloc(0);
  /** The shared environment the helper was last sent, and how many it has been sent. */
  private sharedEnv: ModuleSpec['sharedEnv'] = {};
  private sharedEnvs = 0;

  private constructor(private readonly helper: ChildProcess) {
    helper.stdout!.on('data', (chunk: Buffer) => this.receive(chunk));
    helper.stdin!.on('error', () => {}); // the helper died: its modules' events say the rest
    helper.on('exit', () => {
      // Whatever was running is lost to us: tell runProcess as a process that vanished.
      for (const module of this.modules.values()) {
        module.child.emit('exit', null, 'SIGKILL');
        module.child.emit('close');
      }
      this.modules.clear();
    });
  }

  static open(graceMs: number, python = 'python3', note = ''): Promise<HelperSpawner> {
    return new Promise((resolve, reject) => {
      const helper = spawn(python, ['-I', '-S', SCRIPT, String(graceMs), note], {
        stdio: ['pipe', 'pipe', 'inherit'],
        // A session of its own: a signal to the runner's whole process group does not reach it.
        detached: true,
      });
      helper.on('error', reject);
      helper.once('exit', () => reject(new Error('the spawner exited')));
      helper.stdout!.once('data', (chunk: Buffer) => {
        if (chunk[0] !== 'R'.charCodeAt(0)) return reject(new Error('the spawner did not start'));
        const spawner = new HelperSpawner(helper);
        spawner.receive(chunk.subarray(9));
        resolve(spawner);
      });
    });
  }

  start(spec: ModuleSpec): ModuleChild {
    const ahead = this.ahead;
    // The engine hands back the very spec it started ahead; the encoding compares any other.
    const key = ahead?.spec === spec ? ahead.key : this.encode(spec); // throws before anything changed
    this.ahead = undefined;
    if (ahead && ahead.key === key) {
      ahead.taken = true;
      // Replay what happened before the engine got here, once runProcess has listened.
      queueMicrotask(() => {
        for (const [kind, data] of ahead.early.splice(0)) this.deliver(ahead, kind, data);
      });
      return ahead.child as unknown as ModuleChild;
    }
    if (ahead) this.discard(ahead);
    const module = this.register(spec, key, true);
    this.send(`run\0${module.id}\0${messageOf(module.key)}`);
    return module.child as unknown as ModuleChild;
  }

  startNext(spec: ModuleSpec): void {
    if (this.ahead) this.discard(this.ahead);
    this.ahead = undefined;
    let key: string;
    try {
      key = this.encode(spec);
    } catch {
      return; // start() will say why, when the step comes
    }
    this.ahead = this.register(spec, key, false);
    this.send(`next\0${this.ahead.id}\0${messageOf(key)}`);
  }

  cancelNext(): void {
    if (this.ahead) this.discard(this.ahead);
    this.ahead = undefined;
  }

  close(): void {
    this.helper.stdin!.end();
  }

  /**
   * What tells a module from another: the count of shared environments sent, then the fields
   * of its "run"/"next" message after the id. Sends the shared environment first when it is not
   * the one the helper has.
   */
  private encode(spec: ModuleSpec): string {
    const shared = spec.sharedEnv ?? {};
    if (shared !== this.sharedEnv) {
      const env = definedEnv(shared);
      checkNoNul(env);
      this.send(['env', ...env].join('\0'));
      this.sharedEnv = shared;
      this.sharedEnvs++;
    }
    return `${this.sharedEnvs}\0${encodeSpec(spec)}`;
  }

  private register(spec: ModuleSpec, key: string, taken: boolean): Pending {
    const id = this.nextId++;
    const pending: Pending = {
      id,
      spec,
      key,
      taken,
      early: [],
      child: new HelperChild(() => this.send(`drop\0${id}`)),
    };
    this.modules.set(id, pending);
    return pending;
  }

  /** A module started ahead that will not be taken: forget it, and end it if it started. */
  private discard(module: Pending): void {
    this.send('clear');
    module.discarded = true;
    module.early = [];
    if (module.child.pid !== undefined) signalGroup(module.child.pid, 'SIGKILL');
  }

  private send(message: string): void {
    const body = Buffer.from(message);
    this.helper.stdin!.write(Buffer.concat([Buffer.from(String(body.length).padStart(8, '0')), body]));
  }

  private receive(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    while (this.buffered.length >= 9) {
      const size = this.buffered.readUInt32BE(5);
      if (this.buffered.length < 9 + size) break;
      const kind = String.fromCharCode(this.buffered[0]!);
      const id = this.buffered.readUInt32BE(1);
      const data = this.buffered.subarray(9, 9 + size);
      this.buffered = this.buffered.subarray(9 + size);
      const module = this.modules.get(id);
      if (!module) continue;
      if (kind === 'S') module.child.pid = Number(data.toString());
      if (module.discarded) {
        if (kind === 'S') signalGroup(module.child.pid!, 'SIGKILL');
      } else if (module.taken) this.deliver(module, kind, data);
      else if (kind !== 'S') module.early.push([kind, Buffer.from(data)]);
      if (kind === 'E' || (kind === 'x' && module.closed) || (kind === 'c' && module.exited)) this.modules.delete(id);
      if (kind === 'x') module.exited = true;
      if (kind === 'c') module.closed = true;
    }
  }

  private deliver(module: Pending, kind: string, data: Buffer): void {
    const { child } = module;
    if (kind === 'S') child.emit('spawn');
    else if (kind === 'o') child.stdout.emit('data', data);
    else if (kind === 'e') child.stderr.emit('data', data);
    else if (kind === 'x') {
      const [code, signal] = data.toString().split(' ');
      child.emit('exit', code ? Number(code) : null, signal || null);
    } else if (kind === 'c') child.emit('close');
    else if (kind === 'E') {
      const name = data.toString();
      const error = Object.assign(new Error(`spawn ${name}`), { code: name });
      child.emit('error', error);
    }
  }
}

/** A key's message fields (without the count of shared environments before them). */
function messageOf(key: string): string {
  return key.slice(key.indexOf('\0') + 1);
}

/** A spec's own fields for the helper: NAME=VALUE sets a variable, a bare NAME unsets a shared one. */
function encodeSpec(spec: ModuleSpec): string {
  const env = Object.entries(spec.env).map(([name, value]) => (value === undefined ? name : `${name}=${value}`));
  const fields = [
    spec.command,
    spec.argv[0] ?? spec.command,
    spec.cwd,
    String(spec.argv.length - 1),
    ...spec.argv.slice(1),
  ];
  fields.push(String(env.length), ...env);
  checkNoNul(fields);
  return fields.join('\0');
}

function definedEnv(env: Record<string, string | undefined>): string[] {
  const pairs: string[] = [];
  for (const name in env) if (env[name] !== undefined) pairs.push(`${name}=${env[name]}`);
  return pairs;
}

/** A NUL cannot be sent to the helper, nor passed to a program: spawn refuses it too. */
function checkNoNul(fields: string[]): void {
  if (fields.some((field) => field.includes('\0'))) {
    throw Object.assign(new TypeError('an argument or environment value contains a NUL character'), {
      code: 'ERR_INVALID_ARG_VALUE',
    });
  }
}

/** Sends a signal to a module's whole process group (its pid: it leads the group). */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone
  }
}
