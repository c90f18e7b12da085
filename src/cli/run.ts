import { userInfo } from 'node:os';
import { parseDuration } from '../definitions/duration.js';
import type { Definitions } from '../definitions/model.js';
import { EtlError, ExitCode, exitCodeFor } from '../errors.js';
import { withWorktreeAt } from '../git/worktree.js';
import { actionsView, inActions, maskCommands, warningLine } from '../github/actions.js';
import { triggerFrom } from '../github/env.js';
import { ledgerRoot } from '../ledger/ledger-branch.js';
import {
  chainObservers,
  definitionsAsRead,
  type RunOutcome,
  type RunSequenceOptions,
  runSequence,
} from '../ledger/run-sequence.js';
import { LedgerStore } from '../ledger/store.js';
import { type OpenLineageTarget, openLineageTarget } from '../openlineage/config.js';
import { jobNamespace } from '../openlineage/namespace.js';
import type { ParentRun, Trigger } from '../runner/records.js';
import { LOCAL_TRIGGER_KINDS } from '../runner/statuses.js';
import { parentRunOf, withoutParentWrapper } from '../runner/call.js';
import type { RunObserver } from '../runner/engine.js';
import {
  allPlannedSteps,
  findStep,
  isSelected,
  maskPlan,
  type Plan,
  planRun,
  type RunValues,
  secretValues,
  secretWarnings,
} from '../runner/plan.js';
import type { CommandContext } from './command.js';
import { loadValidated } from './load.js';
import {
  GIT_RUN_OPTIONS,
  NOTIFY_OPTIONS,
  PARAM_OPTIONS,
  parseParams,
  parseTick,
  gitRunArgs,
  parseWebhooks,
  WEBHOOK_OPTIONS,
} from './options.js';
import { formatPlan } from './plan.js';
import { resumedValues, resumePoint } from '../ledger/earlier-runs.js';
import { progressView } from './progress.js';
import { type RunOutput, reportOutcome, runExitCode } from './run-report.js';
import { listenForStop } from './stop-signals.js';
import { readVersion } from './version.js';
import { defineCommand, type OptionTable, type OptionValues } from './usage.js';

/** etl run's options; `RunOptionValues` types the helpers below that read them. */
const RUN_OPTIONS = {
  ...PARAM_OPTIONS,
  tick: {
    type: 'string',
    value: 'TIME',
    help: 'the schedule tick this run is for (ISO 8601), as etl schedule passes it: recorded in run.json (trigger.tick); by hand, the trigger is still manual',
  },
  trigger: {
    type: 'string',
    value: 'KIND',
    help: 'what started the run, recorded as its trigger kind: manual (the default), or schedule, backfill, ui, which etl schedule, etl backfill and etl ui pass',
  },
  'no-lineage': {
    type: 'boolean',
    default: false,
    help: "do not hash the steps' local input, config and output (etl lineage then knows nothing of this run)",
  },
  'start-at': {
    type: 'string',
    value: 'TIME',
    help: 'get ready (validate, plan), then wait until TIME (at most a minute away) to start: etl schedule starts runs a little early this way',
  },
  from: {
    type: 'string',
    value: 'STEP',
    help: 'start at this step (a number from 1, or a step name); earlier ones are skipped',
  },
  only: { type: 'string', value: 'STEP', help: 'run only this step' },
  resume: {
    type: 'string',
    value: 'RUN',
    help: "pick up RUN (failed, cancelled or abandoned) at the step where it stopped, once the outputs its earlier steps wrote are checked to be as it recorded them (refused, naming the file, if not); run.json says resumed_from RUN. It runs with RUN's params and tick (--param, --tick: only the same values). RUN is what etl show takes (an id, a prefix, SEQUENCE@latest)",
  },
  'skip-unchanged': {
    type: 'boolean',
    default: false,
    help: 'skip each step given what its last successful run was given (module files and depends, cmd, flags, env, params, config and input content) whose output is still as that run wrote it, as skip_unchanged: true in the sequence does',
  },
  force: {
    type: 'boolean',
    default: false,
    help: 'run every step, whatever skip_unchanged says; resume even when an earlier output changed, or a run another machine left running',
  },
  'dry-run': { type: 'boolean', default: false, help: 'show what would run, record nothing' },
  json: {
    type: 'boolean',
    default: false,
    help: 'print the final run record on stdout (progress goes to stderr)',
  },
  verbose: {
    type: 'boolean',
    short: 'v',
    default: false,
    help: "show the modules' output as it arrives (a failed step's log tail is always shown)",
  },
  strict: {
    type: 'boolean',
    default: false,
    help: 'do not run when there are warnings (validation, or a declared secret that is not set or too short to be masked)',
  },
  'log-limit': {
    type: 'string',
    value: 'N',
    help: 'bytes of output kept per step log (default 1048576): its first and last parts',
  },
  'kill-grace': {
    type: 'string',
    value: 'D',
    help: 'how long a stopped module has between SIGTERM and SIGKILL (default 5s)',
  },
  commit: GIT_RUN_OPTIONS.commit,
  'commit-progress': {
    type: 'boolean',
    default: false,
    help: 'also commit at the start and after each step, for runs others watch',
  },
  push: GIT_RUN_OPTIONS.push,
  remote: GIT_RUN_OPTIONS.remote,
  branch: GIT_RUN_OPTIONS.branch,
  at: {
    type: 'string',
    value: 'COMMIT',
    help: "run the definitions of an older commit, from a temporary checkout of it; the run is recorded in this repository's runs/",
  },
  ...NOTIFY_OPTIONS,
  ...WEBHOOK_OPTIONS,
  'ledger-branch': {
    type: 'string',
    value: 'NAME',
    help: "keep runs/ on its own branch (a worktree inside .git), so the main branch's history holds only definition changes; remembered in git config etl.ledgerBranch for every later command",
  },
} as const satisfies OptionTable;

type RunOptionValues = OptionValues<typeof RUN_OPTIONS>;

export const command = defineCommand({
  synopsis: [
    'etl run SEQUENCE [--from STEP | --only STEP | --resume RUN] [--skip-unchanged] [--force] [--param K=V]... [--tick TIME] [--dry-run] [--json] [--verbose] [--commit] [--commit-progress] [--push [--remote R] [--branch B]] [--at COMMIT]',
  ],
  description: `Validates SEQUENCE and the modules it uses, then runs its steps in order, recording the run
in runs/SEQUENCE/YYYY/MM/DD/RUN-ID/ (run.json, steps/, logs/). A step that fails stops the
sequence and runs its on_failure steps. One run of a sequence at a time: a second one exits 3.`,
  options: RUN_OPTIONS,
  notes: `Exit status: 0 succeeded, 1 failed (or could not be recorded), 2 invalid definitions or
usage, 3 already running, 4 the run succeeded but committing or pushing it failed,
129 cancelled by SIGHUP, 130 by SIGINT, 143 by SIGTERM. A second signal SIGKILLs the
module's process group at once; the run is recorded either way.
With ETL_OPENLINEAGE_URL (and ETL_OPENLINEAGE_API_KEY) or ETL_OPENLINEAGE_FILE set, the run and
each step send OpenLineage events (START, COMPLETE, FAIL, ABORT); one that cannot be sent never
fails the run (README: OpenLineage).`,
  async run(values, positionals, given) {
    // Started by a step of another run (a call step): that run is its parent, and what the
    // module wrapper told that step is not passed on to this run's modules.
    const parentRun = parentRunOf(given.env);
    const context = parentRun ? { ...given, env: withoutParentWrapper(given.env) } : given;
    if (positionals.length !== 1) throw new EtlError('usage', `run takes one sequence name, got ${positionals.length}`);
    if ([values.from, values.only, values.resume].filter((v) => v !== undefined).length > 1)
      throw new EtlError('usage', '--from, --only and --resume cannot be used together');
    if (values['no-lineage'] && (values['skip-unchanged'] || values.resume !== undefined))
      throw new EtlError(
        'usage',
        `--no-lineage leaves out the hashes ${values.resume !== undefined ? '--resume' : '--skip-unchanged'} compares`,
      );
    if ((values.remote !== undefined || values.branch !== undefined) && !values.push)
      throw new EtlError('usage', '--remote and --branch go with --push');
    const logLimit = values['log-limit'] === undefined ? undefined : Number(values['log-limit']);
    if (logLimit !== undefined && !(Number.isInteger(logLimit) && logLimit >= 1024)) {
      throw new EtlError(
        'usage',
        `--log-limit must be a whole number of bytes, at least 1024, got "${values['log-limit']}"`,
      );
    }
    const graceMs = values['kill-grace'] === undefined ? undefined : parseDuration(values['kill-grace']);
    if (values['kill-grace'] !== undefined && graceMs === undefined)
      throw new EtlError(
        'usage',
        `--kill-grace takes a duration such as "5s" or "500ms", got "${values['kill-grace']}"`,
      );
    const tick = parseTick(values.tick);
    const request: RunRequest = {
      values,
      sequence: positionals[0]!,
      runValues: {
        params: parseParams(values.param),
        tick: tick ?? new Date(Math.floor(Date.now() / 1000) * 1000),
        callFlags: callFlags(values),
      },
      triggerKind: parseTriggerKind(values.trigger),
      logLimit,
      graceMs,
      webhooks: parseWebhooks(values),
      parentRun,
      openLineage: await openLineageOf(context),
    };
    const ledger = await ledgerRoot(context.repo, {
      branch: values['ledger-branch'],
      env: context.env,
    });
    if (values.at === undefined) return runFrom(context, ledger, request);
    // The definitions come from a checkout of the older commit; the run is recorded here.
    // Modules run in the checkout: what they write there (relative outputs) is kept with it.
    return withWorktreeAt(
      context.repo,
      values.at,
      (dir, sha) => runFrom({ ...context, repo: dir }, ledger, request, sha),
      {
        env: context.env,
        onKept: (dir, written) =>
          context.stderr.write(
            `etl run: the run wrote ${written.length} file${written.length === 1 ? '' : 's'} into the checkout of ${values.at}, kept in ${dir} (${written.slice(0, 5).join(', ')}${written.length > 5 ? ', …' : ''}); remove it with "git worktree remove --force ${dir}"\n`,
          ),
      },
    );
  },
});

/** What a call step's child run is told of how this one runs: where and how its records go. */
function callFlags(values: RunOptionValues): string[] {
  const given = (flag: keyof RunOptionValues & string) => {
    const value = values[flag];
    return value === undefined || value === false ? [] : value === true ? [`--${flag}`] : [`--${flag}`, String(value)];
  };
  return [
    ...gitRunArgs(values),
    ...(
      [
        'commit-progress',
        'ledger-branch',
        'trigger',
        'no-lineage',
        'skip-unchanged',
        'force',
        'log-limit',
        'kill-grace',
      ] as const
    ).flatMap(given),
  ];
}

interface RunRequest {
  values: RunOptionValues;
  sequence: string;
  logLimit?: number;
  graceMs?: number;
  webhooks: { urls: string[]; timeoutMs: number };
  runValues: RunValues;
  /** --trigger: what started the run (undefined: a person, or the GitHub event in Actions). */
  triggerKind?: string;
  parentRun?: ParentRun;
  /** Where the run's OpenLineage events go (ETL_OPENLINEAGE_URL, _FILE), and their jobs' namespace. */
  openLineage?: { target: OpenLineageTarget; namespace: string };
}

interface Prepared {
  definitions: Definitions;
  plan: Plan;
  /** The params and tick the plan was made with (a resumed run's own, with --resume). */
  values: RunValues;
  from?: number;
  only?: number;
  resumedFrom?: string;
  resumedDone?: number[];
  resumedOutputs?: Record<string, Record<string, string>>;
}

/** Validates the definitions in `context.repo`, runs the sequence and records it in `ledger`. */
async function runFrom(context: CommandContext, ledger: string, request: RunRequest, at?: string): Promise<number> {
  const { values } = request;
  const json = values.json;
  const force = values.force;
  const io: RunOutput = {
    out: json ? context.stderr : context.stdout,
    paint: json ? context.paintErr : context.paint,
    json,
    verbose: values.verbose,
    actions: inActions(context.env),
  };
  if (at) io.out.write(`definitions of commit ${at}, checked out in a temporary worktree\n`);
  const prepared = await prepare(context, request, ledger);
  if (typeof prepared === 'number') return prepared;
  const calling = allPlannedSteps(prepared.plan).find((step) => step.call);
  if (at && calling)
    throw new EtlError(
      'usage',
      `--at cannot run step ${calling.index} (${calling.name}): it calls sequence "${calling.call!.sequence}", whose run would take the definitions checked out here, not those of ${at}`,
    );
  if (values.resume !== undefined) {
    const point = await resumePoint(ledger, context.repo, prepared.plan, values.resume, force);
    for (const change of point.changed) io.out.write(`--force: resuming although ${change}\n`);
    io.out.write(
      point.done
        ? `resuming run ${point.run_id}: steps ${point.done.join(', ') || '(none)'} stand as it did them, the others run again\n`
        : `resuming run ${point.run_id} at step ${point.from} (${point.name})\n`,
    );
    prepared.from = point.from;
    prepared.resumedFrom = point.run_id;
    prepared.resumedDone = point.done;
    prepared.resumedOutputs = point.outputs;
  }
  if (values['dry-run']) return printDryRun(context, io, prepared);

  const stop = listenForStop();
  // --start-at: getting ready is done before the time comes (a stop meanwhile: no run).
  const startAt = parseStartAt(values['start-at']);
  // As read: an edit from here on, before the start time, stops the run (runSequence checks).
  const definitionsRead = startAt && definitionsAsRead(prepared.definitions, prepared.plan.sequence);
  if (startAt !== undefined) io.out.write(`ready; starting at ${startAt.toISOString()}\n`);
  const view = runView(context, io, prepared.plan);
  const lineage = await openLineageFor(request, prepared);
  let outcome: RunOutcome;
  try {
    outcome = await runSequence({
      ...prepared,
      ...gitOptions(values, io.out),
      sequence: prepared.plan.sequence,
      ledger,
      env: context.env,
      signal: stop.signal,
      onWaiting: (message) => io.out.write(`${message}\n`),
      hurry: stop.hurry,
      trigger: withTick(triggerFrom(context.env, localUser(), request.triggerKind), values.tick),
      values: prepared.values,
      parentRun: request.parentRun,
      startAt,
      definitionsRead,
      lineage: !values['no-lineage'],
      skipUnchanged: values['skip-unchanged'],
      force,
      observer: lineage ? chainObservers(view, lineage.observer) : view,
      logLimit: request.logLimit,
      graceMs: request.graceMs,
      runnerVersion: readVersion(),
    });
  } catch (error) {
    // Another run holds the lock: an answer, not an error.
    if (error instanceof EtlError && error.code === 'locked') {
      context.stderr.write(`etl run: ${error.message}\n`);
      return exitCodeFor(error);
    }
    if (error instanceof EtlError && error.code === 'not-started') {
      context.stderr.write(`etl run: ${error.message}\n`);
      return stop.signal.aborted ? stop.exitCode() : exitCodeFor(error); // else edited while it waited
    }
    throw error;
  } finally {
    view.stop();
    stop.dispose();
  }
  await reportOutcome(context, io, new LedgerStore(ledger), outcome, {
    github: values.notify,
    webhooks: { ...request.webhooks, secrets: secretValues(prepared.plan, context.env) },
  });
  // Said once, after the run: a lineage server that is down never fails or holds a run.
  for (const problem of (await lineage?.finish()) ?? [])
    context.stderr.write(warningLine(context.env, 'etl run', 'OpenLineage', problem));
  return runExitCode(outcome, stop.exitCode());
}

/** The run's OpenLineage events, when asked for: they name files from where the steps ran (a checkout with --at). */
async function openLineageFor({ openLineage }: RunRequest, prepared: Prepared) {
  if (!openLineage) return undefined;
  const { startOpenLineage } = await import('../openlineage/emit.js');
  return startOpenLineage(openLineage.target, { namespace: openLineage.namespace, root: prepared.definitions.repo });
}

/** ETL_OPENLINEAGE_URL or _FILE: where the events go (a bad URL stops the run before it starts), and the namespace. */
async function openLineageOf(context: CommandContext): Promise<RunRequest['openLineage']> {
  const target = openLineageTarget(context.env, context.cwd);
  return target && { target, namespace: await jobNamespace(context.repo, context.env) };
}

/** The plan, with --from/--only resolved; or an exit code when it must not run (errors, --strict). */
async function prepare(
  context: CommandContext,
  { values, sequence, runValues }: RunRequest,
  ledger: string,
): Promise<Prepared | number> {
  const report = await loadValidated(context, [sequence]);
  if (report.errors > 0) return ExitCode.invalid;
  const name = [...report.definitions.sequences.keys()][0]!;
  // --resume: the resumed run's params and tick, or its later steps would use other paths.
  const planValues =
    values.resume === undefined
      ? runValues
      : resumedValues(ledger, name, values.resume, report.definitions.sequences.get(name)!.params, {
          params: runValues.params,
          tick: values.tick === undefined ? undefined : runValues.tick,
        });
  const plan = planRun(report.definitions, name, context.env, planValues);
  const warnings = secretWarnings(plan, context.env);
  for (const warning of warnings) context.stderr.write(warningLine(context.env, 'etl run', 'etl run', warning));
  // --strict: a warning (of validation or of the secrets) stops the run before it starts.
  if (values.strict && (warnings.length > 0 || report.warnings > 0)) {
    context.stderr.write('etl run: --strict: not running with warnings\n');
    return ExitCode.invalid;
  }
  const from = values.from === undefined ? undefined : findStep(plan, values.from);
  const only = values.only === undefined ? undefined : findStep(plan, values.only);
  return { definitions: report.definitions, plan, values: planValues, from, only };
}

/** --dry-run: the plan as it would run (secrets masked), nothing run or recorded. */
function printDryRun(context: CommandContext, io: RunOutput, { plan, from, only }: Prepared): number {
  const shown = maskPlan(plan, context.env);
  if (io.json) {
    const selection = from !== undefined || only !== undefined ? { from: from ?? null, only: only ?? null } : null;
    context.stdout.write(`${JSON.stringify({ ...shown, selection }, null, 2)}\n`);
  } else {
    io.out.write(formatPlan(shown, io.paint, (step) => isSelected(step, { from, only })));
  }
  io.out.write('\n(dry run: nothing was run or recorded)\n');
  return ExitCode.ok;
}

/** How the run is shown while it goes: groups in GitHub Actions, a live view on a terminal, lines elsewhere. */
function runView(context: CommandContext, io: RunOutput, plan: Plan): Partial<RunObserver> & { stop(): void } {
  if (!io.actions) {
    const live = Boolean(io.out.isTTY) && context.env.CI !== 'true';
    return progressView({ stream: io.out, live, paint: io.paint, verbose: io.verbose });
  }
  // Masks first: nothing printed later may show a secret's value in the Actions log.
  io.out.write(maskCommands(secretValues(plan, context.env)));
  return { ...actionsView(io.out), stop: () => undefined };
}

/** --commit, --commit-progress, --push and their options, with progress lines for waits and retries. */
function gitOptions(values: RunOptionValues, out: NodeJS.WriteStream): Pick<RunSequenceOptions, 'commit' | 'push'> {
  const say = (message: string) => out.write(`${message}\n`);
  const inGit = values.commit || values['commit-progress'] || values.push;
  return {
    commit: inGit ? { progress: values['commit-progress'], onWait: say } : undefined,
    push: values.push
      ? {
          remote: values.remote,
          branch: values.branch,
          onWait: say,
          onRetry: (n, why) =>
            say(
              `push rejected, the remote moved on (${why.replace(/^\(|\)$/g, '')}): fetching, rebasing, trying again (${n})`,
            ),
        }
      : undefined,
  };
}

function localUser(): string | null {
  try {
    return userInfo().username;
  } catch {
    return null;
  }
}

/** --trigger: one of the kinds a run started here can have. */
function parseTriggerKind(kind: string | undefined): string | undefined {
  if (kind === undefined) return undefined;
  if (!(LOCAL_TRIGGER_KINDS as readonly string[]).includes(kind))
    throw new EtlError('usage', `--trigger must be one of ${LOCAL_TRIGGER_KINDS.join(', ')}, got "${kind}"`);
  return kind;
}

function withTick(trigger: Trigger, tick: string | undefined): Trigger {
  const at = parseTick(tick);
  return at ? { ...trigger, tick: at.toISOString() } : trigger;
}

/** --start-at TIME: an ISO 8601 time no more than a minute ahead (a past one starts at once). */
function parseStartAt(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const at = parseTick(value);
  if (at && at.getTime() - Date.now() > 60_000)
    throw new EtlError('usage', `--start-at is at most a minute ahead, got "${value}"`);
  return at;
}
