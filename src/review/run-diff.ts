// Two runs side by side (`etl diff`): the definitions each pinned (a unified diff of each file
// that changed, read from git), params and tick, and step by step the argv, the paths and the
// content hashes of input and config, the status, the duration and the metrics with their
// change, and whether the output's content differs, naming the first step that was given
// something different. Steps are matched by role and position.
import type { Env } from '../git/git.js';
import { type PinnedChange, pinDiff } from '../ledger/pinned.js';
import type { MetricValue } from '../runner/metrics.js';
import type { Role, RunRecord, StepRecord, StepStatus } from '../runner/records.js';

export interface RunSide {
  id: string;
  sequence: string;
  status: string;
  started_at: string;
  duration_ms: number | null;
  commit: string | null;
  params: Record<string, string>;
  tick: string | null;
}

export interface StepSide {
  name: string;
  module: string;
  status: StepStatus;
  duration_ms: number | null;
  exit_code: number | null;
  argv: string[] | null;
  input: string | null;
  output: string | null;
  config: string | null;
  /** The content hashes lineage recorded (null: not a local file, or not recorded). */
  input_sha256: string | null;
  config_sha256: string | null;
  output_sha256: string | null;
  metrics: Record<string, MetricValue> | null;
}

export interface MetricChange {
  a: MetricValue | null;
  b: MetricValue | null;
  /** From a to b, in percent, when both are numbers and a is not 0. */
  change_pct: number | null;
}

export interface StepDiff {
  index: number;
  role: Role;
  /** null: the run has no such step. */
  a: StepSide | null;
  b: StepSide | null;
  /** What the step was given that differs: module, argv, input, output, config, and the content of input and config. */
  given: string[];
  /** Whether the output's content differs (both hashed). */
  output_differs: boolean;
  /** The metrics whose value differs. */
  metrics: Record<string, MetricChange>;
  /** The change of duration from a to b, in percent (null when either is unknown or a is 0). */
  duration_change_pct: number | null;
}

export interface RunDiff {
  a: RunSide;
  b: RunSide;
  same_sequence: boolean;
  definitions: PinnedChange[];
  /** Params whose value differs: name -> [a, b] (null: not set). */
  params: Record<string, [string | null, string | null]>;
  steps: StepDiff[];
  /** The first step given something different, or null when every step was given the same. */
  first_difference: { index: number; role: Role; name: string; given: string[] } | null;
}

/** A run and its step records (a missing record leaves that step's details null). */
export interface LoadedRun {
  run: RunRecord;
  steps: Array<StepRecord | undefined>;
}

export function diffRuns(repo: string, a: LoadedRun, b: LoadedRun, env: Env = process.env): RunDiff {
  const steps = pairSteps(a, b).map(([index, role, sa, sb]) => {
    const given =
      sa && sb
        ? [
            ...GIVEN.filter((key) => !sameValue(sa[key], sb[key])),
            ...CONTENT.filter(([key]) => sa[key] !== null && sb[key] !== null && sa[key] !== sb[key]).map(
              ([, name]) => name,
            ),
          ]
        : ['the step itself'];
    return {
      index,
      role,
      a: sa,
      b: sb,
      given,
      output_differs: Boolean(sa?.output_sha256 && sb?.output_sha256 && sa.output_sha256 !== sb.output_sha256),
      metrics: metricChanges(sa?.metrics ?? {}, sb?.metrics ?? {}),
      duration_change_pct: changePct(sa?.duration_ms, sb?.duration_ms),
    };
  });
  const first = steps.find((s) => s.given.length > 0 && (s.a?.status !== 'skipped' || s.b?.status !== 'skipped'));
  const names = [...new Set([...Object.keys(a.run.params ?? {}), ...Object.keys(b.run.params ?? {})])].sort();
  return {
    a: side(a.run),
    b: side(b.run),
    same_sequence: a.run.sequence === b.run.sequence,
    definitions: pinDiff(repo, a.run.definitions, b.run.definitions, env),
    params: Object.fromEntries(
      names
        .map((name): [string, [string | null, string | null]] => [
          name,
          [a.run.params?.[name] ?? null, b.run.params?.[name] ?? null],
        ])
        .filter(([, [x, y]]) => x !== y),
    ),
    steps,
    first_difference: first
      ? { index: first.index, role: first.role, name: (first.b ?? first.a)!.name, given: first.given }
      : null,
  };
}

const GIVEN = ['module', 'argv', 'input', 'output', 'config'] as const;
// A hash compared only when both runs recorded one: a run without lineage is not "different".
const CONTENT = [
  ['input_sha256', 'input content'],
  ['config_sha256', 'config content'],
] as const;

function changePct(a: unknown, b: unknown): number | null {
  return typeof a === 'number' && typeof b === 'number' && a !== 0 ? Math.round(((b - a) / a) * 1000) / 10 : null;
}

function metricChanges(a: Record<string, MetricValue>, b: Record<string, MetricValue>): Record<string, MetricChange> {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return Object.fromEntries(
    keys
      .filter((key) => a[key] !== b[key])
      .map((key) => [key, { a: a[key] ?? null, b: b[key] ?? null, change_pct: changePct(a[key], b[key]) }]),
  );
}

function sameValue(x: unknown, y: unknown): boolean {
  return JSON.stringify(x) === JSON.stringify(y);
}

function side(run: RunRecord): RunSide {
  return {
    id: run.id,
    sequence: run.sequence,
    status: run.status,
    started_at: run.started_at,
    duration_ms: run.duration_ms,
    commit: run.definitions.commit,
    params: run.params ?? {},
    tick: run.tick ?? null,
  };
}

/** The steps of both runs, matched by role and position, in the order they run. */
function pairSteps(a: LoadedRun, b: LoadedRun): Array<[number, Role, StepSide | null, StepSide | null]> {
  const sides = (loaded: LoadedRun) =>
    new Map(
      loaded.run.steps.map((summary, i) => {
        const record = loaded.steps[i];
        const value: StepSide = {
          name: summary.name,
          module: summary.module,
          status: summary.status,
          duration_ms: summary.duration_ms,
          exit_code: summary.exit_code,
          argv: record?.argv ?? null,
          input: record?.input ?? null,
          output: record?.output ?? null,
          config: record?.config ?? null,
          input_sha256: record?.lineage?.input?.sha256 ?? null,
          config_sha256: record?.lineage?.config?.sha256 ?? null,
          output_sha256: record?.lineage?.output?.sha256 ?? null,
          metrics: record?.metrics ?? null,
        };
        return [`${summary.role} ${summary.index}`, value] as const;
      }),
    );
  const [left, right] = [sides(a), sides(b)];
  const keys = [...new Set([...left.keys(), ...right.keys()])].sort((x, y) => {
    const [rx, ix] = x.split(' ');
    const [ry, iy] = y.split(' ');
    return rx === ry ? Number(ix) - Number(iy) : rx === 'step' ? -1 : 1;
  });
  return keys.map((key) => {
    const [role, index] = key.split(' ');
    return [Number(index), role as Role, left.get(key) ?? null, right.get(key) ?? null];
  });
}
