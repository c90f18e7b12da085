// What only the daemon knows, beside the ledger: what became of each tick, and how long it
// has been up.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Definitions } from '../definitions/model.js';
import type { DaemonEvent } from '../schedule/scheduler.js';

export const TICK_OUTCOMES = ['run', 'skipped', 'not_started'] as const;
export type TickOutcome = (typeof TICK_OUTCOMES)[number];

/**
 * What a daemon event says of its tick: a run (it has a run id, whatever its status), skipped
 * (still running, claimed elsewhere, the lock held, stopping), or not started (etl run refused
 * to start it: the definitions do not validate, or it could not be spawned).
 */
export function tickOutcome(event: DaemonEvent): TickOutcome | undefined {
  if (event.event === 'skip') return 'skipped';
  if (event.event !== 'end') return undefined;
  if (event.run_id) return 'run';
  return event.status === 'failed' ? 'not_started' : 'skipped';
}

export interface ScheduleMetrics {
  /** Told every event of the daemon. */
  event(event: DaemonEvent): void;
  /** Before a scrape: every scheduled sequence has its tick series, the up time is now's. */
  update(definitions: Definitions | undefined, now: Date): void;
}

export function scheduleMetrics(registry: Registry, startedAt: Date): ScheduleMetrics {
  const ticks = new Counter({
    name: 'etl_schedule_ticks_total',
    help: 'Ticks of etl schedule since it started, by sequence and outcome: run, skipped or not_started (etl run refused to start)',
    labelNames: ['sequence', 'outcome'],
    registers: [registry],
  });
  const uptime = new Gauge({
    name: 'etl_schedule_uptime_seconds',
    help: 'How long etl schedule has been running',
    registers: [registry],
  });
  return {
    event(event) {
      const outcome = tickOutcome(event);
      if (outcome && 'sequence' in event) ticks.inc({ sequence: event.sequence, outcome });
    },
    update(definitions, now) {
      for (const sequence of definitions?.sequences.values() ?? [])
        if (sequence.schedule !== undefined)
          for (const outcome of TICK_OUTCOMES) ticks.inc({ sequence: sequence.name, outcome }, 0);
      uptime.set((now.getTime() - startedAt.getTime()) / 1000);
    },
  };
}
