// The runs a prune must keep whatever its policy says, each with why: what the next run, a
// resume, lineage or a kept run's skipped steps still read from the ledger.
import { join } from 'node:path';
import { isAlive, readLock } from '../../lock-file.js';
import type { RunRecord } from '../../runner/records.js';
import { lastDoneRuns, resumableRun } from '../earlier-runs.js';
import { findRun, type LedgerView, type RunRef, readRun, runsNewestFirst } from '../history.js';
import { lockFile } from '../layout.js';
import type { LockInfo } from '../lock.js';
import { lineageAnchors } from '../lineage.js';

/** A sequence's newest runs looked at for one still going (one run of a sequence at a time: it is among them). */
const NEWEST_LOOKED_AT = 100;

export interface PointedAt {
  /** Run id -> why it is kept (one line per pointer). */
  reasons: Map<string, string[]>;
  /** Pointers to runs the ledger does not hold (removed before, or never there): nothing to keep. */
  missing: string[];
}

export interface PointedAtQuery {
  view: LedgerView;
  /** The repository the steps ran in: lineage's recorded paths are relative to it. */
  repo: string;
  /** The sequences being pruned: their next run, resume and running runs. */
  sequences: string[];
  /** Runs that stay anyway (the policy keeps them): what their skipped steps stand for stays too. */
  staying: Iterable<RunRef>;
}

/**
 * The runs still pointed at: a run still going (its lock held, or its record says running);
 * for each step of each sequence, the run skip_unchanged compares with (and the newest run
 * standing for it, where lastDoneSteps' walk stops); the run `--resume` could pick up (the
 * newest finished one, when it did not succeed); the runs `etl lineage` and `--upstream` lead
 * to; and, for every run that stays, the runs its skipped steps stand for (unchanged, or done
 * by a resumed run), through chains.
 */
export function runsStillPointedAt(query: PointedAtQuery): PointedAt {
  const { view, sequences } = query;
  const reasons = new Map<string, string[]>();
  const missing: string[] = [];
  const keep = (id: string, why: string) => {
    const list = reasons.get(id) ?? [];
    if (!list.includes(why)) reasons.set(id, [...list, why]);
  };
  for (const sequence of sequences) {
    for (const id of runningRuns(view, sequence)) keep(id, 'running');
    for (const done of lastDoneRuns(view, sequence)) {
      const step = `step ${done.index} (${done.name})`;
      keep(done.done_by, `skip_unchanged: the next run compares its ${step} with this run's`);
      if (done.found_in !== done.done_by)
        keep(done.found_in, `skip_unchanged: newest run whose ${step} stands for ${done.done_by}`);
    }
    const resumable = resumableRun(view, sequence);
    if (resumable) keep(resumable.id, `resume: newest finished run of ${sequence}, ${resumable.status}`);
  }
  for (const anchor of lineageAnchors(view, query.repo)) keep(anchor.run_id, anchor.why);
  keepStandIns(view, [...query.staying, ...reasons.keys()], keep, missing);
  return { reasons, missing };
}

/** The runs whose lock is held by a live runner, and the newest ones whose record says running. */
function runningRuns(view: LedgerView, sequence: string): string[] {
  const ids: string[] = [];
  for (const root of typeof view === 'string' ? [view] : view) {
    const lock = readLock<LockInfo>(join(root, lockFile(sequence)));
    if (lock && isAlive(lock)) ids.push(lock.run_id);
  }
  let looked = 0;
  for (const ref of runsNewestFirst(view, { sequence })) {
    if (looked++ >= NEWEST_LOOKED_AT) break;
    if (readRun(ref.root, ref)?.status === 'running') ids.push(ref.id);
  }
  return ids;
}

/** For every run that stays and each run kept for it: the runs its skipped steps stand for. */
function keepStandIns(
  view: LedgerView,
  staying: Array<RunRef | string>,
  keep: (id: string, why: string) => void,
  missing: string[],
): void {
  const done = new Set<string>();
  const gone = new Map<string, string[]>(); // a run the ledger lacks -> the runs standing for it
  const queue = [...staying];
  const records = new Map<string, RunRecord | undefined>();
  const byId = (id: string) => {
    if (!records.has(id)) records.set(id, readById(view, id));
    return records.get(id);
  };
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    const id = typeof next === 'string' ? next : next.id;
    if (done.has(id)) continue;
    done.add(id);
    const run = typeof next === 'string' ? byId(next) : readRun(next.root, next);
    for (const step of run?.steps ?? []) {
      const target = step.skipped_as?.run_id;
      if (target === undefined || target === id) continue;
      if (!done.has(target) && byId(target) === undefined) {
        gone.set(target, [...(gone.get(target) ?? []), id]);
        continue;
      }
      const how =
        step.skipped_as!.reason === 'resumed' ? 'done by it before a resume' : 'skipped as unchanged since it';
      keep(target, `stands in: run ${id} step ${step.index} (${step.name}) was ${how}`);
      queue.push(target);
    }
  }
  for (const [target, by] of gone)
    missing.push(
      `run ${target}, which ${by.length === 1 ? `run ${by[0]}` : `${by.length} runs (${by[0]}...)`} stand${by.length === 1 ? 's' : ''} in for, is not in the ledger`,
    );
}

function readById(view: LedgerView, id: string): RunRecord | undefined {
  try {
    const ref = findRun(view, id);
    return readRun(ref.root, ref);
  } catch {
    return undefined;
  }
}
