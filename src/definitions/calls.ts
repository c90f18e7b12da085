// Steps that run another sequence (`call`): what can only be checked with the sequences they
// call at hand. The sequence called is there and valid, it is given the params it declares,
// and no sequence ends up calling itself (a run would start runs without end).
import type { Issue } from '../errors.js';
import { isGraph, neededPositions, waitsFor } from './graph.js';
import { allSteps, type SequenceDef, type StepDef } from './model.js';
import { pointerSegment } from './source.js';
import { didYouMean } from './suggest.js';

/** The sequences a sequence's steps call, each once. */
export function calledSequences(sequence: SequenceDef): string[] {
  return [...new Set(allSteps(sequence).flatMap((step) => (step.call === undefined ? [] : [step.call])))];
}

export interface CallCheck {
  /** The sequences read (valid or not); their call steps are checked. */
  sequences: SequenceDef[];
  /** Every sequence file's name: a call to another name is to no sequence. */
  names: string[];
  /** The sequences without errors of their own, by name: a call's params are checked against them. */
  valid: Map<string, SequenceDef>;
}

/**
 * The problems of every call step: an unknown or invalid sequence called, params it does
 * not declare or that it needs and is not given, a cycle of calls. A sequence that calls an
 * invalid one is invalid itself (it could not run), so each finding may make more.
 */
export function callProblems({ sequences, names, valid }: CallCheck): Issue[] {
  const issues: Issue[] = [];
  const calls = new Map(sequences.map((sequence) => [sequence.name, calledSequences(sequence)]));
  const invalid = new Set(names.filter((name) => !valid.has(name)));
  // A step with a problem of its own is not also told that what it calls has errors.
  const told = new Set<StepDef>();
  for (const sequence of sequences) {
    for (const step of allSteps(sequence)) {
      // A step that also says module_name or run is told so (lint.ts); what it calls is not its problem yet.
      if (step.call === undefined || step.module_name !== undefined || step.run !== undefined) continue;
      const report = (pointer: string, code: string, message: string, part: 'key' | 'value' = 'value') => {
        issues.push({
          file: sequence.file,
          ...sequence.source.locate(pointer, part),
          severity: 'error',
          code,
          message,
        });
        invalid.add(sequence.name);
        told.add(step);
      };
      const at = `${step.pointer}/call`;
      const what = `step ${step.index} (${step.name}) calls`;
      if (!names.includes(step.call)) {
        report(
          at,
          'unknown-sequence',
          `${what} unknown sequence "${step.call}"${didYouMean(step.call, names)}: there is no etl_sequences/${step.call}.json, .yaml or .yml`,
        );
        continue;
      }
      const cycle = callPath(calls, step.call, sequence.name);
      if (cycle) {
        report(
          at,
          'call-cycle',
          cycle.length === 1
            ? `${what} its own sequence: a run would start runs without end`
            : `${what} "${step.call}", which comes back here (${[sequence.name, ...cycle].join(' → ')}): a run would start runs without end`,
        );
        continue;
      }
      const called = valid.get(step.call);
      if (called) for (const problem of paramProblems(step, called)) report(...problem);
    }
  }
  issues.push(...invalidCallees(sequences, invalid, told));
  for (const sequence of sequences) issues.push(...parallelCalls(sequence, valid));
  return issues;
}

/**
 * In a graph, two steps that call one sequence and may run at once (neither needs the other,
 * and max_parallel lets both start): that sequence runs one run at a time, and with its
 * concurrency `skip` (the default) the second call's run does not start, which fails its step.
 */
function parallelCalls(sequence: SequenceDef, valid: Map<string, SequenceDef>): Issue[] {
  if (!isGraph(sequence) || sequence.max_parallel === 1) return [];
  const calling = sequence.steps.flatMap((step, position) => (step.call === undefined ? [] : [{ step, position }]));
  if (calling.length < 2) return [];
  const needs = neededPositions(sequence.steps);
  const waits = new Map(calling.map(({ position }) => [position, waitsFor(needs, position)]));
  const issues: Issue[] = [];
  for (const [i, later] of calling.entries()) {
    const called = valid.get(later.step.call!);
    if (!called || (called.concurrency ?? 'skip') !== 'skip') continue;
    const together = calling
      .slice(0, i)
      .find(
        (earlier) =>
          earlier.step.call === later.step.call &&
          !waits.get(later.position)!.has(earlier.position) &&
          !waits.get(earlier.position)!.has(later.position),
      );
    if (!together) continue;
    issues.push({
      file: sequence.file,
      ...sequence.source.locate(`${later.step.pointer}/call`),
      severity: 'warning',
      code: 'parallel-calls',
      message: `steps ${together.step.index} (${together.step.name}) and ${later.step.index} (${later.step.name}) both call "${called.name}" and may run at once, but "${called.name}" runs one run at a time and skips another (concurrency skip): one of the steps would fail. Give "${called.name}" concurrency: queue, or make one step need the other`,
    });
  }
  return issues;
}

/** The sequences on the way from `from` to `to` by calls (`from` first, `to` last), if there is one. */
function callPath(calls: Map<string, string[]>, from: string, to: string): string[] | undefined {
  const cameFrom = new Map<string, string | undefined>([[from, undefined]]);
  const queue = [from];
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (name === to) {
      const path: string[] = [];
      for (let at: string | undefined = name; at !== undefined; at = cameFrom.get(at)) path.unshift(at);
      return path;
    }
    for (const next of calls.get(name) ?? [])
      if (!cameFrom.has(next)) {
        cameFrom.set(next, name);
        queue.push(next);
      }
  }
  return undefined;
}

/** A call step's params against the params the sequence it calls declares. */
function paramProblems(step: StepDef, called: SequenceDef): Array<[string, string, string, 'key' | 'value']> {
  const problems: Array<[string, string, string, 'key' | 'value']> = [];
  const declared = Object.keys(called.params);
  const given = step.call_params ?? {};
  for (const name of Object.keys(given))
    if (!declared.includes(name))
      problems.push([
        `${step.pointer}/params/${pointerSegment(name)}`,
        'unknown-param',
        `sequence "${called.name}" has no param "${name}"${didYouMean(name, declared)}; ${declared.length ? `its params are ${declared.join(', ')}` : 'it declares none'}`,
        'key',
      ]);
  for (const [name, param] of Object.entries(called.params))
    if (param.default === undefined && !(name in given))
      problems.push([
        `${step.pointer}/call`,
        'missing-param',
        `sequence "${called.name}" needs param "${name}" (it has no default): give it in this step's params`,
        'value',
      ]);
  return problems;
}

/**
 * The call steps whose sequence has errors (its own, or those of a sequence it calls): a
 * run of theirs could not start it. Said once per step, however deep the error is.
 */
function invalidCallees(sequences: SequenceDef[], invalid: Set<string>, told: Set<StepDef>): Issue[] {
  const issues: Issue[] = [];
  for (let grew = true; grew; ) {
    grew = false;
    for (const sequence of sequences)
      for (const step of allSteps(sequence)) {
        if (step.call === undefined || told.has(step) || !invalid.has(step.call)) continue;
        told.add(step);
        if (!invalid.has(sequence.name)) grew = true;
        invalid.add(sequence.name);
        issues.push({
          file: sequence.file,
          ...sequence.source.locate(`${step.pointer}/call`),
          severity: 'error',
          code: 'invalid-call',
          message: `step ${step.index} (${step.name}) calls sequence "${step.call}", which has errors: fix them first (etl validate ${step.call})`,
        });
      }
  }
  return issues;
}
