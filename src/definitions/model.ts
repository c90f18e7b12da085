import type { Env, Flags, GitHubSettings, ModuleDef, Retention, SequenceObject, Step, StepDefaults } from './schema.js';
import { HANDLERS, type Handler } from './handlers.js';
import { programName } from './words.js';
import { asObject } from './raw.js';
import { closest } from './suggest.js';
import type { ParsedSource } from './source.js';

/** A module of modules.json, as validated. */
export interface ModuleEntry {
  name: string;
  def: ModuleDef;
}

/** A step with "not given" ("", null, absent) normalised to undefined. */
export interface StepDef {
  /** Position in its list from 1, as ETL_STEP, the ledger and every message count. */
  index: number;
  /** JSON pointer of the step in its file, for locating messages. */
  pointer: string;
  /** The module the step runs; a step has this or `run` (lint says when it has both or neither). */
  module_name?: string;
  /** The command the step runs instead of a module, as written (its templates not filled). */
  run?: string;
  /** Another sequence the step runs as a child run (src/definitions/calls.ts). */
  call?: string;
  /** With `call`: the child run's params, as written (templates not filled). */
  call_params?: Record<string, string>;
  /** Given, or the module's name, or the file name of the program of `run`, or the sequence `call` runs. */
  name: string;
  input?: string;
  output?: string;
  conf?: string;
  timeout?: string;
  retries?: number;
  retry_delay?: string;
  backoff?: number;
  retry_on?: number[];
  env: Env;
  /** Metric name -> rule (src/runner/expect.ts). */
  expect: Record<string, string>;
  /** The step's own skip_unchanged, else the sequence's; false when neither says. */
  skip_unchanged: boolean;
  /** The run goes on after it fails (any way, or with these exit codes). */
  continue_on?: 'failure' | number[];
  /** Its `if`: a command whose exit decides whether it runs (src/runner/condition.ts). */
  condition?: string;
  /** The names of the steps it waits for, as written; undefined when not given (src/definitions/graph.ts). */
  needs?: string[];
}

export interface SequenceDef {
  name: string;
  /** Repository-relative, forward slashes. */
  file: string;
  source: ParsedSource;
  description?: string;
  schedule?: string;
  timezone?: string;
  timeout?: string;
  on_failure_timeout?: string;
  /** How recent its last success must be, as written ("26h"); stale past it (src/ledger/freshness.ts). */
  freshness?: string;
  env: Env;
  secrets: string[];
  /** Run parameters: name -> default (undefined: a run must give it) and description. */
  params: Record<string, { default?: string; description?: string }>;
  steps: StepDef[];
  /** How many steps of a graph may run at once; undefined: one per CPU core. */
  max_parallel?: number;
  /** When a run starts while another runs (src/ledger/run-sequence.ts); undefined: skip. */
  concurrency?: 'skip' | 'queue' | 'cancel_previous';
  /** How long the ledger keeps its runs (src/ledger/retention/); undefined: for ever. */
  retention?: Retention;
  /** The error handler: the seed's error_handler, as steps. */
  on_failure: StepDef[];
  on_success: StepDef[];
  on_cancel: StepDef[];
  on_exit: StepDef[];
  /** Each handler's bound, as written (on_failure_timeout above is the error handler's). */
  on_success_timeout?: string;
  on_cancel_timeout?: string;
  on_exit_timeout?: string;
}

export interface Definitions {
  repo: string;
  /** modules.json's "$flags": the interface flags of every module, unless it says otherwise. */
  flags?: Flags;
  /** modules.json's "$defaults": what a step gets when neither it nor its module says (a timeout). */
  defaults?: StepDefaults;
  /** modules.json's "$github": whether the schedules run on GitHub Actions (unless false). */
  github?: GitHubSettings;
  modules: Map<string, ModuleEntry>;
  sequences: Map<string, SequenceDef>;
}

export const SEQUENCES_DIR = 'etl_sequences';
export const MODULES_FILE = 'modules.json';

/** Keys of modules.json that are settings, not modules: they start with "$" (no module name can). */
export const isModulesSetting = (key: string) => key.startsWith('$');
export const SEQUENCE_EXTENSIONS = ['.json', '.yaml', '.yml'] as const;

const given = <T>(value: T | null | undefined | ''): T | undefined =>
  value === null || value === '' ? undefined : value;

/** The keys whose value is given: a step without a retry policy has no such keys. */
const definedOnly = <T extends object>(values: T): Partial<T> =>
  Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;

/** A step's name when it gives none: its module's, else its program's, else the sequence it calls (none: lint says so). */
const defaultName = (module: string | undefined, run: string | undefined, call: string | undefined): string =>
  module ?? (run === undefined ? (call ?? 'step') : programName(run));

/** `position` is 0-based (the array index); the step's index counts from 1. */
function toStepDef(step: Step, position: number, pointer: string, skipUnchanged = false): StepDef {
  return {
    index: position + 1,
    pointer,
    module_name: step.module_name,
    run: step.run,
    ...(step.call === undefined ? {} : { call: step.call }),
    ...(step.params === undefined ? {} : { call_params: step.params }),
    name: given(step.name) ?? defaultName(step.module_name, step.run, step.call),
    input: given(step.input),
    output: given(step.output),
    conf: given(step.conf),
    timeout: given(step.timeout),
    retries: given(step.retries),
    ...definedOnly({
      condition: step.if,
      continue_on: step.continue_on,
      retry_delay: given(step.retry_delay),
      backoff: step.backoff,
      retry_on: step.retry_on,
    }),
    env: step.env ?? {},
    expect: step.expect ?? {},
    skip_unchanged: step.skip_unchanged ?? skipUnchanged,
    ...(step.needs === undefined ? {} : { needs: step.needs }),
  };
}

/** Builds the normalised sequence from data that passed the schema. */
export function toSequenceDef(
  name: string,
  file: string,
  source: ParsedSource,
  data: Step[] | SequenceObject,
): SequenceDef {
  if (Array.isArray(data)) {
    return {
      name,
      file,
      source,
      env: {},
      secrets: [],
      params: {},
      steps: data.map((s, i) => toStepDef(s, i, `/${i}`)),
      ...NO_HANDLERS,
    };
  }
  return {
    name,
    file,
    source,
    description: given(data.description),
    schedule: given(data.schedule),
    timezone: given(data.timezone),
    timeout: given(data.timeout),
    on_failure_timeout: given(data.on_failure_timeout),
    freshness: given(data.freshness),
    env: data.env ?? {},
    secrets: data.secrets ?? [],
    params: Object.fromEntries(
      Object.entries(data.params ?? {}).map(([key, param]) => [
        key,
        { default: param.default ?? undefined, description: given(param.description) },
      ]),
    ),
    steps: data.steps.map((s, i) => toStepDef(s, i, `/steps/${i}`, data.skip_unchanged)),
    max_parallel: data.max_parallel,
    concurrency: data.concurrency,
    retention: data.retention,
    ...handlerDefs((handler) => {
      const given = data[handler] ?? [];
      return Array.isArray(given)
        ? given.map((s, i) => toStepDef(s, i, `/${handler}/${i}`))
        : [toStepDef(given, 0, `/${handler}`)];
    }),
    on_success_timeout: given(data.on_success_timeout),
    on_cancel_timeout: given(data.on_cancel_timeout),
    on_exit_timeout: given(data.on_exit_timeout),
  };
}

/**
 * The parts of a sequence that failed its schema which still make sense, for the checks
 * beyond the schema: every value that has the right type is kept (a step whose module_name
 * or run has the wrong type is left out), so a wrong `retries` does not hide a bad schedule, time zone or conf.
 */
export function toSequenceDefLenient(name: string, file: string, source: ParsedSource, data: unknown): SequenceDef {
  const object = asObject(data);
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  const strings = (value: unknown): Env =>
    Object.fromEntries(Object.entries(asObject(value)).filter((e): e is [string, string] => typeof e[1] === 'string'));
  const steps = (list: unknown, base: string, skipUnchanged = false): StepDef[] => {
    const items = Array.isArray(list) ? list : list !== null && typeof list === 'object' ? [list] : [];
    return items.flatMap((item, i) => {
      const step = asObject(item);
      const module = text(step.module_name);
      const run = text(step.run);
      const call = text(step.call);
      if (module === undefined && run === undefined && call === undefined && !saysNeither(item)) return [];
      const pointer = Array.isArray(list) ? `${base}/${i}` : base;
      return [
        {
          index: i + 1,
          pointer,
          module_name: module,
          run,
          ...(call === undefined ? {} : { call }),
          ...(step.params === undefined ? {} : { call_params: strings(step.params) }),
          name: text(step.name) ?? defaultName(module, run, call),
          input: text(step.input),
          output: text(step.output),
          conf: text(step.conf),
          timeout: text(step.timeout),
          env: strings(step.env),
          expect: strings(step.expect),
          skip_unchanged: typeof step.skip_unchanged === 'boolean' ? step.skip_unchanged : skipUnchanged,
          ...(Array.isArray(step.needs) ? { needs: step.needs.filter((n): n is string => typeof n === 'string') } : {}),
        },
      ];
    });
  };
  if (Array.isArray(data))
    return { name, file, source, env: {}, secrets: [], params: {}, steps: steps(data, ''), ...NO_HANDLERS };
  // A default of the wrong type is the schema's error; it is still a default, so a
  // scheduled sequence is not also told that the param has none.
  const params = Object.fromEntries(
    Object.entries(asObject(object.params)).map(([key, value]) => {
      const given = asObject(value).default;
      const fallback = given === undefined || given === null ? undefined : '';
      return [
        key,
        { default: typeof given === 'string' ? given : fallback, description: text(asObject(value).description) },
      ];
    }),
  );
  return {
    name,
    file,
    source,
    description: text(object.description),
    schedule: text(object.schedule),
    timezone: text(object.timezone),
    timeout: text(object.timeout),
    on_failure_timeout: text(object.on_failure_timeout),
    freshness: text(object.freshness),
    env: strings(object.env),
    secrets: Array.isArray(object.secrets) ? object.secrets.filter((s): s is string => typeof s === 'string') : [],
    params,
    steps: steps(object.steps, '/steps', object.skip_unchanged === true),
    max_parallel: Number.isInteger(object.max_parallel) ? (object.max_parallel as number) : undefined,
    retention: lenientRetention(object.retention),
    ...handlerDefs((handler) => steps(object[handler], `/${handler}`)),
    on_success_timeout: text(object.on_success_timeout),
    on_cancel_timeout: text(object.on_cancel_timeout),
    on_exit_timeout: text(object.on_exit_timeout),
  };
}

/**
 * A retention whose keys all have the right type, else undefined: the schema says what is
 * wrong, and lint must not add that it gives neither key.
 */
function lenientRetention(value: unknown): Retention | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const given = value as Record<string, unknown>;
  const valid = (n: unknown) => n === undefined || (Number.isInteger(n) && (n as number) >= 1);
  if (!valid(given.keep_days) || !valid(given.keep_runs)) return undefined;
  return { keep_days: given.keep_days as number | undefined, keep_runs: given.keep_runs as number | undefined };
}

/**
 * Whether a step that failed its schema, and has no usable module_name or run, is one that
 * gives neither: not when it is no object, when one has the wrong type, or when a key is a
 * typo of one (the schema's messages say all of that already).
 */
function saysNeither(item: unknown): boolean {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return false;
  return Object.keys(item).every((key) => !COMMAND_KEYS.includes(key) && !closest(key, COMMAND_KEYS));
}

const COMMAND_KEYS = ['module_name', 'run', 'call'];

/**
 * The parts of a module that failed its schema which still make sense, for the checks
 * beyond the schema (`cmd` is "" when it is not a usable string).
 */
export function toModuleDefLenient(data: unknown): ModuleDef {
  const object = asObject(data);
  const strings = (value: unknown): Env =>
    Object.fromEntries(Object.entries(asObject(value)).filter((e): e is [string, string] => typeof e[1] === 'string'));
  return {
    cmd: typeof object.cmd === 'string' ? object.cmd : '',
    env: strings(object.env),
    depends: Array.isArray(object.depends)
      ? object.depends.filter((d): d is string => typeof d === 'string' && d !== '')
      : [],
  };
}

/** Every step of a sequence, the handlers' included. */
export function allSteps(sequence: SequenceDef): StepDef[] {
  return [...sequence.steps, ...HANDLERS.flatMap((handler) => sequence[handler])];
}

const NO_HANDLERS = { on_success: [], on_failure: [], on_cancel: [], on_exit: [] } satisfies Record<Handler, StepDef[]>;

function handlerDefs(steps: (handler: Handler) => StepDef[]): Record<Handler, StepDef[]> {
  return Object.fromEntries(HANDLERS.map((handler) => [handler, steps(handler)])) as Record<Handler, StepDef[]>;
}
