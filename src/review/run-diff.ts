// Two runs side by side (`etl diff`): the definitions each pinned (a unified diff of each file
// that changed, read from git), params and tick, and step by step the argv, the paths, the
// status and the duration with its change, naming the first step that was given something
// different. Steps are matched by role and position.
import type { Env } from '../git/git.js';
import { type PinnedChange, pinDiff } from '../ledger/pinned.js';
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
}

export interface StepDiff {
  index: number;
  role: Role;
  /** null: the run has no such step. */
  a: StepSide | null;
  b: StepSide | null;
  /** What the step was given that differs: module, argv, input, output, config. */
  given: string[];
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
    const given = sa && sb ? GIVEN.filter((key) => !sameValue(sa[key], sb[key])) : ['the step itself'];
    return {
      index,
      role,
      a: sa,
      b: sb,
      given,
      duration_change_pct:
        sa?.duration_ms && sb?.duration_ms != null
          ? Math.round(((sb.duration_ms - sa.duration_ms) / sa.duration_ms) * 1000) / 10
          : null,
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
