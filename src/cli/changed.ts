import { EtlError, ExitCode } from '../errors.js';
import { changedSequences } from '../review/changed.js';
import { defineCommand } from './usage.js';

export const command = defineCommand({
  synopsis: ['etl changed --base REF [--head REF] [--missing-base error|all] [--json]'],
  description: `Lists the sequences whose runs would differ between two commits: the sequence file changed,
an entry of modules.json that it uses changed, or a file of the repository that one of its
modules runs changed. A base of all zeros (a branch's first push) means every sequence.`,
  options: {
    base: { type: 'string', value: 'REF', help: 'the commit before (e.g. ${{ github.event.before }})' },
    head: { type: 'string', default: 'HEAD', value: 'REF', help: 'the commit after (default HEAD)' },
    'missing-base': {
      type: 'string',
      default: 'error',
      value: 'error|all',
      help: 'a base this clone does not have (a force push dropped it): an error (default), or every sequence counts as changed',
    },
    json: {
      type: 'boolean',
      default: false,
      help: 'print a one-line JSON array of sequence names (for a CI matrix)',
    },
  },
  async run(values, positionals, context) {
    if (positionals.length > 0) throw new EtlError('usage', 'changed takes no arguments, only --base and --head');
    if (values.base === undefined) throw new EtlError('usage', 'changed needs --base REF');
    const missingBase = values['missing-base'];
    if (missingBase !== 'error' && missingBase !== 'all')
      throw new EtlError('usage', `--missing-base must be "error" or "all", not "${missingBase}"`);
    const changed = await changedSequences(context.repo, values.base, {
      head: values.head,
      missingBase,
      env: context.env,
    });
    if (values.json) {
      context.stdout.write(`${JSON.stringify(changed.map((c) => c.name))}\n`);
    } else if (changed.length === 0) {
      context.stdout.write('no sequence changed\n');
    } else {
      for (const c of changed)
        context.stdout.write(`${context.paint('bold', c.name)}  ${context.paint('dim', c.reasons.join('; '))}\n`);
    }
    return ExitCode.ok;
  },
});
