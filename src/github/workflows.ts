// The GitHub Actions workflows of a pipeline repository. Each is a template with generated
// regions between "# etl-ledger:begin NAME" and "# etl-ledger:end NAME" markers: `etl
// workflows generate` rewrites only those regions in files that exist (so a team's own edits
// elsewhere stay), and writes whole files that do not.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { confGlob } from '../definitions/depends.js';
import { escapeGlob, isNegated } from '../definitions/glob.js';
import type { Definitions } from '../definitions/model.js';
import { type SequenceFile, validSequenceFiles } from '../definitions/sequence-files.js';

export const WORKFLOWS_DIR = '.github/workflows';

export interface WorkflowOptions {
  /** How a job runs the CLI: "npx etl" in a pipeline repository. */
  etl: string;
  /** The branch pushes to which trigger runs. */
  branch: string;
  /** The ledger branch (git config etl.ledgerBranch), carried into CI as ETL_LEDGER_BRANCH. */
  ledgerBranch?: string;
  /** Opted in (etl workflows generate --pages): etl-pages.yml publishes `etl report` to GitHub Pages. */
  pages?: boolean;
}

export const PAGES_WORKFLOW = 'etl-pages.yml';

/**
 * The jobs run on the current Node LTS, whichever it is when they run (etl-ledger supports
 * Node 20 and later; Node 20 itself reached its end of life in April 2026).
 */
export const NODE_VERSION = "'lts/*'";

const SETUP = `      - uses: actions/checkout@v5
        with:
          fetch-depth: 0
      - uses: actions/setup-node@v5
        with:
          node-version: ${NODE_VERSION}
      - run: npm ci`;

/** The Node setup as versions before NODE_VERSION wrote it (Node 20, at its end of life). */
const OLD_NODE_SETUP =
  /^( {6}- uses: actions\/setup-node@v5\n {8}with:\n {10}node-version: )20\n( {6}- run: npm ci\n)/gm;

/** The report is published: the checkout leaves no token in .git/config for anything to copy. */
const PAGES_SETUP = SETUP.replace(/^( +)fetch-depth: 0$/m, '$&\n$1persist-credentials: false');

/** Both run workflows end with the same job: one matrix entry per sequence, one run each. */
function runJob(etl: string, needs: string, output: string): string {
  return `  run:
    needs: ${needs}
    # An empty matrix is an error in GitHub Actions: skip the job instead.
    if: \${{ needs.${needs}.outputs.${output} != '[]' && needs.${needs}.outputs.${output} != '' }}
    runs-on: ubuntu-latest
    permissions:
      contents: write
      issues: write
    strategy:
      fail-fast: false
      max-parallel: 4
      matrix:
        sequence: \${{ fromJSON(needs.${needs}.outputs.${output}) }}
    # One run of a sequence at a time; a running one is never cancelled mid-commit.
    concurrency:
      group: etl-\${{ matrix.sequence }}
      cancel-in-progress: false
    steps:
${SETUP}
      - name: etl run
        env:
          SEQUENCE: \${{ matrix.sequence }}
          # For --notify: an issue per failing sequence, closed when it succeeds again.
          GITHUB_TOKEN: \${{ secrets.GITHUB_TOKEN }}
        run: ${etl} run "$SEQUENCE" --push --notify
`;
}

/** etl-dispatch.yml's run step: the inputs reach the shell as variables, never as code. */
function dispatchStep(etl: string): string {
  return `      - name: etl run
        env:
          SEQUENCE: \${{ inputs.sequence }}
          PARAMS: \${{ inputs.params }}
          TICK: \${{ inputs.tick }}
          DRY_RUN: \${{ inputs.dry_run }}
          GITHUB_TOKEN: \${{ secrets.GITHUB_TOKEN }}
        run: |
          set -f
          args=""
          for pair in $PARAMS; do args="$args --param=$pair"; done
          if [ -n "$TICK" ]; then args="$args --tick=$TICK"; fi
          if [ "$DRY_RUN" = "true" ]; then
            ${etl} run "$SEQUENCE" $args --dry-run
          else
            ${etl} run "$SEQUENCE" $args --push --notify
          fi
`;
}

const TICK_INPUT = `      tick:
        description: The tick the run is for (ISO 8601, such as 2026-11-30T06:00:00Z); empty for now
        type: string
        default: ''
`;

/** A YAML scalar in single quotes (a description may hold ": " or "#"). */
function yamlString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

function region(name: string, body: string, indent: string): string {
  return `${indent}# etl-ledger:begin ${name} (etl workflows generate)\n${body}${indent}# etl-ledger:end ${name}\n`;
}

/** The generated regions, from the definitions: schedules and the list of sequences. */
export function generatedRegions(
  definitions: Definitions,
  ledgerBranch?: string,
  etl = 'npx etl',
): Record<string, string> {
  const sequences = [...definitions.sequences.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  const schedules = new Map<string, { cron: string; timezone?: string }>();
  for (const s of sequences) {
    if (s.schedule === undefined) continue;
    const key = `${s.schedule}|${s.timezone ?? ''}`;
    schedules.set(key, { cron: s.schedule, timezone: s.timezone });
  }
  const triggers =
    definitions.github?.schedules === false
      ? '  # no cron triggers: the schedules run elsewhere ("$github": {"schedules": false} in modules.json)\n'
      : schedules.size
        ? `  schedule:\n${[...schedules.values()].map((c) => `    - cron: '${c.cron}'\n${c.timezone && c.timezone !== 'UTC' ? `      timezone: ${c.timezone}\n` : ''}`).join('')}`
        : '  # no sequence has a schedule yet\n';
  const choice = sequences.length
    ? `        type: choice\n        options:\n${sequences.map((s) => `          - ${s.name}\n`).join('')}`
    : '        type: string\n';
  // The files runs depend on: what a run pins is what a push must be able to trigger on.
  const watched = [
    ...new Set(sequences.flatMap((seq) => validSequenceFiles(definitions, seq.name).flatMap(pathFilter))),
  ]
    .filter((path) => !/^(etl_sequences|modules)\//.test(path) && path !== 'modules.json')
    .sort();
  const paths = ['etl_sequences/**', 'modules.json', 'modules/**', ...watched]
    .map((p) => `      - '${p.replace(/'/g, "''")}'\n`)
    .join('');
  // git config does not travel: a ledger branch set here reaches CI through the workflow's env.
  const ledger = ledgerBranch
    ? `env:\n  ETL_LEDGER_BRANCH: '${ledgerBranch}'\n`
    : '# runs are recorded on the branch checked out (etl run --ledger-branch changes that)\n';
  // The params of every sequence, told in the description of one free-form input.
  const declared = sequences
    .filter((seq) => Object.keys(seq.params).length > 0)
    .map(
      (seq) =>
        `${seq.name}: ${Object.entries(seq.params)
          .map(([key, p]) => `${key}${p.default === undefined ? ' (required)' : ` (default ${p.default})`}`)
          .join(', ')}`,
    );
  const params = `      params:\n        description: ${yamlString(`Run parameters, NAME=VALUE separated by spaces${declared.length ? `. ${declared.join('; ')}` : ' (no sequence declares any)'}`)}\n        type: string\n        default: ''\n`;
  return {
    dispatch: region('dispatch', dispatchStep(etl), '      '),
    params: region('params', `${params}${TICK_INPUT}`, '      '),
    schedules: region('schedules', triggers, '  '),
    sequences: region('sequences', choice, '        '),
    paths: region('paths', paths, '      '),
    ledger: region('ledger', ledger, ''),
  };
}

/**
 * A file a sequence depends on as entries of the push workflow's `paths`; none for the
 * definitions, which the fixed entries (etl_sequences/**, modules.json) cover.
 */
function pathFilter(file: SequenceFile): string[] {
  switch (file.kind) {
    case 'conf':
      return [confGlob(file.path)];
    case 'module-command':
    case 'module-argument':
    case 'run-command':
    case 'run-argument':
      return [escapeGlob(file.path)];
    case 'depends-glob':
      // GitHub's own dialect. A "!" pattern is left out: in one list for every module it would
      // also take back other modules' files (the filter may start the workflow for a file no
      // sequence needs, and `etl changed` then runs none).
      return isNegated(file.path) ? [] : [file.path.replace(/^(\.\/)+/, '')];
    case 'sequence-file':
    case 'modules-file':
      return [];
  }
}

/** Every workflow file, as `etl init` writes it. */
export function renderWorkflows(definitions: Definitions, options: WorkflowOptions): Record<string, string> {
  const { etl, branch } = options;
  const regions = generatedRegions(definitions, options.ledgerBranch, etl);
  return {
    'etl-validate.yml': `name: etl-validate
# Pull requests: annotations on the lines at fault, and what the change would run.
# No module runs here: only definitions are read (the pull request may come from a fork).
on:
  pull_request:
permissions:
  contents: read
  pull-requests: write
${regions.ledger}jobs:
  validate:
    runs-on: ubuntu-latest
    steps:
${SETUP}
      - name: etl validate
        run: ${etl} validate --format github
      - name: workflows up to date
        run: ${etl} workflows check
      - name: plan
        env:
          BASE: \${{ github.event.pull_request.base.sha }}
          PR: \${{ github.event.pull_request.number }}
          GITHUB_TOKEN: \${{ secrets.GITHUB_TOKEN }}
        # One comment on the pull request, updated on each push (a fork's read-only token
        # cannot comment: the plan is still in the job summary).
        run: ${etl} pr-plan --base "$BASE" --comment "$PR"
`,
    'etl-run.yml': `name: etl-run
# A push that changes definitions runs the sequences it changed. Ledger commits touch only
# runs/, so they never start this workflow again.
on:
  push:
    branches:
      - ${branch}
    paths:
${regions.paths}      - '!runs/**'
permissions:
  contents: read
${regions.ledger}jobs:
  changed:
    runs-on: ubuntu-latest
    outputs:
      sequences: \${{ steps.changed.outputs.sequences }}
    steps:
${SETUP}
      - id: changed
        env:
          BEFORE: \${{ github.event.before }}
        # "before" is all zeros on a branch's first push, and gone after a force push: then
        # every sequence runs.
        run: echo "sequences=$(${etl} changed --base "$BEFORE" --missing-base all --json)" >> "$GITHUB_OUTPUT"
${runJob(etl, 'changed', 'sequences')}`,
    'etl-schedule.yml': `name: etl-schedule
# The cron lines come from the sequences' "schedule" fields. GitHub delays and sometimes
# drops scheduled runs: "etl due" decides from the ledger what to run, catching up.
on:
${regions.schedules}  workflow_dispatch:
permissions:
  contents: read
${regions.ledger}jobs:
  due:
    runs-on: ubuntu-latest
    outputs:
      sequences: \${{ steps.due.outputs.sequences }}
    steps:
${SETUP}
      - id: due
        env:
          FIRED: \${{ github.event.schedule }}
        run: |
          if [ -n "$FIRED" ]; then
            echo "sequences=$(${etl} due --cron "$FIRED" --json)" >> "$GITHUB_OUTPUT"
          else
            echo "sequences=$(${etl} due --json)" >> "$GITHUB_OUTPUT"
          fi
${runJob(etl, 'due', 'sequences')}`,
    'etl-dispatch.yml': `name: etl-dispatch
# Run one sequence by hand, from the Actions tab or "etl dispatch".
on:
  workflow_dispatch:
    inputs:
      sequence:
        description: The sequence to run
        required: true
${regions.sequences}${regions.params}      dry_run:
        description: Only show what would run
        type: boolean
        default: false
permissions:
  contents: read
${regions.ledger}jobs:
  run:
    runs-on: ubuntu-latest
    permissions:
      contents: write
      issues: write
    concurrency:
      group: etl-\${{ inputs.sequence }}
      cancel-in-progress: false
    steps:
${SETUP}
${regions.dispatch}`,
    ...(options.pages ? { [PAGES_WORKFLOW]: pagesWorkflow(etl, regions.ledger!) } : {}),
  };
}

/**
 * The static report on GitHub Pages, made again after each run workflow (their ledger commits
 * are pushed with the workflow token, which starts no push workflow: workflow_run does).
 * Building reads only; deploying gets the two permissions Pages needs and nothing more.
 */
function pagesWorkflow(etl: string, ledger: string): string {
  return `name: etl-pages
# The ledger as a static site (etl report) on GitHub Pages. In the repository's settings,
# Pages > Build and deployment > Source must be "GitHub Actions".
on:
  workflow_run:
    workflows: [etl-run, etl-schedule, etl-dispatch]
    types: [completed]
  workflow_dispatch:
permissions:
  contents: read
# One deployment at a time; a newer report replaces one still being made.
concurrency:
  group: etl-pages
  cancel-in-progress: true
${ledger}jobs:
  build:
    runs-on: ubuntu-latest
    steps:
${PAGES_SETUP}
      - name: etl report
        run: ${etl} report --out _site
      - uses: actions/upload-pages-artifact@v4
        with:
          path: _site
  deploy:
    needs: build
    runs-on: ubuntu-latest
    permissions:
      pages: write
      id-token: write
    environment:
      name: github-pages
      url: \${{ steps.deployment.outputs.page_url }}
    steps:
      - id: deployment
        uses: actions/deploy-pages@v4
`;
}

const REGION = /^([ \t]*)# etl-ledger:begin (\S+)[^\n]*\n[\s\S]*?^\1# etl-ledger:end \2\n/gm;

/** A workflow file with its generated regions brought up to date; other lines are kept. */
export function updateRegions(text: string, regions: Record<string, string>): string {
  return migrate(text, regions).replace(REGION, (whole, _indent: string, name: string) => regions[name] ?? whole);
}

/** The path filter of etl-run.yml as versions before its "paths" region wrote it. */
const UNMARKED_PATHS = "      - 'etl_sequences/**'\n      - 'modules.json'\n      - 'modules/**'\n      - '!runs/**'\n";

/** The run step of etl-dispatch.yml as versions before its "dispatch" region wrote it. */
const UNMARKED_DISPATCH =
  /^ {6}- name: etl run\n {8}env:\n {10}SEQUENCE: \$\{\{ inputs\.sequence \}\}\n {10}DRY_RUN: [\s\S]*?\n {10}fi\n/m;

/** Files written before a region existed get it where its unmarked lines stand. */
function migrate(text: string, regions: Record<string, string>): string {
  let migrated = text;
  if (regions.paths && !migrated.includes('# etl-ledger:begin paths ') && migrated.includes(UNMARKED_PATHS)) {
    migrated = migrated.replace(UNMARKED_PATHS, `${regions.paths}      - '!runs/**'\n`);
  }
  // Every workflow gets the ledger region just above its jobs (etl workflows check in the
  // validate workflow must see the same setting as the runs).
  if (regions.ledger && !migrated.includes('# etl-ledger:begin ledger ')) {
    migrated = migrated.replace(/^jobs:$/m, `${regions.ledger}jobs:`);
  }
  // etl-dispatch.yml before run parameters: the inputs after the sequence, and its run step.
  if (regions.params && !migrated.includes('# etl-ledger:begin params ')) {
    migrated = migrated.replace(/^( {8}# etl-ledger:end sequences\n)( {6}dry_run:)/m, `$1${regions.params}$2`);
  }
  if (regions.dispatch && !migrated.includes('# etl-ledger:begin dispatch ')) {
    migrated = migrated.replace(UNMARKED_DISPATCH, regions.dispatch);
  }
  // The setup earlier versions wrote, exactly: Node 20 is past its end of life.
  return migrated.replace(OLD_NODE_SETUP, `$1${NODE_VERSION}\n$2`);
}

export interface WorkflowFileState {
  file: string;
  status: 'up to date' | 'stale' | 'missing' | 'updated' | 'created' | 'broken';
  /** A broken file: the generated regions that are not there whole (a marker removed by hand). */
  lost?: string[];
}

/** The names of the generated regions a text holds whole, from its begin marker to its end marker. */
function wholeRegions(text: string): Set<string> {
  return new Set([...text.matchAll(REGION)].map((match) => match[2]!));
}

/**
 * Compares (and with `write`, brings up to date) the workflow files of a repository: the
 * generated regions of the files that exist, the whole of those that do not.
 */
export function syncWorkflows(
  repo: string,
  definitions: Definitions,
  options: WorkflowOptions & { write: boolean },
): WorkflowFileState[] {
  const regions = generatedRegions(definitions, options.ledgerBranch, options.etl);
  const states: WorkflowFileState[] = [];
  for (const [name, template] of Object.entries(renderWorkflows(definitions, options))) {
    const file = `${WORKFLOWS_DIR}/${name}`;
    const path = join(repo, file);
    const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    const wanted = current === undefined ? template : updateRegions(current, regions);
    // A region whose marker was removed by hand would never be brought up to date again:
    // said, and the file left as it is, rather than reported up to date.
    const kept = wholeRegions(wanted);
    const lost = [...wholeRegions(template)].filter((region) => !kept.has(region));
    if (lost.length > 0) {
      states.push({ file, status: 'broken', lost });
      continue;
    }
    if (current === wanted) {
      states.push({ file, status: 'up to date' });
      continue;
    }
    if (options.write) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, wanted);
    }
    states.push({
      file,
      status: options.write
        ? current === undefined
          ? 'created'
          : 'updated'
        : current === undefined
          ? 'missing'
          : 'stale',
    });
  }
  return states;
}
