// The files `etl init` writes: a minimal pipeline that validates and runs as it is.
import { readFileSync } from 'node:fs';

export interface TemplateFile {
  path: string;
  content: string;
  executable?: boolean;
  /** Part of the example pipeline: left out when the repository has a modules.json of its own. */
  example?: boolean;
}

/** What .gitignore must hold (merged into an existing one line by line). */
export const GITIGNORE_LINES = [
  'node_modules/',
  "# what the example and the README's sequences write: outputs, and files between steps",
  'out/',
  'work/',
  "# a run lock is this machine's business, never history",
  'runs/**/.lock',
  'runs/**/.lock.*',
  '# temporary files of a record being written (left only by a crash)',
  'runs/**/.*.tmp',
];

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/**
 * The files, with `"$schema"` pointing into `schemas`: the folder of etl-ledger's schemas,
 * relative to the repository root (where `npm install` puts it, or where it already is).
 */
export const templateFiles = (schemas: string): TemplateFile[] => [
  {
    path: 'modules.json',
    content: json({
      $schema: `./${schemas}/modules.schema.json`,
      hello: {
        cmd: './modules/hello.sh',
        description: 'Writes a greeting to --output: replace it with a real module.',
        timeout: '1m',
      },
    }),
  },
  {
    path: 'etl_sequences/hello.json',
    example: true,
    content: json({
      $schema: `../${schemas}/sequence.schema.json`,
      description: 'An example sequence: one step that writes a file.',
      steps: [{ module_name: 'hello', output: 'out/hello.txt' }],
    }),
  },
  {
    path: 'modules/hello.sh',
    executable: true,
    example: true,
    content: `#!/bin/sh
# An etl-ledger module: COMMAND [--input PATH] [--output PATH] [--config PATH].
# Exit 0 lets the sequence go on; any other status stops it and runs on_failure.
set -eu
input= output= config=
while [ $# -gt 0 ]; do
  case "$1" in
    --input) input=$2; shift 2 ;;
    --output) output=$2; shift 2 ;;
    --config) config=$2; shift 2 ;;
    *) echo "hello.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
if [ -z "$output" ]; then
  echo "hello.sh: --output is required" >&2
  exit 1
fi
mkdir -p "$(dirname "$output")"
echo "hello from \${ETL_SEQUENCE:-etl-ledger}" > "$output"
echo "wrote $output"
`,
  },
  { path: 'runs/.gitkeep', content: '' },
];

/**
 * `etl init --python`: the Python helpers beside the modules, where `import etl_module` finds
 * them (Python puts a script's folder first on its path). Read from this package: the one copy
 * is python/etl_module.py, which pip installs too.
 */
export const pythonHelperFile = (): TemplateFile => ({
  path: 'modules/etl_module.py',
  content: readFileSync(new URL('../../../python/etl_module.py', import.meta.url), 'utf8'),
});
