// Values between steps: a step writes `key=value` lines to the file ETL_OUTPUTS names (the
// format of GITHUB_OUTPUT, as ETL_METRICS), and a later step uses them as
// ${steps.NAME.outputs.KEY} in its run, input, output, conf and env. A plan holds such a
// reference as a placeholder (a NUL byte can be in no definition value, so it is never
// mistaken for one); it is filled in when the step's turn comes, from what the step it
// names wrote.
import { OUTPUT_KEY_PATTERN } from '../definitions/template.js';
import { attemptFile, parseKeyValues, readKeyValueFile } from './metrics.js';
import type { PlannedStep } from './plan.js';
import type { Role } from './records.js';

const PLACEHOLDER = /\0steps\.([^.\0]+)\.outputs\.([^\0]+)\0/g;

/** Where an attempt of a step writes its outputs (in the run's scratch folder). */
export function outputsFile(scratch: string, role: Role, index: number, attempt: number): string {
  return attemptFile(scratch, 'outputs', role, index, attempt);
}

/**
 * The outputs an attempt wrote (none when it wrote no file), what was wrong with the file, and
 * why none of it was read (over its limit: the step fails).
 */
export function readOutputs(path: string): { values: Record<string, string>; problems: string[]; tooLarge?: string } {
  const file = readKeyValueFile(path, 'ETL_OUTPUTS');
  if (file === undefined) return { values: {}, problems: [] };
  if ('tooLarge' in file) return { values: {}, problems: [], tooLarge: file.tooLarge };
  return parseKeyValues(file.text, {
    variable: 'ETL_OUTPUTS',
    key: new RegExp(OUTPUT_KEY_PATTERN),
    what: 'an output name (letters, digits and _; a letter or _ first)',
  });
}

/** A value as people read it: the placeholders written back as templates. */
export function showPlaceholders(value: string): string {
  return value.includes('\0')
    ? value.replace(PLACEHOLDER, (_, step, key) => `\${steps.${step}.outputs.${key}}`)
    : value;
}

/** The steps whose outputs a planned step uses. */
export function referencedSteps(step: PlannedStep): string[] {
  return [...new Set(referencedOutputs(step).map((used) => used.step))];
}

/** Each output a planned step uses: the step that writes it and its key. */
export function referencedOutputs(step: PlannedStep): Array<{ step: string; key: string }> {
  return valuesOf(step).flatMap((value) =>
    [...value.matchAll(PLACEHOLDER)].map((match) => ({ step: match[1]!, key: match[2]! })),
  );
}

const valuesOf = (step: PlannedStep) =>
  [
    ...step.argv,
    step.input,
    step.output,
    step.config,
    ...Object.values(step.env),
    ...(step.condition?.argv ?? []),
  ].filter((value): value is string => value?.includes('\0') === true);

/**
 * The step with the outputs it uses filled in, or why it cannot start: a step it names wrote
 * no such output (or did not run).
 */
export function fillOutputs(
  step: PlannedStep,
  outputs: ReadonlyMap<string, Record<string, string>>,
): { step: PlannedStep } | { missing: string } {
  if (valuesOf(step).length === 0) return { step };
  let missing: string | undefined;
  const fill = (value: string) =>
    value.replace(PLACEHOLDER, (_, name: string, key: string) => {
      const written = outputs.get(name);
      const found = written?.[key];
      if (found === undefined)
        missing ??= written
          ? `\${steps.${name}.outputs.${key}}: step "${name}" wrote no output "${key}"${Object.keys(written).length ? ` (it wrote ${Object.keys(written).join(', ')})` : ''}`
          : `\${steps.${name}.outputs.${key}}: step "${name}" did not run, or wrote no outputs`;
      return found ?? '';
    });
  const maybe = (value: string | undefined) => (value === undefined ? undefined : fill(value));
  const filled: PlannedStep = {
    ...step,
    argv: step.argv.map(fill),
    input: maybe(step.input),
    output: maybe(step.output),
    config: maybe(step.config),
    env: Object.fromEntries(Object.entries(step.env).map(([key, value]) => [key, fill(value)])),
    ...(step.condition ? { condition: { ...step.condition, argv: step.condition.argv.map(fill) } } : {}),
  };
  return missing === undefined ? { step: filled } : { missing };
}
