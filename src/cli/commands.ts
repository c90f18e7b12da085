// Every command of `etl`, imported lazily so that `etl validate` loads only what validation needs.
import type { Command } from './command.js';

export const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  validate: {
    summary: 'check sequences and modules.json, with located errors',
    load: async () => (await import('./validate.js')).command,
  },
  list: { summary: 'list the sequences with their schedules', load: async () => (await import('./list.js')).command },
  plan: {
    summary: 'show what a run would execute, without running it',
    load: async () => (await import('./plan.js')).command,
  },
  run: {
    summary: 'run a sequence, recording it in the runs/ ledger',
    load: async () => (await import('./run.js')).command,
  },
  history: {
    summary: 'list runs from the ledger, newest first',
    load: async () => (await import('./history.js')).command,
  },
  show: { summary: 'show one run with all its steps', load: async () => (await import('./show.js')).command },
  logs: { summary: "print (or follow) a run's logs", load: async () => (await import('./logs.js')).command },
  diff: {
    summary: 'two runs side by side: definitions, params, steps, durations, metrics, content',
    load: async () => (await import('./diff.js')).command,
  },
  metrics: {
    summary: "the metrics a sequence's steps wrote, run by run",
    load: async () => (await import('./metrics.js')).command,
  },
  lineage: {
    summary: 'the runs that wrote or read a file, and (--upstream) where its content came from',
    load: async () => (await import('./lineage.js')).command,
  },
  log: {
    summary: 'run history from the git log of the ledger commits',
    load: async () => (await import('./log.js')).command,
  },
  changed: {
    summary: 'the sequences whose runs would differ between two commits',
    load: async () => (await import('./changed.js')).command,
  },
  due: {
    summary: 'the scheduled sequences to run now (catching up dropped ticks)',
    load: async () => (await import('./due.js')).command,
  },
  'pr-plan': {
    summary: 'what a change would run, as Markdown (and a sticky pull request comment)',
    load: async () => (await import('./pr-plan.js')).command,
  },
  dispatch: {
    summary: 'start a sequence on GitHub Actions (and follow it)',
    load: async () => (await import('./dispatch.js')).command,
  },
  workflows: {
    summary: 'generate or check the GitHub Actions workflows',
    load: async () => (await import('./workflows.js')).command,
  },
  ledger: {
    summary: 'ledger sync: commit and push records not yet in git',
    load: async () => (await import('./ledger.js')).command,
  },
  ui: {
    summary: 'serve a live web view of the ledger (and its JSON API)',
    load: async () => (await import('./ui.js')).command,
  },
  schedule: {
    summary: 'run the scheduled sequences on this machine, until stopped',
    load: async () => (await import('./schedule.js')).command,
  },
  backfill: {
    summary: "run each tick of a sequence's schedule in a range of days",
    load: async () => (await import('./backfill.js')).command,
  },
  status: {
    summary: 'whether etl schedule runs, and what it runs next',
    load: async () => (await import('./status.js')).command,
  },
  report: {
    summary: 'write the web view as a static site (GitHub Pages)',
    load: async () => (await import('./report.js')).command,
  },
  init: { summary: 'create a new pipeline repository', load: async () => (await import('./init.js')).command },
};
