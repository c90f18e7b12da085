// Lineage from the ledger (`etl lineage`): the runs whose steps wrote or read a file, from the
// hashes their step records keep (src/runner/lineage.ts), and, upstream, what the step that
// wrote it read, and who wrote that, back through earlier steps and runs.
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { Artifact, Role, RunRecord, StepRecord } from '../runner/records.js';
import { type LedgerView, readRun, runsNewestFirst } from './history.js';
import type { LedgerCache } from './read-cache.js';
import { readStep } from './step-log.js';

export type Use = 'wrote' | 'read' | 'config';

export interface LineageEntry {
  run_id: string;
  sequence: string;
  started_at: string;
  run_status: string;
  /** The definitions' commit the run pinned. */
  commit: string | null;
  step: { index: number; role: Role; name: string };
  use: Use;
  artifact: Artifact;
}

/** Every use of every recorded artifact, newest run first, its step order kept. */
function* entries(view: LedgerView, runs: number, upTo?: string, cache?: LedgerCache): Generator<LineageEntry> {
  let seen = 0;
  // upTo: that run and the ones before it ("~" sorts after every id character).
  for (const ref of runsNewestFirst(view, { before: upTo === undefined ? undefined : `${upTo}~`, cache })) {
    if (seen++ >= runs) return;
    const run = readRun(ref.root, ref, cache);
    if (!run) continue;
    for (const summary of [...run.steps].reverse()) {
      const step = readStep(join(ref.root, ref.folder), summary.record);
      if (!step?.lineage) continue;
      const uses: Array<[Use, Artifact | null]> = [
        ['wrote', step.lineage.output],
        ['read', step.lineage.input],
        ['config', step.lineage.config],
      ];
      for (const [use, artifact] of uses) if (artifact) yield entry(run, step, use, artifact);
    }
  }
}

function entry(run: RunRecord, step: StepRecord, use: Use, artifact: Artifact): LineageEntry {
  return {
    run_id: run.id,
    sequence: run.sequence,
    started_at: run.started_at,
    run_status: run.status,
    commit: run.definitions.commit,
    step: { index: step.index, role: step.role, name: step.name },
    use,
    artifact,
  };
}

/** Steps run in the repository root: a recorded path is relative to it. */
const sameFile = (repo: string, artifact: Artifact, target: string) =>
  artifact.kind !== 'external' && resolve(repo, artifact.path) === target;

export interface LineageQuery {
  /** Uses listed at most. */
  limit?: number;
  /** Runs looked at, newest first. */
  runs?: number;
  /** --upstream: the content the file has now, when known; its writer must have written that. */
  sha256?: string | null;
}

/** The runs that wrote or read `path` (absolute), newest first. */
export function lineageOf(view: LedgerView, repo: string, path: string, query: LineageQuery = {}): LineageEntry[] {
  const found: LineageEntry[] = [];
  for (const e of entries(view, query.runs ?? 10_000)) {
    if (!sameFile(repo, e.artifact, path)) continue;
    found.push(e);
    if (found.length >= (query.limit ?? 20)) break;
  }
  return found;
}

export interface UpstreamNode {
  path: string;
  use: Use | 'target';
  sha256: string | null;
  /** The step that wrote this content, or null when no recorded run did (a source). */
  written_by: LineageEntry | null;
  /** What that step read. */
  inputs: UpstreamNode[];
}

/** Where a step stands in time: runs by their start, then their steps in the order they ran. */
const position = (e: Pick<LineageEntry, 'started_at' | 'run_id' | 'step'>) =>
  `${e.started_at} ${e.run_id} ${e.step.role === 'step' ? 0 : 1} ${String(e.step.index).padStart(6, '0')}`;

/** The newest write of `target` placed before `before` (a position), with content `sha` when known. */
function writerOf(
  all: LineageEntry[],
  repo: string,
  target: string,
  sha: string | null,
  before: string,
): LineageEntry | undefined {
  let found: LineageEntry | undefined;
  for (const e of all) {
    if (e.use !== 'wrote' || !sameFile(repo, e.artifact, target) || position(e) >= before) continue;
    if (sha !== null && e.artifact.sha256 !== sha) continue;
    if (!found || position(e) > position(found)) found = e;
  }
  return found;
}

/**
 * Where a file came from: the newest step that wrote it; then, for what that step read, the
 * step that wrote that content (earlier in the same run, else in an earlier run with the same
 * hash), and so on.
 */
export function upstreamOf(view: LedgerView, repo: string, path: string, query: LineageQuery = {}): UpstreamNode {
  const all = [...entries(view, query.runs ?? 10_000)];
  const node = (
    target: string,
    shown: string,
    use: UpstreamNode['use'],
    sha: string | null,
    before: string,
    depth: number,
  ): UpstreamNode => {
    const writer = writerOf(all, repo, target, sha, before);
    const display = writer?.artifact.path ?? shown;
    if (!writer || depth >= 20) return { path: display, use, sha256: sha, written_by: writer ?? null, inputs: [] };
    const reads = all.filter(
      (e) =>
        e.run_id === writer.run_id &&
        e.step.index === writer.step.index &&
        e.step.role === writer.step.role &&
        e.use !== 'wrote',
    );
    return {
      path: display,
      use,
      sha256: sha ?? writer.artifact.sha256 ?? null,
      written_by: writer,
      inputs: reads.map((r) =>
        // A URL or a database is where the trail leaves this machine: recorded as given.
        r.artifact.kind === 'external'
          ? { path: r.artifact.path, use: r.use, sha256: null, written_by: null, inputs: [] }
          : node(
              resolve(repo, r.artifact.path),
              r.artifact.path,
              r.use,
              r.artifact.sha256 ?? null,
              position(writer),
              depth + 1,
            ),
      ),
    };
  };
  return node(path, relative(repo, path) || '.', 'target', query.sha256 ?? null, '\uffff', 0);
}

/** A run lineage still needs, and why. */
export interface LineageAnchor {
  run_id: string;
  why: string;
}

/**
 * For retention: the runs `etl lineage` and `--upstream` still lead to, among the `runs` newest
 * they look at: the newest writer of each path that is still there, and back from it the
 * writer of the content each of those read, as upstreamOf finds it. A path gone from disk is
 * no one's question any more: its writers may go (git history keeps them).
 */
export function lineageAnchors(view: LedgerView, repo: string, runs = 10_000): LineageAnchor[] {
  const writes = new Map<string, LineageEntry[]>(); // path -> its writes, newest first
  const reads = new Map<string, LineageEntry[]>(); // step -> what it read
  const stepKey = (e: LineageEntry) => `${e.run_id} ${e.step.role} ${e.step.index}`;
  for (const e of entries(view, runs)) {
    if (e.artifact.kind === 'external') continue;
    const [map, key] = e.use === 'wrote' ? [writes, resolve(repo, e.artifact.path)] : [reads, stepKey(e)];
    map.set(key, [...(map.get(key) ?? []), e]);
  }
  const anchors: LineageAnchor[] = [];
  const seen = new Set<string>();
  const keep = (writer: LineageEntry, why: string) => {
    if (seen.has(stepKey(writer))) return;
    seen.add(stepKey(writer));
    anchors.push({ run_id: writer.run_id, why });
    for (const read of reads.get(stepKey(writer)) ?? []) {
      const before = position(writer);
      const source = (writes.get(resolve(repo, read.artifact.path)) ?? []).find(
        (w) => position(w) < before && (read.artifact.sha256 == null || w.artifact.sha256 === read.artifact.sha256),
      );
      if (source)
        keep(
          source,
          `lineage: wrote the ${read.artifact.path} that run ${writer.run_id} step ${writer.step.index} (${writer.step.name}) read`,
        );
    }
  };
  for (const [target, [newest]] of writes)
    if (newest && existsSync(target))
      keep(newest, `lineage: newest writer of ${newest.artifact.path} (step ${newest.step.index} ${newest.step.name})`);
  return anchors;
}

export interface StepSources {
  role: Role;
  index: number;
  /** The step that wrote the content this step read (its input, its config), when one did. */
  input: LineageEntry | null;
  config: LineageEntry | null;
}

/**
 * For each step of a run, the steps that wrote what it read: earlier in the run, or in one of
 * the `runs` newest runs before (the run page's lineage links).
 */
export function sourcesOf(
  view: LedgerView,
  repo: string,
  run: RunRecord,
  steps: StepRecord[],
  runs = 200,
  cache?: LedgerCache,
): StepSources[] {
  const read = steps.filter((s) => s.lineage?.input?.sha256 || s.lineage?.config?.sha256);
  if (read.length === 0) return [];
  const all = [...entries(view, runs, run.id, cache)];
  return read.map((step) => {
    const here = position({ started_at: run.started_at, run_id: run.id, step });
    const source = (artifact: Artifact | null | undefined) =>
      artifact?.sha256 && artifact.kind !== 'external'
        ? (writerOf(all, repo, resolve(repo, artifact.path), artifact.sha256, here) ?? null)
        : null;
    return {
      role: step.role,
      index: step.index,
      input: source(step.lineage?.input),
      config: source(step.lineage?.config),
    };
  });
}
