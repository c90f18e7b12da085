import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EtlError, ExitCode } from '../errors.js';
import { defaultBranch } from '../git/git.js';
import { PAGES_WORKFLOW, syncWorkflows, WORKFLOWS_DIR, type WorkflowOptions } from '../github/workflows.js';
import { configuredLedgerBranch } from '../ledger/ledger-branch.js';
import type { CommandContext } from './command.js';
import { loadValidated } from './load.js';
import { defineCommand } from './usage.js';

export const command = defineCommand({
  synopsis: ['etl workflows generate | check'],
  description: `The GitHub Actions workflows in .github/workflows/: etl-validate.yml (pull requests),
etl-run.yml (pushes that change definitions), etl-schedule.yml (the sequences' schedules),
etl-dispatch.yml (run one by hand), and, opted in, etl-pages.yml (etl report published to
GitHub Pages after each run). "generate" writes missing files and rewrites the generated
parts of existing ones (cron lines, the list of sequences) from the definitions; "check"
exits 1 when they are stale.`,
  options: {
    pages: { type: 'boolean', default: false, help: 'generate: add etl-pages.yml (kept up to date from then on)' },
  },
  async run(values, positionals, context) {
    const action = positionals[0];
    if (positionals.length !== 1 || (action !== 'generate' && action !== 'check')) {
      throw new EtlError(
        'usage',
        `the workflows command is "etl workflows generate" or "etl workflows check", got "${positionals.join(' ')}"`,
      );
    }
    const report = await loadValidated(context, [], { githubSchedules: true });
    if (report.errors > 0) return ExitCode.invalid;
    const states = syncWorkflows(context.repo, report.definitions, {
      ...(await workflowOptions(context, values.pages === true)),
      write: action === 'generate',
    });
    for (const { file, status, lost } of states)
      context.stdout.write(
        `${file}: ${status}${lost ? `: its generated ${lost.length === 1 ? 'region' : 'regions'} ${lost.map((r) => `"${r}"`).join(', ')} ${lost.length === 1 ? 'is' : 'are'} not there whole (a "# etl-ledger:begin" or "# etl-ledger:end" line was removed); put the markers back, or delete the file and run "etl workflows generate"` : ''}\n`,
      );
    if (states.some((s) => s.status === 'broken')) return ExitCode.failed;
    if (action === 'check' && states.some((s) => s.status !== 'up to date')) {
      context.stderr.write(
        'etl workflows: the workflows do not match the definitions; run "etl workflows generate" and commit the result\n',
      );
      return ExitCode.failed;
    }
    return ExitCode.ok;
  },
});

/** The CLI as a job runs it, and the branch whose pushes run sequences. */
export async function workflowOptions(context: CommandContext, pages = false): Promise<WorkflowOptions> {
  const pkg = join(context.repo, 'package.json');
  // The etl-ledger repository itself has no etl in node_modules/.bin: it runs its own build.
  const self = existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'etl-ledger';
  return {
    etl: self ? 'npm run --silent etl --' : 'npx etl',
    branch: await defaultBranch(context.repo, context.env),
    ledgerBranch: await configuredLedgerBranch(context.repo, context.env),
    // Opted in once (generate --pages), kept up to date from then on.
    pages: pages || existsSync(join(context.repo, WORKFLOWS_DIR, PAGES_WORKFLOW)),
  };
}
