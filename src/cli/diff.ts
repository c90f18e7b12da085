import { stepPosition } from '../runner/labels.js';
import { join } from 'node:path';
import { formatDuration } from '../definitions/duration.js';
import { joinWords } from '../definitions/words.js';
import { EtlError, ExitCode } from '../errors.js';
import { LedgerStore } from '../ledger/store.js';
import { diffRuns, type LoadedRun, type RunSide, type StepDiff } from '../review/run-diff.js';
import type { CommandContext } from './command.js';
import { formatTable } from './output.js';
import { defineCommand } from './usage.js';
import { findRunOf } from './options.js';

export const command = defineCommand({
  synopsis: ['etl diff RUN_A RUN_B [--json]'],
  description: `Two runs side by side: the definitions each ran (a unified diff of each file that changed
between them, read from git at the blobs each run pinned), params and tick, and step by step
the status, the duration (with its change), the metrics that changed, whether the output's
content differs, and what the step was given (module, argv, the content of input and config,
input, output, config), naming the first step given something different. RUN is what etl
show takes: a run id or a unique prefix of one, SEQUENCE@latest, SEQUENCE@latest~1 (the one
before), SEQUENCE@last-failed.`,
  options: { json: { type: 'boolean', default: false, help: 'print the comparison as JSON' } },
  async run(values, positionals, context) {
    if (positionals.length !== 2) throw new EtlError('usage', `diff takes two runs, got ${positionals.length}`);
    const store = await LedgerStore.open(context.repo, { env: context.env });
    const [a, b] = positionals.map((spec) => load(context.repo, store, spec));
    const diff = diffRuns(context.repo, a!, b!, context.env);
    if (values.json) {
      context.stdout.write(`${JSON.stringify(diff, null, 2)}\n`);
      return ExitCode.ok;
    }
    const { paint } = context;
    const lines = [
      `${paint('bold', 'A')}  ${describe(diff.a)}`,
      `${paint('bold', 'B')}  ${describe(diff.b)}`,
      ...(diff.same_sequence ? [] : [paint('yellow', 'two different sequences: steps are matched by position')]),
      '',
    ];
    if (diff.definitions.length === 0) lines.push('definitions: the same files and contents');
    else {
      lines.push(`definitions: ${diff.definitions.length} file${diff.definitions.length === 1 ? '' : 's'} differ`);
      for (const change of diff.definitions) {
        if (change.patch === null)
          lines.push(`  ${change.path} ${change.change}: its content is not in git (a run of uncommitted definitions)`);
        else
          lines.push(
            ...change.patch
              .trimEnd()
              .split('\n')
              .map((line) => colourPatch(line, context)),
          );
      }
    }
    for (const [name, [x, y]] of Object.entries(diff.params))
      lines.push(`param ${name}: ${x ?? '(not set)'} -> ${y ?? '(not set)'}`);
    if (diff.a.tick !== diff.b.tick) lines.push(`tick: ${diff.a.tick ?? '-'} -> ${diff.b.tick ?? '-'}`);
    lines.push('');
    lines.push(
      formatTable(
        ['STEP', 'NAME', 'STATUS A -> B', 'DURATION A -> B', 'CHANGE', 'GIVEN DIFFERENTLY'],
        diff.steps.map((s) => [
          stepPosition(s),
          (s.b ?? s.a)!.name,
          `${s.a?.status ?? '-'} -> ${s.b?.status ?? '-'}`,
          `${duration(s.a?.duration_ms)} -> ${duration(s.b?.duration_ms)}`,
          s.duration_change_pct === null ? '' : `${s.duration_change_pct > 0 ? '+' : ''}${s.duration_change_pct}%`,
          s.given.join(', '),
        ]),
        paint,
      ).trimEnd(),
    );
    for (const s of diff.steps) {
      const changes = Object.entries(s.metrics).map(
        ([key, m]) =>
          `${key} ${m.a ?? '-'} -> ${m.b ?? '-'}${m.change_pct === null ? '' : ` (${m.change_pct > 0 ? '+' : ''}${m.change_pct}%)`}`,
      );
      const step = `step ${stepName({ ...s, name: (s.b ?? s.a)!.name })}`;
      if (changes.length > 0) lines.push(`${step} metrics: ${changes.join(', ')}`);
      if (s.module_files.length > 0) lines.push(`${step} module code: ${s.module_files.join(', ')}`);
      if (s.output_differs)
        lines.push(
          `${step} output ${s.b?.output ?? ''}: sha256 ${s.a?.output_sha256?.slice(0, 12)} -> ${s.b?.output_sha256?.slice(0, 12)}`,
        );
    }
    for (const s of diff.steps.filter((step) => step.given.includes('argv')))
      lines.push(
        `step ${s.index} argv:`,
        paint('red', `  - ${joinWords(s.a?.argv ?? [])}`),
        paint('green', `  + ${joinWords(s.b?.argv ?? [])}`),
      );
    lines.push(
      '',
      diff.first_difference
        ? `first step given something different: ${stepName(diff.first_difference)} (${diff.first_difference.given.join(', ')})`
        : 'every step was given the same',
    );
    context.stdout.write(`${lines.join('\n')}\n`);
    return ExitCode.ok;
  },
});

function load(repo: string, store: LedgerStore, spec: string): LoadedRun {
  const ref = findRunOf(repo, store, spec);
  const run = store.requireRun(ref);
  const steps = run.steps.map((s) => store.readStep(join(ref.root, ref.folder), s.record));
  // A step skipped as unchanged (or as done by a resumed run) stands for the run it points at.
  return { run, steps, stand_ins: steps.map((step) => (step?.skipped_as ? store.standIn(step) : undefined)) };
}

function describe(side: RunSide): string {
  return `run ${side.id}  ${side.sequence}  ${side.status}${side.duration_ms === null ? '' : ` in ${formatDuration(side.duration_ms)}`}, started ${side.started_at}, definitions of ${side.commit?.slice(0, 12) ?? '(not in git)'}`;
}

function duration(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '-' : formatDuration(ms);
}

function stepName(step: Pick<StepDiff, 'index' | 'role'> & { name: string }): string {
  return `${stepPosition(step)} (${step.name})`;
}

function colourPatch(line: string, context: CommandContext): string {
  const indented = `  ${line}`;
  if (line.startsWith('+') && !line.startsWith('+++')) return context.paint('green', indented);
  if (line.startsWith('-') && !line.startsWith('---')) return context.paint('red', indented);
  return indented;
}
