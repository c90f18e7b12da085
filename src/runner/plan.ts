import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { isRepoPath } from '../definitions/depends.js';
import { parseDuration } from '../definitions/duration.js';
import { isGraph, neededPositions } from '../definitions/graph.js';
import { HANDLERS, type Handler } from '../definitions/handlers.js';
import { DEFAULT_FLAGS, type InterfaceFlags } from '../definitions/interface-flags.js';
import { type ResolvedCommand, resolveCommand, resolveWords } from '../definitions/module-command.js';
import { programName } from '../definitions/words.js';
import { filesToPin, moduleFiles, runFiles } from '../definitions/sequence-files.js';
import { didYouMean } from '../definitions/suggest.js';
import { PARAM_VALUE_SCOPE, resolveTemplate, type TemplateValues } from '../definitions/template.js';
import type { Definitions, SequenceDef, StepDef } from '../definitions/model.js';
import type { ModuleDef } from '../definitions/schema.js';
import { splitWords } from '../definitions/words.js';
import { EtlError } from '../errors.js';
import { MIN_SECRET_LENGTH, Redactor } from './logs.js';
import { referencedSteps, showPlaceholders } from './outputs.js';
import { callArgv } from './call.js';

export interface PlannedStep {
  /** 1-based, as ETL_STEP and the ledger's file names count. */
  index: number;
  name: string;
  /**
   * The step's module; for a step with `run`, which has none, the file name of its program
   * ("python3", "x.sh"): ETL_MODULE, its records' `module` and their file names.
   */
  module: string;
  /** A step with `run` instead of a module: the command as written, its templates not filled. */
  run?: string;
  /** A step that runs another sequence as a child run (src/runner/call.ts): it and its params, filled. */
  call?: { sequence: string; params: Record<string, string> };
  /** The program started: an absolute path. */
  command: string;
  /**
   * Files of the repository the step's module runs (its program, its scripts) and what its
   * `depends` globs match, relative to it: each run pins them, and the step's fingerprint
   * holds their hashes.
   */
  module_files: string[];
  /** The exact argv: the cmd's (or run's, templates filled) words, then the interface flags for the values given. */
  argv: string[];
  /** The interface flags' names when its module (or `$flags`) renames them; absent: DEFAULT_FLAGS. */
  flags?: InterfaceFlags;
  cwd: string;
  input?: string;
  output?: string;
  config?: string;
  timeout_ms?: number;
  retries: number;
  /** The wait after the first attempt; each later one is `backoff` times the one before. */
  retry_delay_ms: number;
  backoff?: number;
  /** Retry only after these exit codes; undefined: after any failure. */
  retry_on?: number[];
  /** The module's, the sequence's and the step's env, the most specific winning. */
  env: Record<string, string>;
  /** Rules on the step's metrics, checked when its module exits 0. */
  expect: Record<string, string>;
  /** Skipped when given the same as its last successful run (src/runner/fingerprint.ts). */
  skip_unchanged: boolean;
  /** The run goes on after it fails (any way, or with these exit codes). */
  continue_on?: 'failure' | number[];
  /** Its `if`: run first; exit 0 runs the step, 1 skips it. */
  condition?: { command: string; argv: string[] };
  /** A later step uses its outputs: it always runs (never skipped as unchanged, not even by --skip-unchanged). */
  outputs_used?: boolean;
  /** In a graph: the steps (their index) it waits for. Absent in a list: each step waits for the one before. */
  needs?: number[];
}

export interface Plan {
  sequence: string;
  file: string;
  repo: string;
  /** Bounds the steps; the on_failure steps have their own bound, from when they start. */
  timeout_ms?: number;
  secrets: string[];
  /** The run's parameters, resolved (its defaults, and what the run gave). */
  params: Record<string, string>;
  /** The tick ${tick} stands for (ISO 8601, UTC): the schedule's, or the run's start. */
  tick: string;
  steps: PlannedStep[];
  /** Present when the steps form a graph (src/definitions/graph.ts): how many may run at once. */
  max_parallel?: number;
  /** The handlers (src/definitions/handlers.ts): on_failure is the error handler. */
  on_success: PlannedStep[];
  on_failure: PlannedStep[];
  on_cancel: PlannedStep[];
  on_exit: PlannedStep[];
  /** Each handler's bound on its steps together, from when they start. */
  handler_timeout_ms: Partial<Record<Handler, number>>;
}

export interface RunValues {
  /** --param NAME=VALUE: override defaults; a param without default must be given. */
  params?: Record<string, string>;
  /** The tick the run is for; now (to the second) by default. */
  tick?: Date;
  /** The flags a call step's child run is given besides its tick and params: how the ledger records it (--commit, --push...). */
  callFlags?: string[];
}

/** What a run of `name` would execute, step by step. Starts nothing; reads only whether its programs and conf files are there. */
export function planRun(
  definitions: Definitions,
  name: string,
  env: Record<string, string | undefined> = process.env,
  values: RunValues = {},
): Plan {
  const sequence = definitions.sequences.get(name);
  if (!sequence) throw new EtlError('unknown-sequence', `sequence "${name}" is not among the valid definitions`);
  const tick = values.tick ?? new Date(Math.floor(Date.now() / 1000) * 1000);
  const timezone = sequence.timezone ?? 'UTC';
  // A param's default may use the tick (not other params); a value the run gives is a value,
  // taken as it is (a resumed run's params were resolved when it ran).
  const params = resolveParams(name, sequence.params, values.params ?? {}, (text) =>
    resolveTemplate(text, { params: {}, tick, timezone }, PARAM_VALUE_SCOPE),
  );
  const planning: StepPlanning = {
    definitions,
    name,
    sequence,
    path: env.PATH,
    template: { params, tick, timezone },
    commands: new Map(),
    callFlags: values.callFlags ?? [],
  };
  return keepOutputsFresh({
    sequence: name,
    file: sequence.file,
    repo: definitions.repo,
    timeout_ms: sequence.timeout ? parseDuration(sequence.timeout) : undefined,
    secrets: sequence.secrets,
    params,
    tick: tick.toISOString(),
    steps: withNeeds(
      sequence,
      sequence.steps.map((step) => planStep(step, planning)),
    ),
    ...(isGraph(sequence) ? { max_parallel: sequence.max_parallel ?? availableParallelism() } : {}),
    on_success: sequence.on_success.map((step) => planStep(step, planning)),
    on_failure: sequence.on_failure.map((step) => planStep(step, planning)),
    on_cancel: sequence.on_cancel.map((step) => planStep(step, planning)),
    on_exit: sequence.on_exit.map((step) => planStep(step, planning)),
    handler_timeout_ms: handlerTimeouts(sequence),
  });
}

/**
 * A step whose outputs a later step uses always runs: skipped as unchanged, it would write none.
 */
function keepOutputsFresh(plan: Plan): Plan {
  const used = new Set(allPlannedSteps(plan).flatMap(referencedSteps));
  if (used.size === 0) return plan;
  return {
    ...plan,
    steps: plan.steps.map((step) =>
      used.has(step.name) ? { ...step, skip_unchanged: false, outputs_used: true } : step,
    ),
  };
}

/** Each handler's bound: its own timeout, else the sequence's. */
function handlerTimeouts(sequence: SequenceDef): Partial<Record<Handler, number>> {
  const given: Record<Handler, string | undefined> = {
    on_success: sequence.on_success_timeout,
    on_failure: sequence.on_failure_timeout,
    on_cancel: sequence.on_cancel_timeout,
    on_exit: sequence.on_exit_timeout,
  };
  return Object.fromEntries(
    HANDLERS.flatMap((handler) => {
      const text = given[handler] ?? sequence.timeout;
      return text ? [[handler, parseDuration(text)]] : [];
    }),
  );
}

/** A graph's steps with what each needs; a list's as they are. */
function withNeeds(sequence: SequenceDef, steps: PlannedStep[]): PlannedStep[] {
  if (!isGraph(sequence)) return steps;
  const needs = neededPositions(sequence.steps);
  return steps.map((step, position) => ({ ...step, needs: needs[position]!.map((p) => p + 1) }));
}

/** What planning each step of one run shares. */
interface StepPlanning {
  definitions: Definitions;
  name: string;
  sequence: SequenceDef;
  /** PATH, where a bare command word is looked up. */
  path: string | undefined;
  template: TemplateValues;
  /**
   * A module's command is looked up once, however many steps use it (stat calls add up over
   * a long sequence).
   */
  commands: Map<string, ModuleCommand>;
  /** RunValues.callFlags. */
  callFlags: string[];
}

interface ModuleCommand {
  resolved: ResolvedCommand;
  /** The repository files it runs and its depends, as PlannedStep.module_files. */
  files: string[];
}

function planStep(step: StepDef, planning: StepPlanning): PlannedStep {
  const { definitions, sequence, template } = planning;
  const how =
    step.call !== undefined
      ? callStep(step.call, step, planning)
      : step.run === undefined
        ? moduleStep(step, planning)
        : runStep(step, step.run, planning);
  const module = how.def;
  const flags = { ...DEFAULT_FLAGS, ...definitions.flags, ...module?.flags };
  const argv = [...how.words];
  const { input, output, config } = stepPaths(step, planning);
  if (input !== undefined) argv.push(flags.input, input);
  if (output !== undefined) argv.push(flags.output, output);
  if (config !== undefined) argv.push(flags.config, config);
  const timeout = step.timeout ?? module?.timeout ?? definitions.defaults?.timeout ?? undefined;
  const env = { ...module?.env, ...sequence.env, ...step.env };
  return {
    index: step.index,
    name: step.name,
    module: how.module,
    ...(step.run === undefined ? {} : { run: step.run }),
    ...(how.call === undefined ? {} : { call: how.call }),
    command: how.executable,
    module_files: how.files,
    argv,
    ...(renamed(flags) ? { flags } : {}),
    cwd: definitions.repo,
    input,
    output,
    config,
    timeout_ms: timeout ? parseDuration(timeout) : undefined,
    retries: step.retries ?? module?.retries ?? 0,
    retry_delay_ms: parseDuration(step.retry_delay ?? module?.retry_delay ?? '') ?? 0,
    ...retryPolicy(step, module),
    env: Object.fromEntries(Object.entries(env).map(([key, value]) => [key, resolveTemplate(value, template)])),
    expect: step.expect,
    // What a child run does is its own records' business: a call step always runs.
    skip_unchanged: step.skip_unchanged && how.call === undefined,
    ...planCondition(step, planning),
    ...(step.continue_on === undefined ? {} : { continue_on: step.continue_on }),
  };
}

const renamed = (flags: InterfaceFlags) =>
  flags.input !== DEFAULT_FLAGS.input || flags.output !== DEFAULT_FLAGS.output || flags.config !== DEFAULT_FLAGS.config;

/** A step's `if`, resolved like a cmd, its templates filled in word by word. */
function planCondition(step: StepDef, { definitions, path, template }: StepPlanning): Pick<PlannedStep, 'condition'> {
  if (step.condition === undefined) return {};
  const resolved = resolveCommand(step.condition, definitions.repo, path);
  if (resolved.problem)
    throw new EtlError(resolved.problem.code, `the if of step ${step.index}: ${resolved.problem.message}`);
  const [program, ...rest] = resolved.words;
  return {
    condition: {
      command: resolved.executable,
      argv: [program!, ...rest.map((word) => resolveTemplate(word, template))],
    },
  };
}

/** How a step retries: its own policy, else its module's. */
function retryPolicy(step: StepDef, module: ModuleDef | undefined): Pick<PlannedStep, 'backoff' | 'retry_on'> {
  const backoff = step.backoff ?? module?.backoff;
  const retryOn = step.retry_on ?? module?.retry_on;
  return {
    ...(backoff === undefined || backoff === 1 ? {} : { backoff }),
    ...(retryOn === undefined ? {} : { retry_on: retryOn }),
  };
}

/** What a step starts: its module's command, or its own `run`. */
interface StepCommand {
  /** PlannedStep.module. */
  module: string;
  /** The module's entry (none for `run`). */
  def?: ModuleDef;
  executable: string;
  /** The command's words, before the interface flags. */
  words: string[];
  files: string[];
  /** A call step's sequence and params. */
  call?: PlannedStep['call'];
}

function moduleStep(step: StepDef, planning: StepPlanning): StepCommand {
  const { definitions, name } = planning;
  const entry = step.module_name === undefined ? undefined : definitions.modules.get(step.module_name);
  if (!entry)
    throw new EtlError('unknown-module', `step ${step.index} of "${name}" uses unknown module "${step.module_name}"`);
  const command = moduleCommand(entry.name, entry.def, planning);
  const { resolved } = command;
  if (resolved.problem)
    throw new EtlError(resolved.problem.code, `module "${entry.name}": ${resolved.problem.message}`);
  return {
    module: entry.name,
    def: entry.def,
    executable: resolved.executable,
    words: resolved.words,
    files: command.files,
  };
}

/**
 * A step's own command: split as a cmd is, then each word's templates filled (a value with a
 * space stays one word). Its program has no template (validation says so), so it is the one pinned.
 */
function runStep(step: StepDef, run: string, planning: StepPlanning): StepCommand {
  const { definitions, name, sequence, template } = planning;
  const where = { file: sequence.file, ...sequence.source.locate(`${step.pointer}/run`) };
  let words: string[];
  try {
    words = splitWords(run);
  } catch (error) {
    throw new EtlError(
      'invalid-cmd',
      `step ${step.index} (${step.name}) of "${name}": ${(error as Error).message}`,
      where,
    );
  }
  const filled = words.map((word) => resolveTemplate(word, template));
  const resolved = resolveWords(filled, definitions.repo, planning.path, 'run');
  if (resolved.problem)
    throw new EtlError(
      resolved.problem.code,
      `step ${step.index} (${step.name}) of "${name}": ${resolved.problem.message}`,
      where,
    );
  return {
    module: programName(run),
    executable: resolved.executable,
    words: resolved.words,
    files: filesToPin(definitions.repo, runFiles(run)),
  };
}

/** A step that runs another sequence: `etl run OTHER` with this run's tick and the step's params, filled. */
function callStep(sequence: string, step: StepDef, { template, callFlags }: StepPlanning): StepCommand {
  const params = Object.fromEntries(
    Object.entries(step.call_params ?? {}).map(([key, value]) => [key, resolveTemplate(value, template)]),
  );
  return {
    module: sequence,
    executable: process.execPath,
    words: callArgv(sequence, template.tick.toISOString(), params, callFlags),
    files: [],
    call: { sequence, params },
  };
}

function moduleCommand(moduleName: string, module: ModuleDef, planning: StepPlanning): ModuleCommand {
  const known = planning.commands.get(moduleName);
  if (known) return known;
  const { repo } = planning.definitions;
  const resolved = resolveCommand(module.cmd, repo, planning.path);
  const files = resolved.problem ? [] : filesToPin(repo, moduleFiles(moduleName, module));
  const command = { resolved, files };
  planning.commands.set(moduleName, command);
  return command;
}

/** The step's input, output and conf for this run, its templates filled. */
function stepPaths(step: StepDef, planning: StepPlanning): { input?: string; output?: string; config?: string } {
  const { definitions, name, sequence, template } = planning;
  const fill = (value: string | undefined) => (value === undefined ? undefined : resolveTemplate(value, template));
  const config = fill(step.conf);
  // Which file a templated conf is depends on the run: it is checked here, before any step runs.
  if (
    config !== undefined &&
    config !== step.conf &&
    isRepoPath(config) &&
    !existsSync(resolve(definitions.repo, config))
  )
    throw new EtlError(
      'missing-conf',
      `step ${step.index} (${step.name}) of "${name}": conf "${step.conf}" is "${config}" for this run, which does not exist in the repository`,
      { file: sequence.file, ...sequence.source.locate(`${step.pointer}/conf`) },
    );
  return { input: fill(step.input), output: fill(step.output), config };
}

/** The sequence's params with what the run gives: an unknown name, or a missing value, is a usage error. */
function resolveParams(
  sequence: string,
  declared: Record<string, { default?: string }>,
  given: Record<string, string>,
  fillDefault: (text: string) => string,
): Record<string, string> {
  const names = Object.keys(declared);
  for (const key of Object.keys(given))
    if (!(key in declared))
      throw new EtlError(
        'usage',
        `sequence "${sequence}" has no param "${key}"${didYouMean(key, names)}; ${names.length ? `its params are ${names.join(', ')}` : 'it declares no params'}`,
      );
  const params: Record<string, string> = {};
  for (const [key, param] of Object.entries(declared)) {
    const value = given[key] ?? (param.default === undefined ? undefined : fillDefault(param.default));
    if (value === undefined)
      throw new EtlError(
        'usage',
        `param "${key}" of sequence "${sequence}" has no default: give it with --param ${key}=VALUE`,
      );
    params[key] = value;
  }
  return params;
}

/** Whether --from/--only leave a step in the run (the others are skipped). */
export function isSelected(step: Pick<PlannedStep, 'index'>, selection: { from?: number; only?: number }): boolean {
  return selection.only !== undefined ? step.index === selection.only : step.index >= (selection.from ?? 1);
}

/** Resolves --from/--only: a 1-based step number or a step's name. */
export function findStep(plan: Plan, spec: string): number {
  if (/^\d+$/.test(spec)) {
    const index = Number(spec);
    if (index >= 1 && index <= plan.steps.length) return index;
    throw new EtlError('unknown-step', `sequence "${plan.sequence}" has steps 1 to ${plan.steps.length}, not ${spec}`);
  }
  const named = plan.steps.filter((s) => s.name === spec);
  if (named.length === 1) return named[0]!.index;
  if (named.length > 1)
    throw new EtlError(
      'ambiguous-step',
      `${named.length} steps of "${plan.sequence}" are named "${spec}" (${named.map((s) => s.index).join(', ')}): give its number`,
    );
  throw new EtlError(
    'unknown-step',
    `sequence "${plan.sequence}" has no step named "${spec}"; its steps are ${plan.steps.map((s) => `${s.index} ${s.name}`).join(', ')}`,
  );
}

/**
 * The tokens CI gives the runner itself (to push the ledger, open issues): always redacted,
 * and given to a module only when its sequence lists them in `secrets`.
 */
export const RUNNER_TOKENS = [
  'GITHUB_TOKEN',
  'GH_TOKEN',
  'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
  'ACTIONS_RUNTIME_TOKEN',
  // The OpenLineage server's key (src/openlineage/config.ts).
  'ETL_OPENLINEAGE_API_KEY',
] as const;

/** The values to redact: the variables a sequence lists in `secrets` (from the environment and the definitions' env) and the runner's tokens. */
export function secretValues(plan: Plan, env: Record<string, string | undefined>): string[] {
  return [...new Set([...plan.secrets, ...RUNNER_TOKENS])]
    .flatMap((name) => [env[name], ...allPlannedSteps(plan).map((s) => s.env[name])])
    .filter((v): v is string => Boolean(v));
}

/**
 * What is wrong with the secrets a sequence declares, as warnings: one that is not set (its
 * modules get nothing), one too short to be masked.
 */
export function secretWarnings(plan: Plan, env: Record<string, string | undefined>): string[] {
  const warnings: string[] = [];
  for (const name of plan.secrets) {
    const values = [env[name], ...allPlannedSteps(plan).map((s) => s.env[name])].filter(
      (v): v is string => v !== undefined,
    );
    if (values.length === 0 || values.every((v) => v === ''))
      warnings.push(`secret ${name} is not set: its modules get no value`);
    else if (values.some((v) => v !== '' && v.length < MIN_SECRET_LENGTH))
      warnings.push(
        `secret ${name} is shorter than ${MIN_SECRET_LENGTH} characters: it is not masked in logs and records`,
      );
  }
  return warnings;
}

/** The runner's tokens that are set: a call step's child run is the runner itself, and needs them as this run does (to push, to tell, to send OpenLineage events). */
export function runnerTokens(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(RUNNER_TOKENS.flatMap((name) => (env[name] ? [[name, env[name]]] : [])));
}

/** The environment modules inherit: the runner's tokens left out unless the sequence asks for them. */
export function inheritedEnv(plan: Plan, env: Record<string, string | undefined>): Record<string, string | undefined> {
  const inherited = { ...env };
  for (const name of RUNNER_TOKENS) if (!plan.secrets.includes(name)) delete inherited[name];
  return inherited;
}

/** A plan as it may be shown: secret values in params, run, argv, if, paths and env replaced by ***, as a run records them. */
export function maskPlan(plan: Plan, env: Record<string, string | undefined>): Plan {
  const redactor = new Redactor(secretValues(plan, env));
  // The outputs of earlier steps are shown as the templates that will take them.
  const show = (value: string) => showPlaceholders(redactor.redact(value));
  const mask = (step: PlannedStep): PlannedStep => ({
    ...step,
    ...(step.run === undefined ? {} : { run: redactor.redact(step.run) }),
    ...(step.call === undefined ? {} : { call: { ...step.call, params: redactor.redactValues(step.call.params) } }),
    argv: step.argv.map(show),
    ...(step.condition === undefined ? {} : { condition: { ...step.condition, argv: step.condition.argv.map(show) } }),
    input: step.input === undefined ? undefined : show(step.input),
    output: step.output === undefined ? undefined : show(step.output),
    config: step.config === undefined ? undefined : show(step.config),
    env: Object.fromEntries(Object.entries(redactor.redactValues(step.env)).map(([k, v]) => [k, showPlaceholders(v)])),
  });
  return {
    ...plan,
    params: redactor.redactValues(plan.params),
    steps: plan.steps.map(mask),
    on_success: plan.on_success.map(mask),
    on_failure: plan.on_failure.map(mask),
    on_cancel: plan.on_cancel.map(mask),
    on_exit: plan.on_exit.map(mask),
  };
}

/** The steps of one role: the plan's steps, or one handler's. */
export function stepsOfRole(plan: Plan, role: 'step' | Handler): PlannedStep[] {
  return role === 'step' ? plan.steps : plan[role];
}

/** Every step of a plan, the handlers' included. */
export function allPlannedSteps(plan: Plan): PlannedStep[] {
  return [...plan.steps, ...HANDLERS.flatMap((handler) => plan[handler])];
}
