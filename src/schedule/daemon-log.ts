// The daemon's log: one line an event on its standard output, as text for a person or as a
// JSON object a line for a machine (--log-format json).
import type { DaemonEvent } from './scheduler.js';
import { statusWithReason } from './tick-log.js';

export type LogFormat = 'text' | 'json';

/** The line an event logs at `now`, with its newline. */
export function logLine(event: DaemonEvent, format: LogFormat, now: Date): string {
  const time = now.toISOString();
  return format === 'json' ? `${JSON.stringify({ time, ...event })}\n` : `${time} ${describe(event)}\n`;
}

function describe(event: DaemonEvent): string {
  switch (event.event) {
    case 'tick':
      return `tick   ${event.sequence} ${event.tick}${event.catch_up ? ' (missed: catching up)' : ''}`;
    case 'start':
      return `start  ${event.sequence} for ${event.tick}${event.early ? ' (waits for its tick)' : ''}`;
    case 'end':
      return `end    ${event.sequence} for ${event.tick}: ${event.run_id ? `${event.status} (run ${event.run_id})${event.error && event.error !== event.status ? `: ${event.error}` : ''}` : statusWithReason(event.status, event.error)}`;
    case 'skip':
      return `skip   ${event.sequence} ${event.tick}: ${event.reason}`;
    case 'reload':
      return `reload ${count(event.sequences, 'scheduled sequence')}${reloadErrors(event)}`;
    case 'warning':
      return `warn   ${event.sequence} ${event.tick}: ${event.message}`;
    case 'prune':
      return event.error
        ? `prune  retention of ${count(event.sequences, 'sequence')} not applied: ${event.error}`
        : `prune  retention of ${count(event.sequences, 'sequence')}: removed ${count(event.removed, 'run')}${event.kept ? `, kept ${event.kept} older still pointed at` : ''}${event.commit ? ` (commit ${event.commit.slice(0, 12)})` : ''}`;
    case 'stop':
      return `stop   ${count(event.running, 'run')} still going, ${event.grace_ms} ms to end`;
  }
}

/** "1 run", "2 runs", "0 runs". */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** What a reload could not take: edits whose old schedule is kept, and sequences never scheduled. */
function reloadErrors(event: Extract<DaemonEvent, { event: 'reload' }>): string {
  const { kept, not_scheduled: fresh } = event;
  return [
    kept.length ? `; kept the old schedule of ${count(kept.length, 'sequence')}: ${unique(kept)}` : '',
    fresh.length
      ? `; ${count(fresh.length, 'sequence')} not scheduled, as ${fresh.length === 1 ? 'it does' : 'they do'} not validate: ${unique(fresh)}`
      : '',
  ].join('');
}

/** The errors, each once (one mistake in modules.json leaves out every sequence using it). */
function unique(errors: string[]): string {
  const times = new Map<string, number>();
  for (const error of errors) times.set(error, (times.get(error) ?? 0) + 1);
  return [...times].map(([error, n]) => (n > 1 ? `${error} (${n} sequences)` : error)).join('; ');
}
