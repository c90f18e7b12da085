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
  /** The module's files that ran: path -> blob hash (null: not recorded). */
  module_files: Record<string, string | null> | null;
  fingerprint: string | null;
  /** Skipped as unchanged (or as done by a resumed run): the run whose record stands for it here. */
  stands_for: string | null;
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
  /**
   * What the step was given that differs: module, argv, input, output, config, module code (its
   * files' content), the content of input and config, params; "env" when only its fingerprint
   * tells them apart.
   */
  given: string[];
  /** The module's files whose content differs (with "module code"). */
  module_files: string[];
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
  /** For a step skipped as unchanged or resumed: the record of the step it stands for. */
  stand_ins?: Array<StepRecord | undefined>;
}

export function diffRuns(repo: string, a: LoadedRun, b: LoadedRun, env: Env = process.env): RunDiff {
  const paramsDiffer = !sameValue(sortedParams(a.run), sortedParams(b.run));
  const steps = pairSteps(a, b).map(([index, role, sa, sb]) => {
    const files = sa && sb ? moduleFilesChanged(sa, sb) : [];
    const given = sa && sb ? givenDifferently(sa, sb, files, paramsDiffer) : ['the step itself'];
    return {
      index,
      role,
      a: sa,
      b: sb,
      given,
      module_files: files ?? [],
      output_differs: Boolean(sa?.output_sha256 && sb?.output_sha256 && sa.output_sha256 !== sb.output_sha256),
      metrics: metricChanges(sa?.metrics ?? {}, sb?.metrics ?? {}),
      duration_change_pct: changePct(sa?.duration_ms, sb?.duration_ms),
    };
  });
  // A step skipped in both runs (--from, a failure before it) was given nothing, unless a skip stands for a run.
  const tookPart = (side: StepSide | null) => side !== null && (side.status !== 'skipped' || side.stands_for !== null);
  const first = steps.find((s) => s.given.length > 0 && (tookPart(s.a) || tookPart(s.b)));
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

/** What a step was given differently in two runs, named; `files`: its module files that changed (undefined: not recorded). */
function givenDifferently(a: StepSide, b: StepSide, files: string[] | undefined, paramsDiffer: boolean): string[] {
  const given = [
    ...GIVEN.filter((key) => !sameValue(a[key], b[key])),
    ...(files?.length ? ['module code'] : []),
    ...CONTENT.filter(([key]) => a[key] !== null && b[key] !== null && a[key] !== b[key]).map(([, name]) => name),
    // Every module gets the params (ETL_PARAM_*), whether or not a path names them.
    ...(paramsDiffer ? ['params'] : []),
  ];
  // The fingerprint holds what is not compared above: the step's env (and module files, when
  // a record predates keeping them).
  if (given.length === 0 && a.fingerprint && b.fingerprint && a.fingerprint !== b.fingerprint)
    given.push(files === undefined ? 'module code or env' : 'env');
  return given;
}

/** The module files whose content differs, or undefined when a run did not record them. */
function moduleFilesChanged(a: StepSide, b: StepSide): string[] | undefined {
  if (!a.module_files || !b.module_files) return undefined;
  const paths = [...new Set([...Object.keys(a.module_files), ...Object.keys(b.module_files)])].sort();
  return paths.filter((path) => (a.module_files![path] ?? null) !== (b.module_files![path] ?? null));
}

const sortedParams = (run: RunRecord) => Object.entries(run.params ?? {}).sort(([x], [y]) => (x < y ? -1 : 1));

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
        // A skip that stands for another run compares as that run's step.
        const own = loaded.steps[i];
        const standIn = loaded.stand_ins?.[i];
        const record = standIn ?? own;
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
          module_files: record?.module_files ?? null,
          fingerprint: record?.fingerprint ?? null,
          stands_for: standIn ? (own?.skipped_as?.run_id ?? null) : null,
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
