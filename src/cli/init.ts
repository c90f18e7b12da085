import { relative } from 'node:path';
import { EtlError, ExitCode } from '../errors.js';
import { initRepository } from '../scaffold/init.js';
import type { Command } from './command.js';

export const command: Command = {
  usage: `Usage: etl init [DIR]

Creates a pipeline repository in DIR (default: the current directory): modules.json, an
example sequence and module, runs/ for the ledger, and a .gitignore; runs "git init" when DIR
is not in a git repository yet. Refuses to overwrite any existing file.

Options:
  -h, --help
`,
  options: {},
  async run(_values, positionals, context) {
    if (positionals.length > 1) throw new EtlError('usage', `init takes at most one folder, got ${positionals.length}`);
    const result = await initRepository(positionals[0] ?? context.cwd);
    const shown = relative(context.cwd, result.dir) || '.';
    context.stdout.write(
      `Created a pipeline repository in ${shown}${result.gitInitialised ? ' (and ran git init)' : ''}:\n${result.created.map((f) => `  ${f}\n`).join('')}` +
        `\nNext: etl validate${shown === '.' ? '' : ` --repo ${shown}`}, then edit modules.json and etl_sequences/.\n`,
    );
    return ExitCode.ok;
  },
};
