import { EtlError, ExitCode } from '../errors.js';
import { originWeb } from '../github/remote.js';
import { LedgerCache } from '../ledger/read-cache.js';
import { LedgerStore } from '../ledger/store.js';
import { MAX_RUNS_PER_SEQUENCE } from '../ui/api.js';
import { cachedDefinitions } from '../ui/cached-definitions.js';
import { writeReport } from '../ui/report.js';
import { defineCommand } from './usage.js';
import { digitsValue } from './options.js';

export const command = defineCommand({
  synopsis: ['etl report --out DIR [--runs 50]'],
  description: `Writes the pages of "etl ui" as a static site in DIR (HTML, the API's answers as JSON files,
the assets), for GitHub Pages or any static server: every sequence, its newest runs (--runs
per sequence), each run with its step logs and its definitions read from git. No etl server
is needed, but a web server is: a browser does not let pages opened from disk (file://) read
their data (they say so, and how to serve them: python3 -m http.server -d DIR). Live updates
and actions are absent, and the pages say so. DIR is replaced whole; a folder that is not an
earlier report is refused.`,
  options: {
    out: { type: 'string', value: 'DIR', help: 'the folder to write (required)' },
    runs: { type: 'string', default: '50', value: 'N', help: 'runs per sequence, 1 to 10000 (default 50)' },
  },
  async run(values, positionals, context) {
    if (positionals.length > 0)
      throw new EtlError('usage', `report takes no arguments, got "${positionals.join(' ')}"`);
    if (values.out === undefined || values.out === '') throw new EtlError('usage', 'report needs --out DIR');
    const runs = digitsValue(values.runs) ?? 0;
    if (runs < 1 || runs > MAX_RUNS_PER_SEQUENCE)
      throw new EtlError(
        'usage',
        `--runs must be a number of runs (1 to ${MAX_RUNS_PER_SEQUENCE}), got "${values.runs}"`,
      );
    const now = new Date();
    const summary = await writeReport(
      {
        repo: context.repo,
        // Each run's lineage reads the runs before it: read once for the whole report.
        store: await LedgerStore.open(context.repo, { env: context.env, cache: new LedgerCache() }),
        remote: await originWeb(context.repo, context.env),
        definitions: cachedDefinitions(context.repo, context.env),
        now: () => now,
      },
      values.out,
      { runs, now },
    );
    context.stdout.write(
      `etl report: ${summary.sequences} sequences, ${summary.runs} runs, ${summary.pages} pages written to ${values.out}\n` +
        `etl report: serve the folder to read it (a browser refuses its data from file://), e.g. python3 -m http.server -d ${values.out}\n`,
    );
    return ExitCode.ok;
  },
});
