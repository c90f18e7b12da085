import { relative, resolve } from 'node:path';
import { EtlError, ExitCode } from '../errors.js';
import { type InitResult, initRepository } from '../scaffold/init.js';
import { defineCommand } from './usage.js';

export const command = defineCommand({
  synopsis: ['etl init [DIR] [--package SPEC] [--python]'],
  description: `Makes DIR (default: --repo, else the current folder) a pipeline repository: modules.json, an
example sequence and module, runs/ for the ledger, .gitignore, package.json and the GitHub
Actions workflows; runs "git init" when DIR is not in a git repository yet. On an existing
repository it adds only what is missing and says what it changed: files are never
overwritten (with a modules.json of your own, no example is added), .gitignore and
package.json get the lines they lack, workflows get their generated regions updated.
--python adds modules/etl_module.py, for modules in Python: "import etl_module".`,
  options: {
    package: {
      type: 'string',
      value: 'SPEC',
      help: 'how package.json installs etl-ledger (an npm spec such as git+https://github.com/OWNER/etl-ledger.git); default: where this etl-ledger was installed from',
    },
    python: {
      type: 'boolean',
      help: 'also write modules/etl_module.py, the helpers for modules written in Python (standard library only)',
    },
  },
  async run(values, positionals, context) {
    if (positionals.length > 1) throw new EtlError('usage', `init takes at most one folder, got ${positionals.length}`);
    const target = positionals[0] === undefined ? context.repo : resolve(context.cwd, positionals[0]);
    const result = await initRepository(target, { packageSpec: values.package, python: values.python });
    const shown = relative(context.cwd, result.dir) || '.';
    const list = (title: string, files: string[]) =>
      files.length ? `${title}:\n${files.map((f) => `  ${f}\n`).join('')}` : '';
    context.stdout.write(
      `${result.created.length || result.changed.length ? 'Set up' : 'Nothing to change in'} the pipeline repository ${shown}${result.gitInitialised ? ' (and ran git init)' : ''}\n` +
        list('created', result.created) +
        list('changed', result.changed) +
        list('kept as they were', result.kept) +
        nextSteps(result, shown),
    );
    for (const warning of result.warnings) context.stderr.write(`etl init: warning: ${warning}\n`);
    return ExitCode.ok;
  },
});

/**
 * What to type next, in the order that works: etl-ledger is run from the repository's own
 * node_modules (`npx etl`), installed first if it is not there yet; `etl` alone is on PATH
 * only for those who installed it globally.
 */
function nextSteps(result: InitResult, shown: string): string {
  const steps = [
    ...(shown === '.' ? [] : [`cd ${/^[\w./-]+$/.test(shown) ? shown : `'${shown.replace(/'/g, "'\\''")}'`}`]),
    ...(result.installed
      ? []
      : [
          result.packageNamesEtl
            ? 'npm install        # installs etl-ledger from package.json, and writes package-lock.json for npm ci'
            : 'npm install --save-dev git+https://github.com/OWNER/etl-ledger.git   # OWNER: wherever etl-ledger lives',
        ]),
    'npx etl validate',
    result.created.includes('etl_sequences/hello.json')
      ? 'npx etl run hello   # the example; then edit modules.json and etl_sequences/'
      : 'npx etl list',
  ];
  return `\nNext:\n${steps.map((s) => `  ${s}\n`).join('')}`;
}
