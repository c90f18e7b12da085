import { failedStep } from '../runner/labels.js';
import { userInfo } from 'node:os';
import { join, relative } from 'node:path';
import { parseDuration } from '../definitions/duration.js';
import { EtlError, exitCodeFor, ExitCode } from '../errors.js';
import {
  actionsView,
  appendSummary,
  inActions,
  maskCommands,
  runSummary,
  warningLine,
  writeOutputs,
} from '../github/actions.js';
import { openGitHub } from '../github/client.js';
import { triggerFrom } from '../github/env.js';
import { notifyRunOutcome } from '../github/notify.js';
import { runSequence, type RunOutcome } from '../ledger/run-sequence.js';
import { readLogTail, readStep } from '../ledger/step-log.js';
import { findStep, isSelected, maskPlan, planRun, secretValues, secretWarnings } from '../runner/plan.js';
import type { RunRecord } from '../runner/records.js';
import type { Command, CommandContext } from './command.js';
import { ledgerRoot } from '../ledger/ledger-branch.js';
import { withWorktreeAt } from '../git/worktree.js';
import { loadValidated } from './load.js';
import { formatPlan } from './plan.js';
import { progressView, summaryLine } from './progress.js';
import { readVersion } from './version.js';

export const command: Command = {
  usage: `Usage: etl run SEQUENCE [--from STEP] [--only STEP] [--dry-run] [--json] [--verbose]
               [--commit] [--commit-progress] [--push [--remote R] [--branch B]] [--at COMMIT]

Validates SEQUENCE and the modules it uses, then runs its steps in order, recording the run
in runs/SEQUENCE/YYYY/MM/DD/RUN-ID/ (run.json, steps/, logs/). A step that fails stops the
sequence and runs its on_failure steps. One run of a sequence at a time: a second one exits 3.

Options:
  --from STEP    start at this step (a number from 1, or a step name); earlier ones are skipped
  --only STEP    run only this step
  --dry-run      show what would run, record nothing
  --json         print the final run record on stdout (progress goes to stderr)
  --verbose      show the modules' output as it arrives (a failed step's log tail is always shown)
  --strict       do not run when there are warnings (validation, or a declared secret that is
                 not set or too short to be masked)
  --log-limit N  bytes of output kept per step log (default 1048576): its first and last parts
  --kill-grace D how long a stopped module has between SIGTERM and SIGKILL (default 5s)
  --commit       commit the run's folder (and nothing else) when the run ends
  --commit-progress  also commit at the start and after each step, for runs others watch
  --push         push after committing (implies --commit); a rejection because the remote
                 moved is fetched, rebased and retried, never forced
  --remote R     the remote to push to (default origin)
  --branch B     the remote branch (default: the branch checked out; needed when detached)
  --at COMMIT    run the definitions of an older commit, from a temporary checkout of it;
                 the run is recorded in this repository's runs/
  --notify       on failure open (or comment on) a GitHub issue for the sequence, labelled
                 etl-failure; close it when the sequence succeeds again (GITHUB_TOKEN)
  --ledger-branch NAME  keep runs/ on its own branch (a worktree inside .git), so the
                 main branch's history holds only definition changes; remembered in
                 git config etl.ledgerBranch for every later command
  -C, --repo DIR

Exit status: 0 succeeded, 1 failed (or could not be recorded), 2 invalid definitions or
usage, 3 already running, 4 the run succeeded but committing or pushing it failed,
129 cancelled by SIGHUP, 130 by SIGINT, 143 by SIGTERM. A second signal SIGKILLs the
module's process group at once; the run is recorded either way.
`,
  options: {
    from: { type: 'string' },
    only: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    verbose: { type: 'boolean', short: 'v', default: false },
    'log-limit': { type: 'string' },
    'kill-grace': { type: 'string' },
    commit: { type: 'boolean', default: false },
    'commit-progress': { type: 'boolean', default: false },
    push: { type: 'boolean', default: false },
    remote: { type: 'string' },
    branch: { type: 'string' },
    at: { type: 'string' },
    'ledger-branch': { type: 'string' },
    notify: { type: 'boolean', default: false },
    strict: { type: 'boolean', default: false },
  },
  async run(values, positionals, context) {
    if (positionals.length !== 1) throw new EtlError('usage', `run takes one sequence name, got ${positionals.length}`);
    if (values.from !== undefined && values.only !== undefined)
      throw new EtlError('usage', '--from and --only cannot be used together');
    if ((values.remote !== undefined || values.branch !== undefined) && !values.push)
      throw new EtlError('usage', '--remote and --branch go with --push');
    const logLimit = values['log-limit'] === undefined ? undefined : Number(values['log-limit']);
    if (logLimit !== undefined && !(Number.isInteger(logLimit) && logLimit >= 1024)) {
      throw new EtlError(
        'usage',
        `--log-limit must be a whole number of bytes, at least 1024, got "${String(values['log-limit'])}"`,
      );
    }
    const graceMs = values['kill-grace'] === undefined ? undefined : parseDuration(String(values['kill-grace']));
    if (values['kill-grace'] !== undefined && graceMs === undefined)
      throw new EtlError(
        'usage',
        `--kill-grace takes a duration such as "5s" or "500ms", got "${String(values['kill-grace'])}"`,
      );
    const request: RunRequest = { values, sequence: positionals[0]!, logLimit, graceMs };
    const ledger = await ledgerRoot(context.repo, {
      branch: values['ledger-branch'] as string | undefined,
      env: context.env,
    });
    if (values.at === undefined) return runFrom(context, ledger, request);
    // The definitions come from a checkout of the older commit; the run is recorded here.
    // Modules run in the checkout: what they write there (relative outputs) is kept with it.
    return withWorktreeAt(
      context.repo,
      String(values.at),
      (dir, sha) => runFrom({ ...context, repo: dir }, ledger, request, sha),
      {
        env: context.env,
        onKept: (dir, written) =>
          context.stderr.write(
            `etl run: the run wrote ${written.length} file${written.length === 1 ? '' : 's'} into the checkout of ${String(values.at)}, kept in ${dir} (${written.slice(0, 5).join(', ')}${written.length > 5 ? ', …' : ''}); remove it with "git worktree remove --force ${dir}"\n`,
          ),
      },
    );
  },
};

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

interface RunRequest {
  values: Record<string, unknown>;
  sequence: string;
  logLimit?: number;
  graceMs?: number;
}

/** Validates the definitions in `context.repo`, runs the sequence and records it in `ledger`. */
async function runFrom(
  context: CommandContext,
  ledger: string,
  { values, sequence: name, logLimit, graceMs }: RunRequest,
  at?: string,
): Promise<number> {
  const json = Boolean(values.json);
  const out = json ? context.stderr : context.stdout;
  const paint = json ? context.paintErr : context.paint;
  const report = await loadValidated(context, [name]);
  if (report.errors > 0) return ExitCode.invalid;
  if (at) out.write(`definitions of commit ${at}, checked out in a temporary worktree\n`);
  const sequence = [...report.definitions.sequences.keys()][0]!;
  const plan = planRun(report.definitions, sequence, context.env);
  const warnings = secretWarnings(plan, context.env);
  for (const warning of warnings) context.stderr.write(warningLine(context.env, 'etl run', 'etl run', warning));
  // --strict: a warning (of validation or of the secrets) stops the run before it starts.
  if (values.strict && (warnings.length > 0 || report.warnings > 0)) {
    context.stderr.write('etl run: --strict: not running with warnings\n');
    return ExitCode.invalid;
  }
  const from = values.from === undefined ? undefined : findStep(plan, String(values.from));
  const only = values.only === undefined ? undefined : findStep(plan, String(values.only));
  if (values['dry-run']) {
    const shown = maskPlan(plan, context.env);
    if (json)
      context.stdout.write(
        `${JSON.stringify({ ...shown, selection: from !== undefined || only !== undefined ? { from: from ?? null, only: only ?? null } : null }, null, 2)}\n`,
      );
    else out.write(formatPlan(shown, paint, (step) => isSelected(step, { from, only })));
    out.write('\n(dry run: nothing was run or recorded)\n');
    return ExitCode.ok;
  }

  // SIGINT, SIGTERM and SIGHUP (a closed terminal) stop the running module (its whole
  // process group) and record the run as cancelled. A second signal ends the kill grace at
  // once (SIGKILL to the group); the run is still recorded before etl exits.
  const controller = new AbortController();
  const hurry = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stoppedBy) return hurry.abort();
    stoppedBy = signal;
    controller.abort();
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);

  const actions = inActions(context.env);
  if (actions) {
    // Masks first: nothing printed later may show a secret's value in the Actions log.
    out.write(maskCommands(secretValues(plan, context.env)));
  }
  const view = actions
    ? { ...actionsView(out), stop: () => undefined }
    : progressView({
        stream: out,
        live: Boolean(out.isTTY) && context.env.CI !== 'true',
        paint,
        verbose: Boolean(values.verbose),
      });
  let outcome: RunOutcome;
  try {
    outcome = await runSequence({
      definitions: report.definitions,
      sequence,
      ledger,
      commit:
        values.commit || values['commit-progress'] || values.push
          ? { progress: Boolean(values['commit-progress']), onWait: (message) => out.write(`${message}\n`) }
          : undefined,
      push: values.push
        ? {
            remote: values.remote as string | undefined,
            branch: values.branch as string | undefined,
            onWait: (message) => out.write(`${message}\n`),
            onRetry: (n, why) =>
              out.write(
                `push rejected, the remote moved on (${why.replace(/^\(|\)$/g, '')}): fetching, rebasing, trying again (${n})\n`,
              ),
          }
        : undefined,
      env: context.env,
      signal: controller.signal,
      hurry: hurry.signal,
      from,
      only,
      trigger: triggerFrom(context.env, localUser()),
      observer: view,
      logLimit,
      graceMs,
      runnerVersion: readVersion(),
    });
  } catch (error) {
    // Another run holds the lock: an answer, not an error.
    if (error instanceof EtlError && error.code === 'locked') {
      context.stderr.write(`etl run: ${error.message}\n`);
      return exitCodeFor(error);
    }
    throw error;
  } finally {
    view.stop();
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  }

  const { run, folder, scratch } = outcome;
  // Where the records are, as a path that exists from here (a ledger branch's worktree is
  // inside .git; a run from a subfolder is recorded at the repository's root).
  const shown = relative(context.cwd, join(ledger, folder)) || '.';
  if (actions) {
    appendSummary(context.env, runSummary(run, folder, ledger));
    writeOutputs(context.env, { 'run-id': run.id, status: run.status, 'record-path': `${folder}/run.json` });
  }
  if (run.status === 'failed' && !values.verbose && !actions)
    context.stderr.write(failureLogs(join(ledger, folder), shown, run));
  out.write(summaryLine(run, shown, paint));
  if (scratch) out.write(`scratch folder kept for inspection: ${scratch}\n`);
  // After a rebase onto the remote the commit that was pushed is not the one first made.
  if (outcome.push)
    out.write(
      `committed ${outcome.push.head.slice(0, 12)}, pushed to ${outcome.push.remote} ${outcome.push.branch}${outcome.push.attempts > 1 ? ` (after ${outcome.push.attempts} attempts)` : ''}\n`,
    );
  else if (outcome.commit) out.write(`committed ${outcome.commit.slice(0, 12)}\n`);
  if (outcome.ledgerError)
    context.stderr.write(
      `etl run: the run is recorded in ${shown}, but ${outcome.ledgerError.message} [${outcome.ledgerError.code}]\n`,
    );
  if (values.notify) await notify(context, ledger, outcome);
  if (json) context.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
  if (run.status === 'cancelled')
    return stoppedBy === 'SIGTERM'
      ? ExitCode.terminated
      : stoppedBy === 'SIGHUP'
        ? ExitCode.hangup
        : ExitCode.interrupted;
  if (run.status !== 'succeeded') return ExitCode.failed;
  // The run succeeded but committing or pushing it did not: that failure's own exit.
  return outcome.ledgerError ? exitCodeFor(outcome.ledgerError) : ExitCode.ok;
}

/** The last lines of the failed step's log: what a person needs to see first. */
function failureLogs(folder: string, shown: string, run: RunRecord, lines = 20): string {
  const failed = failedStep(run);
  if (!failed) return '';
  const record = readStep(folder, failed.record);
  if (!record) return '';
  if (record.log.path === null) return `(step ${failed.index} printed nothing)\n`;
  const tail = readLogTail(join(folder, record.log.path), lines);
  if (tail === undefined) return '';
  if (!tail) return `(step ${failed.index} printed nothing)\n`;
  return `--- last ${tail.split('\n').length} lines of ${failed.name}'s log (${join(shown, record.log.path)}) ---\n${tail}\n---\n`;
}

function localUser(): string | null {
  try {
    return userInfo().username;
  } catch {
    return null;
  }
}

/** Tells GitHub about the outcome; a failure to do so is a warning, not the run's failure. */
async function notify(context: CommandContext, ledger: string, { run, folder, commit }: RunOutcome): Promise<void> {
  try {
    const github = await openGitHub(context.repo, context.env);
    const result = await notifyRunOutcome(github, run, {
      ledger,
      folder,
      commit,
      runUrl: triggerFrom(context.env, null).ci?.url,
      serverUrl: context.env.GITHUB_SERVER_URL,
    });
    if (result.action !== 'none')
      context.stderr.write(`${result.action} issue #${result.issue} about ${run.sequence}\n`);
  } catch (error) {
    if (!(error instanceof EtlError)) throw error;
    context.stderr.write(
      warningLine(context.env, 'etl run', 'etl run --notify', `could not notify GitHub: ${error.message}`),
    );
  }
}
