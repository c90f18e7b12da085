// What changes in a ledger, as it happens, for the live pages: a file watch on the few folders
// where records are being written, never the whole ledger (one watch per folder: a watch of
// every run folder of a large ledger would exhaust the system's watches). Watched: runs/,
// each sequence's folder down to today's (UTC) day folder, where new runs appear, and the
// folders of runs still going (their steps/ and logs/).
import { type FSWatcher, readdirSync, readFileSync, watch } from 'node:fs';
import { join } from 'node:path';
import { NAME_PATTERN } from '../definitions/patterns.js';
import { RUN_ID_PATTERN, RUNS_DIR } from '../ledger/layout.js';

export interface RunChange {
  sequence: string;
  id: string;
}

const SEQUENCE = new RegExp(NAME_PATTERN);
/** Changes to one run within this long are told once. */
const COALESCE_MS = 50;

export class LedgerWatch {
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly pending = new Map<string, RunChange>();
  private flushTimer: NodeJS.Timeout | undefined;
  private dayTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly roots: string[],
    private readonly onChange: (change: RunChange) => void,
    private readonly now: () => Date = () => new Date(),
  ) {
    for (const root of roots) this.armRoot(root);
    this.scheduleDayChange();
  }

  /** How many folders are watched: a few per sequence, and three per run still going. */
  get watching(): number {
    return this.watchers.size;
  }

  close(): void {
    this.closed = true;
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
    clearTimeout(this.flushTimer);
    clearTimeout(this.dayTimer);
  }

  /** Watches a folder (once); false when it does not exist (yet). */
  private watchFolder(path: string, listener: (name: string | null) => void): boolean {
    if (this.closed || this.watchers.has(path)) return this.watchers.has(path);
    try {
      const watcher = watch(path, { persistent: false }, (_event, name) => listener(name));
      watcher.on('error', () => this.unwatch(path)); // the folder went away
      this.watchers.set(path, watcher);
      return true;
    } catch {
      return false;
    }
  }

  private unwatch(path: string): void {
    this.watchers.get(path)?.close();
    this.watchers.delete(path);
  }

  private armRoot(root: string): void {
    const runs = join(root, RUNS_DIR);
    // Before the first run there is no runs/: the root is watched for it.
    const onRuns = (name: string | null) => {
      if (name && SEQUENCE.test(name)) this.armSequence(root, name);
    };
    if (!this.watchFolder(runs, onRuns)) {
      this.watchFolder(root, (name) => {
        if (name !== RUNS_DIR) return;
        this.unwatch(root);
        this.armRoot(root);
      });
      return;
    }
    for (const name of list(runs)) if (SEQUENCE.test(name)) this.armSequence(root, name);
  }

  /** Watches the way down to today's folder of a sequence, each level until the next exists. */
  private armSequence(root: string, sequence: string): void {
    const day = this.now().toISOString().slice(0, 10).split('-');
    let path = join(root, RUNS_DIR, sequence);
    for (const part of day) {
      const next = join(path, part);
      const rearm = () => this.armSequence(root, sequence);
      if (!this.watchFolder(path, rearm)) return;
      path = next;
    }
    const dayFolder = path;
    const watching = this.watchFolder(dayFolder, (name) => {
      if (name && RUN_ID_PATTERN.test(name)) this.armRun(join(dayFolder, name), { sequence, id: name });
    });
    if (!watching) return;
    for (const id of list(dayFolder)) {
      if (RUN_ID_PATTERN.test(id) && isRunning(join(dayFolder, id))) this.armRun(join(dayFolder, id), { sequence, id });
    }
  }

  /** Watches a run's folder, steps/ and logs/ until its run.json says it ended. */
  private armRun(folder: string, run: RunChange): void {
    const changed = () => {
      this.tell(run);
      this.watchFolder(join(folder, 'steps'), changed);
      this.watchFolder(join(folder, 'logs'), changed);
      if (!isRunning(folder) && hasRecord(folder)) {
        for (const path of [folder, join(folder, 'steps'), join(folder, 'logs')]) this.unwatch(path);
      }
    };
    if (this.watchFolder(folder, changed)) changed();
  }

  private tell(run: RunChange): void {
    this.pending.set(run.id, run);
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      const changes = [...this.pending.values()];
      this.pending.clear();
      if (!this.closed) for (const change of changes) this.onChange(change);
    }, COALESCE_MS);
  }

  /** At midnight UTC, new runs go to a new day folder: the way down to it is watched anew. */
  private scheduleDayChange(): void {
    const now = this.now();
    const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
    this.dayTimer = setTimeout(
      () => {
        for (const root of this.roots) this.armRoot(root);
        this.scheduleDayChange();
      },
      Math.max(1000, midnight - now.getTime() + 1000),
    );
    this.dayTimer.unref();
  }
}

function list(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function hasRecord(folder: string): boolean {
  try {
    readFileSync(join(folder, 'run.json'));
    return true;
  } catch {
    return false;
  }
}

/** Whether a run's record says it is going (or it has none yet: it is starting). */
function isRunning(folder: string): boolean {
  try {
    return (JSON.parse(readFileSync(join(folder, 'run.json'), 'utf8')) as { status?: string }).status === 'running';
  } catch {
    return true;
  }
}
