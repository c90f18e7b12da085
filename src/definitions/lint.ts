// Checks the schemas cannot express: names that must exist, commands that must run, paths
// that look mistyped, schedules GitHub would reject.
import {
  hasTemplate,
  MODULE_ENV_SCOPE,
  outputReferences,
  PARAM_VALUE_SCOPE,
  type TemplateScope,
  templateProblems,
} from './template.js';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Issue, Severity } from '../errors.js';
import { type ResolvedCommand, resolveCommand, resolveWords, scriptArguments } from './module-command.js';
import { dependsProblem, isRepoPath } from './depends.js';
import { parseRule } from './expect-rule.js';
import { graphProblems, hasOwnName, sharedName, stepsBefore } from './graph.js';
import { canFire, parseCron, runsMoreOftenThanEvery5Minutes } from './cron.js';
import { parseDuration } from './duration.js';
import { allSteps, MODULES_FILE, type ModuleEntry, type SequenceDef, type StepDef } from './model.js';
import { NAME_PATTERN } from './patterns.js';
import { type ParsedSource, pointerSegment } from './source.js';
import { didYouMean, editDistance } from './suggest.js';
import { isKnownTimeZone } from './time-zone.js';
import { type QuotedWord, splitQuotedWords } from './words.js';

type Report = (severity: Severity, code: string, pointer: string, message: string, part?: 'key' | 'value') => void;

function reporter(issues: Issue[], file: string, source: ParsedSource): Report {
  return (severity, code, pointer, message, part = 'value') =>
    issues.push({ file, ...source.locate(pointer, part), severity, code, message });
}

/** Operators and redirections a shell acts on outside quotes (`a;b`, `x>out`, `a&&b`, a trailing `&`). */
const SHELL_OPERATOR = /\|\||&&|&>|[0-9]?>>?(?:&[0-9-]?)?|<|[;|]|&$/;
/** What a shell substitutes outside single quotes, even inside double ones. */
const SHELL_SUBSTITUTION = /\$\(|`/;
/** The same in a module's cmd, with variables: in a step's `run` "${...}" is a template (checked as one). */
const SHELL_VARIABLE = /\$[A-Za-z_{(]|`/;

/** The first piece of shell syntax in a command line's words (outside the quotes that make it literal), if any. */
function shellSyntax(words: QuotedWord[], substitution: RegExp): { word: string; found: string } | undefined {
  for (const word of words) {
    const operator = SHELL_OPERATOR.exec(word.bare)?.[0];
    if (operator) return { word: word.text, found: `"${operator}" outside quotes` };
    const substituted = substitution.exec(word.unquoted)?.[0];
    if (substituted) return { word: word.text, found: `"${substituted}" outside single quotes` };
  }
  return undefined;
}

/** existsSync, remembered for one validation: many steps name the same conf file. */
export type FileExists = (path: string) => boolean;

export function cachedExists(): FileExists {
  const seen = new Map<string, boolean>();
  return (path) => {
    let found = seen.get(path);
    if (found === undefined) {
      found = existsSync(path);
      seen.set(path, found);
    }
    return found;
  };
}

export function lintModule(
  entry: ModuleEntry,
  source: ParsedSource,
  repo: string,
  path: string | undefined,
  exists: FileExists = existsSync,
): Issue[] {
  const issues: Issue[] = [];
  const report = reporter(issues, MODULES_FILE, source);
  const at = `/${pointerSegment(entry.name)}`;
  if (!new RegExp(NAME_PATTERN).test(entry.name)) {
    report(
      'error',
      'invalid-module-name',
      at,
      `invalid module name "${entry.name}": use letters, digits, ".", "_" and "-", starting with a letter or digit`,
      'key',
    );
  }
  // A module that failed its schema may have no usable cmd: the schema said so already.
  const resolved: Partial<ResolvedCommand> = entry.def.cmd === '' ? {} : resolveCommand(entry.def.cmd, repo, path);
  if (resolved.problem) report('error', resolved.problem.code, `${at}/cmd`, resolved.problem.message);
  const shell = shellSyntax(quotedWords(entry.def.cmd), SHELL_VARIABLE);
  if (shell)
    report(
      'warning',
      'shell-syntax',
      `${at}/cmd`,
      `"${shell.word}" in cmd has ${shell.found}, which a shell would act on, but modules are not run through a shell: the command gets it as a plain argument (wrap a pipeline in a script, or quote it to say it is meant as written)`,
    );
  for (const script of missingScripts(resolved.words ?? [], repo, exists))
    report('error', 'missing-script', `${at}/cmd`, `cmd names "${script}", which does not exist in the repository`);
  const cmdProblem = argumentProblem(entry.def.cmd, 'cmd ');
  if (cmdProblem) report('error', cmdProblem.code, `${at}/cmd`, cmdProblem.message);
  checkEnv(entry.def.env ?? {}, `${at}/env`, report, MODULE_ENV_SCOPE);
  entry.def.depends?.forEach((pattern, i) => {
    const problem = dependsProblem(pattern);
    if (problem) report('error', 'invalid-depends', `${at}/depends/${i}`, `depends entry "${pattern}" ${problem}`);
  });
  return issues;
}

/** A command line's words, none when it cannot be split (reported as invalid-cmd). */
function quotedWords(line: string): QuotedWord[] {
  try {
    return splitQuotedWords(line);
  } catch {
    return [];
  }
}

/** The scripts a command gives an interpreter that are not in the repository (a templated one depends on the run). */
function missingScripts(words: string[], repo: string, exists: FileExists): string[] {
  return scriptArguments(words).filter((script) => !hasTemplate(script) && !exists(resolve(repo, script)));
}

/** Linux refuses a single argument or environment entry longer than this (MAX_ARG_STRLEN). */
const MAX_ARGUMENT_BYTES = 128 * 1024;

/** Why a value cannot reach a program as an argument or environment value, if it cannot. */
function argumentProblem(value: string, prefix = ''): { code: string; message: string } | undefined {
  if (value.includes('\0'))
    return {
      code: 'nul-character',
      message: `${prefix}contains a NUL character (\\0), which cannot be passed to a program`,
    };
  const bytes = Buffer.byteLength(value);
  if (bytes > MAX_ARGUMENT_BYTES)
    return {
      code: 'value-too-long',
      message: `${prefix}is ${bytes} bytes long; one argument or environment value may be at most ${MAX_ARGUMENT_BYTES} bytes (put it in a file)`,
    };
  return undefined;
}

/** Reports every value of an env map that cannot be given to a program, or whose templates are wrong. */
function checkEnv(env: Record<string, string>, pointer: string, report: Report, scope: TemplateScope): void {
  for (const [name, value] of Object.entries(env)) {
    const at = `${pointer}/${pointerSegment(name)}`;
    const problem = argumentProblem(value, `env ${name} `);
    if (problem) report('error', problem.code, at, problem.message);
    for (const message of templateProblems(value, scope)) report('error', 'unknown-template', at, message);
  }
}

const NONE_LITERALS = new Set(['None', 'none', 'null', 'NULL', 'undefined', 'nil']);
const PATH_FIELDS = ['input', 'output', 'conf'] as const;

/** `modules` is undefined when modules.json could not be read: module names are not checked then. */
export function lintSequence(
  sequence: SequenceDef,
  modules: Map<string, ModuleEntry> | undefined,
  repo: string,
  exists: FileExists = existsSync,
  options: { githubSchedules?: boolean; path?: string } = {},
): Issue[] {
  const issues: Issue[] = [];
  const report = reporter(issues, sequence.file, sequence.source);

  if (sequence.steps.length === 0)
    report(
      'warning',
      'empty-sequence',
      sequence.source.data && !Array.isArray(sequence.source.data) ? '/steps' : '',
      'the sequence has no steps: a run would do nothing',
    );
  lintParams(sequence, report);
  const params = Object.keys(sequence.params);
  for (const step of allSteps(sequence)) {
    const before = stepsBefore(sequence, step);
    lintStep(step, {
      modules,
      repo,
      exists,
      report,
      path: options.path,
      scope: { params, steps: before.map((s) => s.name) },
    });
    lintAmbiguousOutputs(step, before, report);
  }
  if (!Array.isArray(sequence.source.data)) checkEnv(sequence.env, '/env', report, { params });
  lintNearMissPaths(sequence, report);
  for (const problem of graphProblems(sequence))
    report(problem.severity, problem.code, problem.pointer, problem.message, problem.part);
  lintSchedule(sequence, report, options.githubSchedules !== false);
  lintRetention(sequence, report);
  return issues;
}

function lintParams(sequence: SequenceDef, report: Report): void {
  const paramVariables = new Map<string, string>();
  for (const [name, param] of Object.entries(sequence.params)) {
    // Modules get each param as ETL_PARAM_<NAME in upper case>: two names may not meet there.
    const variable = `ETL_PARAM_${name.toUpperCase()}`;
    const other = paramVariables.get(variable);
    if (other !== undefined)
      report(
        'error',
        'duplicate-param',
        `/params/${pointerSegment(name)}`,
        `params "${other}" and "${name}" would both be given to modules as ${variable}: rename one`,
        'key',
      );
    else paramVariables.set(variable, name);
    if (param.default !== undefined)
      for (const message of templateProblems(param.default, PARAM_VALUE_SCOPE))
        report('error', 'unknown-template', `/params/${pointerSegment(name)}/default`, message);
  }
  // A scheduled run has nobody to give a parameter: each needs a default.
  if (sequence.schedule !== undefined)
    for (const [name, param] of Object.entries(sequence.params))
      if (param.default === undefined)
        report(
          'error',
          'param-without-default',
          `/params/${pointerSegment(name)}`,
          `param "${name}" has no default, and the sequence has a schedule: its scheduled runs could not give it one`,
        );
}

interface StepLint {
  modules: Map<string, ModuleEntry> | undefined;
  repo: string;
  /** PATH, where a bare program of a step's `run` or `if` is looked up. */
  path: string | undefined;
  exists: FileExists;
  /** The templates a step may use: the sequence's params, the outputs of the steps before it. */
  scope: TemplateScope;
  report: Report;
}

function lintStep(step: StepDef, lint: StepLint): void {
  const { repo, exists, scope, report } = lint;
  if (step.condition !== undefined) lintCommandLine(step, step.condition, 'if', lint);
  lintStepCommand(step, lint);
  // A step's name is a name (ETL_STEP_NAME, the ledger's file names): never a template.
  if (step.name !== step.module_name && step.name.includes('${'))
    report(
      'error',
      'unknown-template',
      `${step.pointer}/name`,
      `a step's name is not expanded, and "${step.name}" would reach the module as ETL_STEP_NAME as written: templates work in input, output, conf and env`,
    );
  // --from and --only take a position or a name: a number is always read as the position.
  if (hasOwnName(step) && /^[0-9]+$/.test(step.name))
    report(
      'error',
      'invalid-step-name',
      `${step.pointer}/name`,
      `step name "${step.name}" is all digits, which --from and --only read as a step's position, not as its name: give it a name with a letter in it`,
    );
  for (const field of PATH_FIELDS) lintPathField(step, field, scope, report);
  for (const [metric, rule] of Object.entries(step.expect)) {
    const parsed = parseRule(rule);
    if ('error' in parsed) report('error', 'bad-expect', `${step.pointer}/expect/${metric}`, parsed.error);
  }
  // A handler runs because of what happened to the run: it is never skipped as unchanged.
  const handler = /^\/(on_[a-z]+)/.exec(step.pointer)?.[1];
  if (step.skip_unchanged && handler)
    report(
      'warning',
      'skip-unchanged-on-failure',
      `${step.pointer}/skip_unchanged`,
      `skip_unchanged has no effect on an ${handler} step: a handler always runs when its moment comes`,
    );
  if (step.continue_on !== undefined && handler)
    report(
      'warning',
      'continue-on-handler',
      `${step.pointer}/continue_on`,
      `continue_on has no effect on an ${handler} step: a handler's steps all run, one after another, whatever each does (one that fails is recorded failed, and fails a run that had succeeded)`,
    );
  if (
    step.conf !== undefined &&
    !hasTemplate(step.conf) && // which file it is depends on the run
    isRepoPath(step.conf) &&
    !NONE_LITERALS.has(step.conf) &&
    !exists(resolve(repo, step.conf))
  ) {
    report(
      'error',
      'missing-conf',
      `${step.pointer}/conf`,
      `conf file "${step.conf}" does not exist in the repository`,
    );
  }
  checkEnv(step.env, `${step.pointer}/env`, report, scope);
}

/** A step's values that may use templates, with where each is. */
function templatedValues(step: StepDef): Array<[pointer: string, value: string | undefined]> {
  return [
    [`${step.pointer}/if`, step.condition],
    [`${step.pointer}/run`, step.run],
    ...PATH_FIELDS.map((field): [string, string | undefined] => [`${step.pointer}/${field}`, step[field]]),
    ...Object.entries(step.env).map(([name, value]): [string, string] => [
      `${step.pointer}/env/${pointerSegment(name)}`,
      value,
    ]),
    ...Object.entries(step.call_params ?? {}).map(([name, value]): [string, string] => [
      `${step.pointer}/params/${pointerSegment(name)}`,
      value,
    ]),
  ];
}

/**
 * ${steps.NAME.outputs.KEY} where several of the steps before this one are called NAME: the
 * run would take the outputs of whichever ran last, which is rarely what was meant.
 */
function lintAmbiguousOutputs(step: StepDef, before: StepDef[], report: Report): void {
  if (before.length < 2) return;
  for (const [pointer, value] of templatedValues(step)) {
    const seen = new Set<string>();
    for (const { step: name, whole } of outputReferences(value ?? '')) {
      const named = before.filter((earlier) => earlier.name === name);
      if (named.length < 2 || seen.has(name)) continue;
      seen.add(name);
      report(
        'error',
        'ambiguous-output',
        pointer,
        `${whole} is ambiguous: ${sharedName(named, name)}, and it would take the outputs of whichever ran last; give them distinct names and use one of those`,
      );
    }
  }
}

/** What a step runs: a module, a command of its own (`run`) or another sequence (`call`). */
const COMMAND_FIELDS = ['module_name', 'run', 'call'] as const;

/** A step runs a known module, a command of its own (`run`) or another sequence (`call`): exactly one of them. */
function lintStepCommand(step: StepDef, lint: StepLint): void {
  const { modules, report } = lint;
  const given = COMMAND_FIELDS.filter((field) => step[field] !== undefined);
  if (given.length > 1) {
    report(
      'error',
      'module-and-run',
      `${step.pointer}/${given[1]}`,
      `the step has ${given.join(' and ')}: it runs a module, a command of its own or another sequence, one of them; remove ${given.length > 2 ? 'all but one' : 'one'}`,
      'key',
    );
    return;
  }
  if (step.call_params !== undefined && step.call === undefined)
    report(
      'error',
      'params-without-call',
      `${step.pointer}/params`,
      "a step's params are the params of the sequence it calls: give call, or pass values to a module with env",
      'key',
    );
  if (step.run !== undefined) {
    lintCommandLine(step, step.run, 'run', lint);
    return;
  }
  if (step.call !== undefined) {
    lintCallStep(step, lint);
    return;
  }
  if (step.module_name === undefined) {
    report(
      'error',
      'no-command',
      step.pointer,
      'the step has none of module_name, run and call: name the module it runs ("module_name": a key of modules.json), give the command it runs ("run") or the sequence it runs ("call")',
    );
    return;
  }
  if (modules && !modules.has(step.module_name)) {
    report(
      'error',
      'unknown-module',
      `${step.pointer}/module_name`,
      `unknown module "${step.module_name}"${didYouMean(step.module_name, modules.keys())}; modules.json defines ${modules.size === 0 ? 'none' : [...modules.keys()].join(', ')}`,
    );
  }
}

/**
 * What a call step can be told on its own: its params' templates (the sequence it calls is
 * checked with the others, src/definitions/calls.ts). It gives its child run params, not the
 * module interface's paths.
 */
function lintCallStep(step: StepDef, { scope, report }: StepLint): void {
  for (const field of PATH_FIELDS)
    if (step[field] !== undefined)
      report(
        'error',
        'call-with-paths',
        `${step.pointer}/${field}`,
        `a call step runs a sequence, whose steps have their own ${field}: pass values to it with params`,
        'key',
      );
  for (const [name, value] of Object.entries(step.call_params ?? {}))
    for (const message of templateProblems(value, scope))
      report('error', 'unknown-template', `${step.pointer}/params/${pointerSegment(name)}`, message);
}

/**
 * A step's `run` (and its `if`): split as a module's cmd is, each word's templates right, its
 * program there and written out (which file runs is known before a run: pinned, watched), no
 * shell syntax.
 */
function lintCommandLine(
  step: StepDef,
  run: string,
  field: 'run' | 'if',
  { repo, path, exists, scope, report }: StepLint,
): void {
  const at = `${step.pointer}/${field}`;
  const problem = argumentProblem(run, `${field} `);
  if (problem) report('error', problem.code, at, problem.message);
  let quoted: QuotedWord[];
  try {
    quoted = splitQuotedWords(run);
  } catch (error) {
    report('error', 'invalid-run', at, `cannot split ${field} into words: ${(error as Error).message}`);
    return;
  }
  const words = quoted.map((word) => word.text);
  const messages = new Set(words.flatMap((word) => templateProblems(word, scope)));
  for (const message of messages) report('error', 'unknown-template', at, message);
  const program = words[0];
  if (program === undefined) {
    report('error', 'invalid-run', at, `${field} has no command in it`);
    return;
  }
  if (hasTemplate(program))
    report(
      'error',
      'templated-program',
      at,
      `the program of ${field}, "${program}", may not hold a template: which file runs must be known before the run (each run pins it); put the template in an argument`,
    );
  else {
    const resolved = resolveWords(words, repo, path, field);
    if (resolved.problem) report('error', resolved.problem.code, at, resolved.problem.message);
  }
  const shell = shellSyntax(quoted, SHELL_SUBSTITUTION);
  if (shell)
    report(
      'error',
      'shell-syntax',
      at,
      `"${shell.word}" in ${field} has ${shell.found}, which a shell would act on, but ${field} is never given to a shell: the program would get it as a plain argument; put the pipeline or redirection in a script or say sh -c '...' yourself, or quote it ('...') if the program should get it as written`,
    );
  for (const script of missingScripts(words, repo, exists))
    report('error', 'missing-script', at, `${field} names "${script}", which does not exist in the repository`);
}

function lintPathField(step: StepDef, field: (typeof PATH_FIELDS)[number], scope: TemplateScope, report: Report): void {
  const value = step[field];
  if (value === undefined) return;
  const problem = argumentProblem(value, `${field} `);
  if (problem) report('error', problem.code, `${step.pointer}/${field}`, problem.message);
  for (const message of templateProblems(value, scope))
    report('error', 'unknown-template', `${step.pointer}/${field}`, message);
  if (NONE_LITERALS.has(value.trim())) {
    report(
      'warning',
      'none-literal',
      `${step.pointer}/${field}`,
      `${field} is the string "${value}", which is passed to the module as a path; leave it out, or use "" or null for "not given"`,
    );
  }
}

/** An input one typo away from an earlier output is almost always that output mistyped. */
function lintNearMissPaths(sequence: SequenceDef, report: Report): void {
  const outputs: StepDef[] = [];
  const written = new Set<string>();
  for (const step of sequence.steps) {
    const input = step.input;
    if (input !== undefined && !written.has(normalise(input))) {
      const near = outputs.find((o) => isNearMiss(input, o.output!));
      if (near) {
        report(
          'warning',
          'near-miss-path',
          `${step.pointer}/input`,
          `input "${input}" is not what any earlier step writes, but step ${near.index} (${near.name}) writes "${near.output}": a typo?`,
        );
      }
    }
    if (step.output !== undefined) {
      outputs.push(step);
      written.add(normalise(step.output));
    }
  }
}

function lintSchedule(sequence: SequenceDef, report: Report, githubSchedules: boolean): void {
  if (sequence.schedule !== undefined) {
    const parsed = parseCron(sequence.schedule);
    if (parsed.error !== undefined) {
      report('error', 'invalid-cron', '/schedule', `invalid schedule "${sequence.schedule}": ${parsed.error}`);
    } else if (!canFire(parsed.cron)) {
      report(
        'error',
        'cron-never-fires',
        '/schedule',
        `schedule "${sequence.schedule}" never fires: no month of it has such a day of the month`,
      );
    } else if (githubSchedules && runsMoreOftenThanEvery5Minutes(parsed.cron)) {
      // Only GitHub has this limit: etl schedule on a server of your own fires every minute.
      report(
        'warning',
        'cron-too-frequent',
        '/schedule',
        `schedule "${sequence.schedule}" fires more often than every 5 minutes; GitHub Actions runs schedules at most every 5 minutes (if they run elsewhere, say "$github": {"schedules": false} in modules.json)`,
      );
    }
  }
  if (sequence.timezone !== undefined) {
    if (!isKnownTimeZone(sequence.timezone)) {
      report(
        'error',
        'unknown-timezone',
        '/timezone',
        `unknown time zone "${sequence.timezone}": expected an IANA name such as "Europe/Madrid" or "America/Argentina/Buenos_Aires"`,
      );
    } else if (sequence.schedule === undefined) {
      report('warning', 'timezone-without-schedule', '/timezone', 'timezone has no effect without a schedule');
    }
  }
  // A well-formed duration of nothing ("0h"): no success could ever be that recent.
  if (sequence.freshness !== undefined && parseDuration(sequence.freshness) === 0)
    report(
      'error',
      'zero-freshness',
      '/freshness',
      `freshness "${sequence.freshness}" would call the sequence stale at every moment: expected a duration longer than 0, such as "26h"`,
    );
}

/** retention says one thing: by age or by count (the schema checks each value). */
function lintRetention(sequence: SequenceDef, report: Report): void {
  const { retention } = sequence;
  if (retention === undefined) return;
  const given = [retention.keep_days, retention.keep_runs].filter((n) => n !== undefined).length;
  if (given === 1) return;
  report(
    'error',
    'retention-policy',
    given === 0 ? '/retention' : '/retention/keep_runs',
    given === 0
      ? 'retention needs keep_days (keep the runs of the last N days) or keep_runs (keep the N newest runs)'
      : 'retention has both keep_days and keep_runs: give one of the two',
    given === 0 ? 'value' : 'key',
  );
}

const normalise = (p: string) => p.replace(/\/+$/, '');

function isNearMiss(input: string, output: string): boolean {
  const a = normalise(input);
  const b = normalise(output);
  const distance = editDistance(a, b);
  return distance > 0 && distance <= Math.max(1, Math.min(2, Math.floor(b.length / 8)));
}
