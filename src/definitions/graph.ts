// Steps as a graph: a sequence where any step has `needs` runs each step when the steps it
// needs are done, several at once. A step without `needs` needs the one before it (the
// seed's order), so a sequence without any `needs` runs exactly as a list.
import type { Severity } from '../errors.js';
import { HANDLER_WHEN, HANDLERS } from './handlers.js';
import type { SequenceDef, StepDef } from './model.js';
import { programName } from './words.js';
import { NAME_PATTERN } from './patterns.js';
import { didYouMean } from './suggest.js';

/** Whether the sequence's steps form a graph (any step has `needs`). */
export function isGraph(sequence: Pick<SequenceDef, 'steps'>): boolean {
  return sequence.steps.some((step) => step.needs !== undefined);
}

/**
 * What each step needs, as 0-based positions in `steps`: its `needs` looked up by name, or the
 * step before it when it has none. Names that do not resolve to one step are left out (the
 * lint reports them; a valid sequence has none).
 */
export function neededPositions(steps: StepDef[]): number[][] {
  const byName = stepsByName(steps);
  return steps.map((step, position) => {
    if (step.needs === undefined) return position === 0 ? [] : [position - 1];
    const found = step.needs.flatMap((name) => {
      const named = byName.get(name);
      return named?.length === 1 && named[0] !== position ? [named[0]!] : [];
    });
    return [...new Set(found)];
  });
}

function stepsByName(steps: StepDef[]): Map<string, number[]> {
  const byName = new Map<string, number[]>();
  steps.forEach((step, position) => {
    const list = byName.get(step.name);
    if (list) list.push(position);
    else byName.set(step.name, [position]);
  });
  return byName;
}

export interface GraphProblem {
  severity: Severity;
  code: string;
  pointer: string;
  message: string;
  part?: 'key' | 'value';
}

/** What is wrong with a sequence's graph: names, what the steps need, cycles. */
export function graphProblems(sequence: SequenceDef): GraphProblem[] {
  const problems: GraphProblem[] = [];
  for (const handler of HANDLERS)
    for (const step of sequence[handler])
      if (step.needs !== undefined)
        problems.push({
          severity: 'error',
          code: 'needs-in-handler',
          pointer: `${step.pointer}/needs`,
          message: `an ${handler} step cannot have needs: a handler runs its steps in order, ${HANDLER_WHEN[handler].replace(/:.*/, '')}`,
          part: 'key',
        });
  if (!isGraph(sequence)) return problems;
  problems.push(...nameProblems(sequence.steps), ...needsProblems(sequence.steps));
  // Cycles only among references that resolve: the others are reported above.
  const cycle = findCycle(neededPositions(sequence.steps));
  if (cycle) {
    const first = sequence.steps[cycle[0]!]!;
    const names = [...cycle, cycle[0]!].map((position) => sequence.steps[position]!.name);
    problems.push({
      severity: 'error',
      code: 'needs-cycle',
      pointer: first.needs === undefined ? first.pointer : `${first.pointer}/needs`,
      message: `the steps need each other in a cycle: ${names.join(' needs ')}; none of them could ever start${
        cycle.some((position) => sequence.steps[position]!.needs === undefined)
          ? ' (a step without needs needs the one before it)'
          : ''
      }`,
    });
  }
  return problems;
}

/** In a graph, a step's name is how others need it: a name, given once. */
function nameProblems(steps: StepDef[]): GraphProblem[] {
  const problems: GraphProblem[] = [];
  const named = new Map<string, StepDef>();
  for (const step of steps) {
    const explicit = hasOwnName(step);
    if (explicit && !new RegExp(NAME_PATTERN).test(step.name))
      problems.push({
        severity: 'error',
        code: 'invalid-step-name',
        pointer: `${step.pointer}/name`,
        message: `invalid step name "${step.name}" in a sequence with needs: use letters, digits, ".", "_" and "-", starting with a letter or digit`,
      });
    const other = named.get(step.name);
    if (explicit && other && hasOwnName(other))
      problems.push({
        severity: 'error',
        code: 'duplicate-step-name',
        pointer: `${step.pointer}/name`,
        message: `step ${step.index} is named "${step.name}", as step ${other.index} is: in a sequence with needs, each name is given once`,
      });
    if (!other) named.set(step.name, step);
  }
  return problems;
}

/** Whether a step has a name of its own (not its module's, its run's program's, nor the sequence it calls). */
export const hasOwnName = (step: StepDef) =>
  step.name !== step.module_name &&
  step.name !== step.call &&
  (step.run === undefined || step.name !== programName(step.run));

/** How a step came by its name: given, or its module's, its program's, the sequence it calls. */
const NAMED_BY = {
  name: ['its name', 'their name'],
  module: ['its module', 'their module'],
  program: ['its program', 'their program'],
  call: ['the sequence it calls', 'the sequence they call'],
} as const;

function namedBy(step: StepDef): keyof typeof NAMED_BY {
  if (hasOwnName(step)) return 'name';
  if (step.module_name !== undefined) return 'module';
  return step.run !== undefined ? 'program' : 'call';
}

/**
 * Steps that share a name, for messages: 'steps 1, 3 are both named "a"', or, where a name is
 * not given, how they came by it: 'steps 2, 4 are both called "load" (by their module)'.
 */
export function sharedName(steps: StepDef[], name: string): string {
  const numbers = `steps ${steps.map((step) => step.index).join(', ')} are ${steps.length === 2 ? 'both' : 'all'}`;
  const how = steps.map(namedBy);
  if (how.every((by) => by === 'name')) return `${numbers} named "${name}"`;
  const why = how.every((by) => by === how[0])
    ? `by ${NAMED_BY[how[0]!][1]}`
    : steps.map((step, i) => `step ${step.index} by ${NAMED_BY[how[i]!][0]}`).join(', ');
  return `${numbers} called "${name}" (${why})`;
}

function needsProblems(steps: StepDef[]): GraphProblem[] {
  const problems: GraphProblem[] = [];
  const byName = stepsByName(steps);
  for (const step of steps) {
    for (const [i, name] of (step.needs ?? []).entries()) {
      const pointer = `${step.pointer}/needs/${i}`;
      const found = byName.get(name);
      if (name === step.name)
        problems.push({ severity: 'error', code: 'needs-cycle', pointer, message: `step "${name}" needs itself` });
      else if (!found)
        problems.push({
          severity: 'error',
          code: 'unknown-need',
          pointer,
          message: `no step is named "${name}"${didYouMean(name, byName.keys())}; the steps are ${[...byName.keys()].join(', ')}`,
        });
      else if (found.length > 1)
        problems.push({
          severity: 'error',
          code: 'ambiguous-need',
          pointer,
          message: `${sharedName(
            found.map((p) => steps[p]!),
            name,
          )}: give them distinct names, and need one of those`,
        });
    }
  }
  return problems;
}

/**
 * A cycle among the steps, as positions in order (each needs the next, the last the first), or
 * undefined. Iterative: a chain of 10,000 steps does not exhaust the stack.
 */
export function findCycle(needs: number[][]): number[] | undefined {
  const state = new Uint8Array(needs.length); // 0 unseen, 1 on the path, 2 done
  for (let root = 0; root < needs.length; root++) {
    if (state[root] !== 0) continue;
    const path: number[] = [root];
    const next: number[] = [0];
    state[root] = 1;
    while (path.length > 0) {
      const node = path.at(-1)!;
      const i = next.at(-1)!;
      const edges = needs[node]!;
      if (i === edges.length) {
        state[node] = 2;
        path.pop();
        next.pop();
        continue;
      }
      next[next.length - 1] = i + 1;
      const target = edges[i]!;
      if (state[target] === 1) return path.slice(path.indexOf(target));
      if (state[target] === 0) {
        state[target] = 1;
        path.push(target);
        next.push(0);
      }
    }
  }
  return undefined;
}

/**
 * The steps by level, as positions: level 1 needs nothing, each later level needs something of
 * the one before it. The steps of a level may run together. Assumes no cycle.
 */
export function graphLevels(needs: number[][]): number[][] {
  const level = new Array<number>(needs.length).fill(-1);
  const dependents = needs.map(() => [] as number[]);
  const waiting = needs.map((list) => list.length);
  needs.forEach((list, position) => {
    for (const need of list) dependents[need]!.push(position);
  });
  const queue = needs.flatMap((list, position) => (list.length === 0 ? [position] : []));
  for (const position of queue) level[position] = 0;
  for (let head = 0; head < queue.length; head++) {
    const position = queue[head]!;
    for (const dependent of dependents[position]!) {
      level[dependent] = Math.max(level[dependent]!, level[position]! + 1);
      if (--waiting[dependent]! === 0) queue.push(dependent);
    }
  }
  const levels = Array.from({ length: level.reduce((a, b) => Math.max(a, b), 0) + 1 }, () => [] as number[]);
  level.forEach((at, position) => {
    if (at >= 0) levels[at]!.push(position);
  });
  return levels.filter((positions) => positions.length > 0);
}

/**
 * The steps that have run before `step` starts, whose outputs it may use: in a graph the steps
 * it needs, directly or not; in a list the steps before it; for a handler's step every step.
 * Worked out only for a step that uses a step's outputs (a long chain would cost its square).
 */
export function stepsBefore(sequence: SequenceDef, step: StepDef): StepDef[] {
  const values = [
    step.input,
    step.output,
    step.conf,
    step.condition,
    step.run,
    ...Object.values(step.env),
    ...Object.values(step.call_params ?? {}),
  ];
  if (!values.some((value) => value?.includes('${steps.'))) return [];
  const position = sequence.steps.indexOf(step);
  if (position === -1) return sequence.steps;
  if (!isGraph(sequence)) return sequence.steps.slice(0, position);
  const seen = waitsFor(neededPositions(sequence.steps), position);
  return [...seen].sort((a, b) => a - b).map((p) => sequence.steps[p]!);
}

/** The positions of every step the step at `position` waits for, directly or not (needs from neededPositions). */
export function waitsFor(needs: number[][], position: number): Set<number> {
  const seen = new Set<number>();
  const stack = [...(needs[position] ?? [])];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...(needs[next] ?? []));
  }
  return seen;
}
