import { stepPosition } from '../runner/labels.js';
import { join, relative, resolve } from 'node:path';
import { EtlError, ExitCode } from '../errors.js';
import type { LineageEntry, UpstreamNode } from '../ledger/lineage.js';
import { LedgerStore } from '../ledger/store.js';
import { runEvents } from '../openlineage/events.js';
import { jobNamespace } from '../openlineage/namespace.js';
import { describeArtifact, isExternal } from '../runner/lineage.js';
import { findRunOf, parseLimit } from './options.js';
import type { CommandContext } from './command.js';
import { formatTable, type Paint, tableTime } from './output.js';
import { defineCommand } from './usage.js';

export const command = defineCommand({
  synopsis: ['etl lineage PATH [--upstream] [--limit N] [--runs N] [--json]', 'etl lineage --openlineage RUN'],
  description: `The runs whose steps wrote or read PATH (a file or folder, as named from here), newest
first: the run, the step, whether it wrote, read or took it as config, the content's hash then,
the definitions' commit, and whether the file has that content still. Steps record this for
their local input, output and config (etl run --no-lineage leaves it out). With --openlineage,
the OpenLineage events of RUN (as etl show takes it), a line of JSON each, as etl run sends
them when ETL_OPENLINEAGE_URL or ETL_OPENLINEAGE_FILE is set.`,
  options: {
    upstream: {
      type: 'boolean',
      default: false,
      help: "where PATH's content (as it is now) came from: the step that wrote it, what it read, the steps (in that run or earlier ones) that wrote those, and so on",
    },
    limit: { type: 'string', default: '20', value: 'N', help: 'list at most N uses (default 20)' },
    runs: { type: 'string', default: '10000', value: 'N', help: 'look at the newest N runs (default 10000)' },
    json: { type: 'boolean', default: false, help: 'print the uses (or the upstream tree) as JSON' },
    openlineage: {
      type: 'boolean',
      default: false,
      help: "print the run's OpenLineage RunEvents (START, COMPLETE, FAIL, ABORT), in time order, a line of JSON each",
    },
  },
  async run(values, positionals, context) {
    if (values.openlineage) {
      if (values.upstream || values.json)
        throw new EtlError('usage', '--openlineage prints JSON lines of its own: without --upstream or --json');
      if (positionals.length !== 1)
        throw new EtlError('usage', `lineage --openlineage takes one run, got ${positionals.length}`);
      return printOpenLineage(positionals[0]!, context);
    }
    if (positionals.length !== 1) throw new EtlError('usage', `lineage takes one path, got ${positionals.length}`);
    const target = resolve(context.cwd, positionals[0]!);
    // Steps run in the repository's root: their paths are relative to it, or absolute.
    const inside = relative(context.repo, target) || '.';
    const shown = inside.startsWith('..') ? target : inside;
    const store = await LedgerStore.open(context.repo, { env: context.env });
    const query = { limit: parseLimit(values.limit), runs: parseLimit(values.runs, '--runs') };
    const now = await describeArtifact(shown, shown, context.repo);
    if (values.upstream) {
      // The content the file has now is the one traced (an edit by hand is a source of its own).
      const tree = store.upstream(context.repo, target, { ...query, sha256: now?.sha256 ?? null });
      if (values.json) context.stdout.write(`${JSON.stringify(tree, null, 2)}\n`);
      else context.stdout.write(`${formatTree(tree, context.paint).join('\n')}\n`);
      return tree.written_by ? ExitCode.ok : ExitCode.failed;
    }
    const uses = store.lineage(context.repo, target, query);
    const matches = (e: LineageEntry) =>
      e.artifact.sha256 === undefined || now?.sha256 === undefined ? null : e.artifact.sha256 === now.sha256;
    if (values.json) {
      context.stdout.write(
        `${JSON.stringify(
          uses.map((e) => ({ ...e, matches_now: matches(e) })),
          null,
          2,
        )}\n`,
      );
      return uses.length > 0 ? ExitCode.ok : ExitCode.failed;
    }
    const state =
      now?.kind === 'file' || now?.kind === 'folder'
        ? `now ${now.kind === 'folder' ? `a folder of ${now.files} files` : `${now.size} bytes`}, sha256 ${now.sha256?.slice(0, 12)}`
        : `now ${now?.kind ?? 'missing'}`;
    if (uses.length === 0) {
      context.stdout.write(`${shown} (${state}): no recorded step wrote or read it in the newest ${query.runs} runs\n`);
      return ExitCode.failed;
    }
    context.stdout.write(`${shown} (${state})\n`);
    context.stdout.write(
      formatTable(
        ['RUN', 'STARTED', 'STATUS', 'STEP', 'USE', 'SHA256', 'COMMIT', 'MATCHES NOW'],
        uses.map((e) => [
          e.run_id,
          tableTime(e.started_at),
          e.run_status,
          describeStep(e),
          e.use === 'config' ? 'config' : e.use,
          e.artifact.sha256?.slice(0, 12) ?? e.artifact.kind,
          e.commit?.slice(0, 7) ?? 'uncommitted',
          matches(e) === null ? '-' : matches(e) ? 'yes' : 'no',
        ]),
        context.paint,
      ),
    );
    return ExitCode.ok;
  },
});

/** A run's events from its records, as they were sent live (the same function builds both). */
async function printOpenLineage(run: string, context: CommandContext): Promise<number> {
  const store = await LedgerStore.open(context.repo, { env: context.env });
  const ref = findRunOf(context.repo, store, run);
  const record = store.requireRun(ref);
  const folder = join(ref.root, ref.folder);
  const steps = record.steps.flatMap((s) => store.readStep(folder, s.record) ?? []);
  const namespace = await jobNamespace(context.repo, context.env);
  for (const event of runEvents(record, steps, { namespace, root: context.repo }))
    context.stdout.write(`${JSON.stringify(event)}\n`);
  return ExitCode.ok;
}

const describeStep = (e: LineageEntry) => `${e.sequence} ${stepPosition(e.step)} ${e.step.name}`;

function formatTree(node: UpstreamNode, paint: Paint, prefix = '', last = true): string[] {
  const branch = prefix === '' && node.use === 'target' ? '' : last ? '└─ ' : '├─ ';
  const how = node.use === 'target' ? '' : `${node.use === 'config' ? 'config' : 'read'} `;
  const hash = node.sha256 ? ` ${paint('dim', `sha256 ${node.sha256.slice(0, 12)}`)}` : '';
  const origin = node.written_by
    ? `written by ${describeStep(node.written_by)} in run ${node.written_by.run_id} (commit ${node.written_by.commit?.slice(0, 7) ?? 'uncommitted'})`
    : isExternal(node.path)
      ? 'outside this machine: recorded as given'
      : 'no recorded step wrote this content there: a source';
  const lines = [`${prefix}${branch}${how}${node.path}${hash}: ${origin}`];
  const childPrefix = prefix + (branch === '' ? '' : last ? '   ' : '│  ');
  node.inputs.forEach((child, i) => {
    lines.push(...formatTree(child, paint, childPrefix, i === node.inputs.length - 1));
  });
  return lines;
}
