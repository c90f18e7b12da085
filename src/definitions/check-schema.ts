import { createRequire } from 'node:module';
import type { Issue } from '../errors.js';
import { DURATION_PATTERN, ENV_NAME_PATTERN, FLAG_PATTERN } from './patterns.js';
import { type ParsedSource, pointerSegment } from './source.js';
import { didYouMean } from './suggest.js';

interface AjvError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
  schema?: unknown;
  parentSchema?: { properties?: Record<string, unknown>; type?: unknown };
  data?: unknown;
}
type Validator = ((data: unknown) => boolean) & { errors?: AjvError[] | null };
export type ValidatorName = 'modulesFile' | 'stepList' | 'sequenceObject';

// Generated at build time from schemas/*.json (src/build/build-validators.ts).
const validators = createRequire(import.meta.url)('./validators.cjs') as Record<ValidatorName, Validator>;

/** An issue with the JSON pointer of the value it is about. */
export type SchemaIssue = Issue & { pointer: string };

/** Checks `data` against one of the committed schemas; every problem becomes a located issue. */
export function checkSchema(name: ValidatorName, data: unknown, source: ParsedSource, file: string): SchemaIssue[] {
  const validate = validators[name];
  if (validate(data)) return [];
  return explain(validate.errors ?? []).map(({ pointer, part, code, message }) => ({
    file,
    ...source.locate(pointer, part),
    severity: 'error',
    code,
    message,
    pointer,
  }));
}

interface Explained {
  pointer: string;
  part: 'key' | 'value';
  code: string;
  message: string;
}

/**
 * Turns ajv's raw errors into one message per problem. A union ("a duration or null",
 * "a step or a list of steps") makes ajv report a failure for every branch; the branch
 * whose type matched says what is really wrong, so type errors are kept only where no
 * branch got further.
 */
function explain(errors: AjvError[]): Explained[] {
  const deeper = (path: string) =>
    errors.some(
      (e) =>
        e.keyword !== 'type' &&
        e.keyword !== 'anyOf' &&
        (e.instancePath === path || e.instancePath.startsWith(`${path}/`)),
    );
  const out: Explained[] = [];
  const typeErrors = new Map<string, { expected: Set<string>; data: unknown }>();

  for (const error of errors) {
    const path = error.instancePath;
    const field = lastSegment(path);
    switch (error.keyword) {
      case 'anyOf':
      case 'oneOf':
        break;
      case 'type': {
        if (deeper(path)) break;
        const entry = typeErrors.get(path) ?? { expected: new Set<string>(), data: error.data };
        for (const t of [error.params.type].flat()) entry.expected.add(String(t));
        typeErrors.set(path, entry);
        break;
      }
      case 'additionalProperties': {
        const key = String(error.params.additionalProperty);
        const known = Object.keys(error.parentSchema?.properties ?? {}).filter((k) => k !== '$schema');
        out.push({
          pointer: `${path}/${pointerSegment(key)}`,
          part: 'key',
          code: 'unknown-key',
          message: `unknown key "${key}"${didYouMean(key, known)}${known.length ? `; expected one of: ${known.join(', ')}` : ''}`,
        });
        break;
      }
      case 'required':
        out.push({
          pointer: path,
          part: 'value',
          code: 'missing-key',
          message: `missing required key "${String(error.params.missingProperty)}"${where(path)}`,
        });
        break;
      case 'minLength':
        out.push({ pointer: path, part: 'value', code: 'empty-value', message: `"${field}" must not be empty` });
        break;
      case 'minimum':
      case 'maximum':
        out.push({
          pointer: path,
          part: 'value',
          code: 'invalid-value',
          message: `${describePath(path)} must be an integer ${error.keyword === 'minimum' ? '≥' : '≤'} ${String(error.params.limit)}, got ${show(error.data)}`,
        });
        break;
      case 'const':
      case 'enum':
        out.push(...explainAllowed(error, errors));
        break;
      case 'pattern':
        out.push(explainPattern(error, path, field));
        break;
      case 'propertyNames':
        break; // reported through the pattern error on the name itself
      default:
        out.push({
          pointer: path,
          part: 'value',
          code: 'invalid-value',
          message: `"${field}" ${error.message ?? 'is invalid'}`,
        });
    }
  }
  for (const [path, { expected, data }] of typeErrors) {
    const what = [...expected].map(article).join(' or ');
    out.push({
      pointer: path,
      part: 'value',
      code: 'wrong-type',
      message: `${describePath(path)} must be ${what}, got ${describeType(data)}`,
    });
  }
  return dropMissingExplainedByTypo(out);
}

/** A value that is none of those allowed: each, and the types the union's other branches take. */
function explainAllowed(error: AjvError, errors: AjvError[]): Explained[] {
  const path = error.instancePath;
  // In a union ("failure" or a list of exit codes), a branch that went into the value (a list
  // with a bad item) is the one meant: its errors say what is wrong.
  if (errors.some((e) => e.instancePath.startsWith(`${path}/`))) return [];
  const allowed = error.keyword === 'const' ? [error.params.allowedValue] : [error.params.allowedValues].flat();
  const otherTypes = errors
    .filter((e) => e.keyword === 'type' && e.instancePath === path)
    .flatMap((e) => [e.params.type].flat().map((t) => article(String(t))));
  return [
    {
      pointer: path,
      part: 'value',
      code: 'invalid-value',
      message: `${describePath(path)} must be ${[...allowed.map(show), ...otherTypes].join(' or ')}, got ${show(error.data)}`,
    },
  ];
}

function explainPattern(error: AjvError, path: string, field: string): Explained {
  const value = error.data;
  // A pattern error on a property name (propertyNames) has the name as its data.
  const isName = error.schemaPath.includes('/propertyNames/');
  switch (error.params.pattern) {
    case DURATION_PATTERN:
      return {
        pointer: path,
        part: 'value',
        code: 'invalid-duration',
        message: `invalid duration ${show(value)} for "${field}": expected a number and a unit (ms, s, m, h, d), such as "90s", "30m", "2h" or "1h30m"`,
      };
    case ENV_NAME_PATTERN:
      return isName
        ? {
            pointer: `${path}/${String(value)}`,
            part: 'key',
            code: 'invalid-env-name',
            message: `invalid environment variable name ${show(value)}: expected letters, digits and "_", not starting with a digit`,
          }
        : {
            pointer: path,
            part: 'value',
            code: 'invalid-env-name',
            message: `invalid environment variable name ${show(value)}: expected letters, digits and "_", not starting with a digit`,
          };
    case FLAG_PATTERN:
      return {
        pointer: path,
        part: 'value',
        code: 'invalid-flag',
        message: `invalid flag ${show(value)} for "${field}": expected an option such as "--conf" or "-c"`,
      };
    default:
      return {
        pointer: path,
        part: 'value',
        code: 'invalid-value',
        message: `"${field}" must match ${String(error.params.pattern)}, got ${show(value)}`,
      };
  }
}

/** `modul_name` (did you mean "module_name"?) already says that module_name is missing. */
function dropMissingExplainedByTypo(found: Explained[]): Explained[] {
  return found.filter((issue) => {
    if (issue.code !== 'missing-key') return true;
    const missing = /"([^"]+)"/.exec(issue.message)?.[1];
    return !found.some(
      (other) =>
        other.code === 'unknown-key' &&
        other.pointer.startsWith(`${issue.pointer}/`) &&
        other.message.includes(`did you mean "${missing}"`),
    );
  });
}

/** "step 2", "on_failure step 1", "item 3 of \"secrets\"", "\"retries\"" or "the file". */
function describePath(path: string): string {
  if (path === '') return 'the file';
  const step = /^(?:\/steps)?\/(\d+)$/.exec(path);
  if (step) return `step ${Number(step[1]) + 1}`;
  const handler = /^\/(on_[a-z]+)\/(\d+)$/.exec(path);
  if (handler) return `${handler[1]} step ${Number(handler[2]) + 1}`;
  const item = /\/([^/]+)\/(\d+)$/.exec(path);
  if (item) return `item ${Number(item[2]) + 1} of "${item[1]}"`;
  return `"${lastSegment(path)}"`;
}

function lastSegment(path: string): string {
  return path
    .slice(path.lastIndexOf('/') + 1)
    .replace(/~1/g, '/')
    .replace(/~0/g, '~');
}

function where(path: string): string {
  const steps = /\/(steps|on_[a-z]+)\/(\d+)$/.exec(path) ?? /^\/(\d+)$/.exec(path);
  if (!steps) return '';
  const index = Number(steps[2] ?? steps[1]);
  return ` in ${steps[1]?.startsWith('on_') ? `${steps[1]} ` : ''}step ${index + 1}`;
}

function article(type: string): string {
  return (
    {
      string: 'a string',
      number: 'a number',
      integer: 'an integer',
      boolean: 'true or false',
      object: 'an object',
      array: 'an array',
      null: 'null',
    }[type] ?? type
  );
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' && Number.isInteger(value)) return `the number ${value}`;
  return `${article(typeof value)} (${show(value)})`;
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
