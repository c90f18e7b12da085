import { EtlError, ExitCode } from '../errors.js';
import { openGitHub } from '../github/client.js';
import { dispatchSequence } from '../github/dispatch.js';
import { defaultBranch } from '../git/git.js';
import { checkSequenceName } from '../ledger/layout.js';
import { planRun } from '../runner/plan.js';
import { loadValidated } from './load.js';
import { PARAM_OPTIONS, parseParams, parseTick } from './options.js';
import { defineCommand, describedAs } from './usage.js';

export const command = defineCommand({
  synopsis: ['etl dispatch SEQUENCE [--ref REF] [--param K=V]... [--tick TIME] [--input NAME=VALUE]... [--wait]'],
  description: `Starts the etl-dispatch.yml workflow on GitHub for SEQUENCE (the sequence is validated here
first) and, with --wait, follows the workflow run until it completes, exiting 0 if it
succeeded and 1 otherwise. Needs GITHUB_TOKEN with the "actions: write" permission;
GITHUB_API_URL for GitHub Enterprise; GITHUB_REPOSITORY=owner/repo, else the origin remote.`,
  options: {
    ref: {
      type: 'string',
      value: 'REF',
      help: "the branch or tag whose workflow runs (default: the remote's default branch)",
    },
    ...describedAs(
      PARAM_OPTIONS,
      `a value for the sequence's param K (repeatable; checked here, and sent in the workflow's "params" input, so no spaces in VALUE)`,
    ),
    tick: { type: 'string', value: 'TIME', help: 'the tick the run is for (ISO 8601), as etl run --tick' },
    input: {
      type: 'string',
      multiple: true,
      value: 'NAME=VALUE',
      help: 'another workflow input, e.g. dry_run=true',
    },
    wait: { type: 'boolean', default: false, help: 'follow the run until it completes' },
    'poll-ms': {
      type: 'string',
      value: 'MS',
      help: 'with --wait, how often to look at the run (default 5000)',
    },
  },
  async run(values, positionals, context) {
    if (positionals.length !== 1)
      throw new EtlError('usage', `dispatch takes one sequence name, got ${positionals.length}`);
    checkSequenceName(positionals[0]!);
    const inputs: Record<string, string> = {};
    for (const pair of values.input) {
      const at = pair.indexOf('=');
      if (at < 1) throw new EtlError('usage', `--input takes NAME=VALUE, got "${pair}"`);
      inputs[pair.slice(0, at)] = pair.slice(at + 1);
    }
    const pollMs = values['poll-ms'] === undefined ? undefined : Number(values['poll-ms']);
    if (pollMs !== undefined && !(Number.isInteger(pollMs) && pollMs > 0))
      throw new EtlError('usage', `--poll-ms takes a whole number of milliseconds above 0, got "${values['poll-ms']}"`);
    const params = parseParams(values.param);
    const tick = parseTick(values.tick);
    for (const [name, value] of Object.entries(params))
      if (/\s/.test(value) || value === '')
        throw new EtlError(
          'usage',
          `--param ${name}: the workflow's "params" input is NAME=VALUE pairs split at spaces, so a value cannot be empty or hold a space, got "${value}"`,
        );
    const report = await loadValidated(context, positionals);
    if (report.errors > 0) return ExitCode.invalid;
    // An unknown param, or a missing one, is said here rather than in a failed workflow run.
    try {
      planRun(report.definitions, positionals[0]!, context.env, { params, tick: tick ?? new Date() });
    } catch (error) {
      // The run checks its conf files in the checkout it runs in, not in this one.
      if (!(error instanceof EtlError && error.code === 'missing-conf')) throw error;
    }
    if (Object.keys(params).length > 0)
      inputs.params = Object.entries(params)
        .map(([name, value]) => `${name}=${value}`)
        .join(' ');
    if (tick) inputs.tick = tick.toISOString();
    const github = await openGitHub(context.repo, context.env);
    const ref = values.ref ?? (await defaultBranch(context.repo, context.env));
    const result = await dispatchSequence(github, {
      sequence: positionals[0]!,
      ref,
      inputs,
      wait: values.wait,
      pollMs,
      onDispatched: (url) =>
        context.stdout.write(`dispatched ${positionals[0]} on ${github.slug}@${ref}${url ? `: ${url}` : ''}\n`),
      onStatus: (status, url) => context.stdout.write(`workflow run ${status}${url ? `: ${url}` : ''}\n`),
    });
    if (!values.wait) return ExitCode.ok;
    context.stdout.write(`concluded: ${result.conclusion}\n`);
    return result.conclusion === 'success' ? ExitCode.ok : ExitCode.failed;
  },
});
