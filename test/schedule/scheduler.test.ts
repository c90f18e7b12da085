// The scheduler of `etl schedule`, driven by a clock of the test's own: firing times, overlap,
// parallelism, catch-up, reload and stopping, without waiting for wall-clock minutes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCron } from '../../src/definitions/cron.js';
import type { Definitions, SequenceDef } from '../../src/definitions/model.js';
import { type Clock, type DaemonEvent, type Launched, MAX_CATCH_UP, Scheduler } from '../../src/schedule/scheduler.js';
import { nextTick } from '../../src/schedule/next-tick.js';

class TestClock implements Clock {
  private timers: Array<{ at: number; fire: () => void; id: object }> = [];
  constructor(public time: number) {}
  now() {
    return this.time;
  }
  setTimeout(fire: () => void, ms: number) {
    const id = {};
    this.timers.push({ at: this.time + ms, fire, id });
    return id;
  }
  clearTimeout(id: unknown) {
    this.timers = this.timers.filter((t) => t.id !== id);
  }
  /** Moves time on to `target`, firing each timer at its time, in order. */
  async advanceTo(target: number | string) {
    const end = typeof target === 'string' ? Date.parse(target) : target;
    for (;;) {
      await settle();
      const next = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.time = Math.max(this.time, next.at);
      next.fire();
    }
    this.time = end;
    await settle();
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

function definitions(
  sequences: Record<string, { schedule?: string; timezone?: string; concurrency?: string }>,
): Definitions {
  return {
    repo: '/nowhere',
    modules: new Map(),
    sequences: new Map(
      Object.entries(sequences).map(([name, s]) => [
        name,
        {
          name,
          file: `etl_sequences/${name}.json`,
          env: {},
          secrets: [],
          steps: [],
          on_failure: [],
          ...s,
        } as unknown as SequenceDef,
      ]),
    ),
  };
}

/** A scheduler whose runs end when the test says (or at once, with `instant`). */
function harness(
  start: string,
  options: {
    maxParallel?: number;
    catchUp?: 'none' | 'last' | 'all';
    lastRun?: Record<string, string>;
    instant?: boolean;
    lead?: number;
  } = {},
) {
  const clock = new TestClock(Date.parse(start));
  const launches: Array<{
    sequence: string;
    tick: string;
    finish(status?: string): void;
    cancelled: boolean;
    early?: boolean;
    at: string;
  }> = [];
  const events: DaemonEvent[] = [];
  const scheduler = new Scheduler({
    clock,
    maxParallel: options.maxParallel,
    catchUp: options.catchUp,
    lead: options.lead,
    lastRunTick: (sequence) => (options.lastRun?.[sequence] ? Date.parse(options.lastRun[sequence]!) : undefined),
    log: (event) => events.push(event),
    launch(sequence, tick, early): Launched {
      let finish!: (status?: string) => void;
      const done = new Promise<{ status: string }>((resolve) => {
        finish = (status = 'succeeded') => resolve({ status });
      });
      const at = new Date(clock.now()).toISOString();
      const launch = { sequence, tick: tick.toISOString(), finish, cancelled: false, early, at };
      launches.push(launch);
      if (options.instant) finish();
      return {
        done,
        runId: Promise.resolve(`run-of-${sequence}`),
        cancel: () => {
          launch.cancelled = true;
          finish('cancelled');
        },
      };
    },
  });
  return { clock, launches, events, scheduler };
}

const ticksOf = (launches: Array<{ sequence: string; tick: string }>, sequence: string) =>
  launches.filter((l) => l.sequence === sequence).map((l) => l.tick);

test('fires at the ticks nextTick gives: midnight, month ends, 29 February, a DST gap and overlap, day-of-month OR day-of-week', async () => {
  const cases = [
    { schedule: '0 0 * * *', timezone: 'UTC', from: '2026-01-30T12:00:00Z', to: '2026-02-02T12:00:00Z' },
    { schedule: '59 23 28-31 * *', timezone: 'UTC', from: '2026-02-25T00:00:00Z', to: '2026-03-02T00:00:00Z' },
    // The scheduler wakes at least once a minute: each case spans days, not months.
    { schedule: '0 12 29 2 *', timezone: 'UTC', from: '2027-02-20T00:00:00Z', to: '2027-03-05T00:00:00Z' },
    { schedule: '0 12 29 2 *', timezone: 'UTC', from: '2028-02-20T00:00:00Z', to: '2028-03-05T00:00:00Z' },
    { schedule: '30 2 * * *', timezone: 'Europe/Madrid', from: '2026-03-27T00:00:00Z', to: '2026-03-31T00:00:00Z' },
    { schedule: '30 2 * * *', timezone: 'Europe/Madrid', from: '2026-10-23T00:00:00Z', to: '2026-10-27T00:00:00Z' },
    {
      schedule: '*/20 1-3 * * *',
      timezone: 'America/New_York',
      from: '2026-11-01T04:00:00Z',
      to: '2026-11-01T09:00:00Z',
    },
    { schedule: '0 0 1-7 * 1', timezone: 'UTC', from: '2026-06-01T00:30:00Z', to: '2026-06-30T00:00:00Z' },
  ];
  for (const c of cases) {
    const { clock, launches, scheduler } = harness(c.from, { instant: true });
    scheduler.load(definitions({ s: { schedule: c.schedule, timezone: c.timezone } }));
    await clock.advanceTo(c.to);
    const expected: string[] = [];
    const cron = parseCron(c.schedule).cron!;
    for (
      let at = nextTick(cron, new Date(c.from), c.timezone);
      at && at.getTime() <= Date.parse(c.to);
      at = nextTick(cron, at, c.timezone)
    )
      expected.push(at.toISOString());
    assert.deepEqual(ticksOf(launches, 's'), expected, `${c.schedule} in ${c.timezone}`);
  }
  // Written out, the cases a reader checks by eye.
  for (const [from, to, ticks] of [
    ['2027-02-25T00:00:00Z', '2027-03-02T00:00:00Z', []],
    ['2028-02-25T00:00:00Z', '2028-03-02T00:00:00Z', ['2028-02-29T12:00:00.000Z']],
  ] as const) {
    const feb = harness(from, { instant: true });
    feb.scheduler.load(definitions({ s: { schedule: '0 12 29 2 *' } }));
    await feb.clock.advanceTo(to);
    assert.deepEqual(ticksOf(feb.launches, 's'), ticks);
  }
  // 02:30 does not exist in Madrid on 29 March 2026: it runs at 03:30 CEST (01:30 UTC); on 25
  // October it happens twice: it runs once, the first time (00:30 UTC).
  const madrid = harness('2026-03-28T00:00:00Z', { instant: true });
  madrid.scheduler.load(definitions({ s: { schedule: '30 2 * * *', timezone: 'Europe/Madrid' } }));
  await madrid.clock.advanceTo('2026-03-30T00:00:00Z');
  assert.deepEqual(ticksOf(madrid.launches, 's'), ['2026-03-28T01:30:00.000Z', '2026-03-29T01:30:00.000Z']);
  const autumn = harness('2026-10-24T00:00:00Z', { instant: true });
  autumn.scheduler.load(definitions({ s: { schedule: '30 2 * * *', timezone: 'Europe/Madrid' } }));
  await autumn.clock.advanceTo('2026-10-26T00:00:00Z');
  assert.equal(
    ticksOf(autumn.launches, 's')
      .filter((t) => t.startsWith('2026-10-25'))
      .join(),
    '2026-10-25T00:30:00.000Z',
  );
  // The 1st to 7th, or Mondays: 1 June 2026 is a Monday, then the 2nd to 7th, then Mondays.
  const or = harness('2026-06-01T00:30:00Z', { instant: true });
  or.scheduler.load(definitions({ s: { schedule: '0 0 1-7 * 1' } }));
  await or.clock.advanceTo('2026-06-23T00:00:00Z');
  assert.deepEqual(
    ticksOf(or.launches, 's').map((t) => t.slice(8, 10)),
    ['02', '03', '04', '05', '06', '07', '08', '15', '22'],
  );
});

test('a tick that comes while its sequence runs is skipped, recorded, and the next one runs', async () => {
  const { clock, launches, events, scheduler } = harness('2026-12-01T10:01:00Z');
  scheduler.load(definitions({ s: { schedule: '*/5 * * * *' } }));
  await clock.advanceTo('2026-12-01T10:05:00Z');
  assert.equal(launches.length, 1);
  await clock.advanceTo('2026-12-01T10:10:00Z');
  assert.equal(launches.length, 1, 'never two runs of one sequence');
  assert.deepEqual(
    events.filter((e) => e.event === 'skip'),
    [{ event: 'skip', sequence: 's', tick: '2026-12-01T10:10:00.000Z', reason: 'still running from an earlier tick' }],
  );
  assert.deepEqual(scheduler.status.s!.ticks, [
    { tick: '2026-12-01T10:10:00.000Z', outcome: 'skipped: still running from an earlier tick' },
  ]);
  launches[0]!.finish('failed');
  await clock.advanceTo('2026-12-01T10:15:00Z');
  assert.deepEqual(ticksOf(launches, 's'), ['2026-12-01T10:05:00.000Z', '2026-12-01T10:15:00.000Z']);
  assert.equal(scheduler.status.s!.last?.status, 'failed');
  assert.equal(scheduler.status.s!.running?.tick, '2026-12-01T10:15:00.000Z');
  assert.equal(scheduler.status.s!.next, '2026-12-01T10:20:00.000Z');
});

test('concurrency queue: a tick while its sequence runs waits for it (one at most); cancel_previous cancels it first', async () => {
  const queued = harness('2026-12-01T10:01:00Z');
  queued.scheduler.load(definitions({ s: { schedule: '*/5 * * * *', concurrency: 'queue' } }));
  await queued.clock.advanceTo('2026-12-01T10:10:00Z');
  assert.equal(queued.launches.length, 1, 'the 10:10 tick waits');
  await queued.clock.advanceTo('2026-12-01T10:15:00Z');
  assert.deepEqual(
    queued.events.filter((e) => e.event === 'skip').map((e) => [e.tick, e.reason]),
    [['2026-12-01T10:15:00.000Z', 'a tick of it already waits for the run going on']],
  );
  queued.launches[0]!.finish();
  await queued.clock.advanceTo('2026-12-01T10:16:00Z');
  assert.deepEqual(ticksOf(queued.launches, 's'), ['2026-12-01T10:05:00.000Z', '2026-12-01T10:10:00.000Z']);

  const replacing = harness('2026-12-01T10:01:00Z');
  replacing.scheduler.load(definitions({ s: { schedule: '*/5 * * * *', concurrency: 'cancel_previous' } }));
  await replacing.clock.advanceTo('2026-12-01T10:10:00Z');
  assert.equal(replacing.launches[0]!.cancelled, true, 'the 10:05 run is cancelled by the 10:10 tick');
  await replacing.clock.advanceTo('2026-12-01T10:11:00Z');
  assert.deepEqual(ticksOf(replacing.launches, 's'), ['2026-12-01T10:05:00.000Z', '2026-12-01T10:10:00.000Z']);
  assert.deepEqual(
    replacing.events.filter((e) => e.event === 'skip'),
    [],
  );
});

test('at most --max-parallel runs at once; the others wait in the order of their ticks', async () => {
  const { clock, launches, scheduler } = harness('2026-12-01T09:00:00Z', { maxParallel: 2 });
  scheduler.load(
    definitions({
      c: { schedule: '0 10 * * *' },
      a: { schedule: '0 10 * * *' },
      b: { schedule: '0 10 * * *' },
      d: { schedule: '30 10 * * *' },
    }),
  );
  await clock.advanceTo('2026-12-01T10:00:00Z');
  assert.deepEqual(
    launches.map((l) => l.sequence),
    ['a', 'b'],
  );
  await clock.advanceTo('2026-12-01T10:30:00Z');
  assert.deepEqual(
    launches.map((l) => l.sequence),
    ['a', 'b'],
    'c (10:00) and d (10:30) wait',
  );
  launches[1]!.finish();
  await clock.advanceTo('2026-12-01T10:31:00Z');
  assert.deepEqual(
    launches.map((l) => l.sequence),
    ['a', 'b', 'c'],
  );
  launches[0]!.finish();
  await clock.advanceTo('2026-12-01T10:32:00Z');
  assert.deepEqual(
    launches.map((l) => `${l.sequence} ${l.tick.slice(11, 16)}`),
    ['a 10:00', 'b 10:00', 'c 10:00', 'd 10:30'],
  );
});

test('catch-up after downtime, judged from the last run in the ledger: none, last, or each missed tick up to a cap', async () => {
  const lastRun = { s: '2026-11-27T06:00:00Z', fresh: '2026-12-01T06:00:00Z' };
  const sequences = {
    s: { schedule: '0 6 * * *' },
    fresh: { schedule: '0 6 * * *' },
    never: { schedule: '0 6 * * *' },
  };
  const at = '2026-12-01T08:00:00Z';
  for (const [policy, expected] of [
    ['none', []],
    ['last', ['s 2026-12-01T06:00:00.000Z']],
    [
      'all',
      [
        's 2026-11-28T06:00:00.000Z',
        's 2026-11-29T06:00:00.000Z',
        's 2026-11-30T06:00:00.000Z',
        's 2026-12-01T06:00:00.000Z',
      ],
    ],
  ] as const) {
    const { launches, scheduler } = harness(at, { catchUp: policy, lastRun, instant: true });
    scheduler.load(definitions(sequences));
    scheduler.catchUp();
    await settle();
    await settle();
    assert.deepEqual(
      launches.map((l) => `${l.sequence} ${l.tick}`),
      expected,
      policy,
    );
  }
  // A long downtime: the last MAX_CATCH_UP ticks, in order, and a line that says so.
  const long = harness(at, { catchUp: 'all', lastRun: { s: '2026-10-01T06:00:00Z' }, instant: true });
  long.scheduler.load(definitions({ s: { schedule: '0 6 * * *' } }));
  long.scheduler.catchUp();
  for (let i = 0; i < MAX_CATCH_UP + 2; i++) await settle();
  assert.equal(long.launches.length, MAX_CATCH_UP);
  assert.equal(long.launches[0]!.tick, '2026-11-22T06:00:00.000Z');
  assert.equal(long.launches.at(-1)!.tick, '2026-12-01T06:00:00.000Z');
  assert.match(
    JSON.stringify(long.events.find((e) => e.event === 'skip')),
    /catch-up runs the last 10 missed ticks only/,
  );
});

test('a reload takes new schedules, drops removed ones, and keeps the old schedule of a sequence whose edit does not validate', async () => {
  const { clock, launches, scheduler } = harness('2026-12-01T09:00:00Z', { instant: true });
  scheduler.load(
    definitions({ a: { schedule: '0 10 * * *' }, b: { schedule: '0 11 * * *' }, c: { schedule: '0 12 * * *' } }),
  );
  const invalid = new Map([
    ['b', 'etl_sequences/b.json:3:15: "timezone" must be an IANA time zone, got "Mars/Olympus"'],
  ]);
  scheduler.load(definitions({ a: { schedule: '30 9 * * *' } }), invalid);
  assert.equal(scheduler.status.a!.next, '2026-12-01T09:30:00.000Z');
  assert.equal(scheduler.status.b!.error, invalid.get('b'));
  assert.equal(scheduler.status.b!.next, '2026-12-01T11:00:00.000Z');
  assert.equal(scheduler.status.c, undefined);
  await clock.advanceTo('2026-12-01T13:00:00Z');
  assert.deepEqual(
    launches.map((l) => `${l.sequence} ${l.tick.slice(11, 16)}`),
    ['a 09:30', 'b 11:00'],
  );
  // Fixed: the error goes, the schedule is the new one.
  scheduler.load(definitions({ a: { schedule: '30 9 * * *' }, b: { schedule: '15 14 * * *' } }));
  assert.equal(scheduler.status.b!.error, null);
  assert.equal(scheduler.status.b!.next, '2026-12-01T14:15:00.000Z');
});

test('stopping lets a run end within the grace period, and cancels one past it', async () => {
  const { clock, launches, scheduler } = harness('2026-12-01T09:59:00Z');
  scheduler.load(definitions({ a: { schedule: '0 10 * * *' }, b: { schedule: '0 10 * * *' } }));
  await clock.advanceTo('2026-12-01T10:00:00Z');
  const stopped = scheduler.stop(30_000);
  await clock.advanceTo('2026-12-01T10:00:10Z');
  launches[0]!.finish();
  await clock.advanceTo('2026-12-01T10:00:31Z');
  await stopped;
  assert.deepEqual(
    launches.map((l) => [l.sequence, l.cancelled]),
    [
      ['a', false],
      ['b', true],
    ],
  );
  assert.equal(scheduler.status.b!.last?.status, 'cancelled');
  await clock.advanceTo('2026-12-02T11:00:00Z');
  assert.equal(launches.length, 2, 'nothing fires once stopped');
});

test('with a lead, idle sequences start their run early (it waits for its tick), as room allows; a busy one is judged at its tick; stopping cancels a run still waiting', async () => {
  const { clock, launches, events, scheduler } = harness('2026-12-01T09:59:00Z', { lead: 5000, maxParallel: 2 });
  scheduler.load(
    definitions({
      a: { schedule: '0 10 * * *' },
      b: { schedule: '0 10 * * *' },
      c: { schedule: '0 10 * * *' },
      s: { schedule: '*/5 * * * *' },
    }),
  );
  await clock.advanceTo('2026-12-01T09:59:54Z');
  assert.equal(launches.length, 0);
  await clock.advanceTo('2026-12-01T09:59:55Z');
  // a and b take both places, early; c and s wait for their tick.
  assert.deepEqual(
    launches.map((l) => [l.sequence, l.tick, l.early, l.at]),
    [
      ['a', '2026-12-01T10:00:00.000Z', true, '2026-12-01T09:59:55.000Z'],
      ['b', '2026-12-01T10:00:00.000Z', true, '2026-12-01T09:59:55.000Z'],
    ],
  );
  await clock.advanceTo('2026-12-01T10:00:00Z');
  // The tick itself: logged for each, no second run of a or b, c and s queued.
  assert.deepEqual(
    events.filter((e) => e.event === 'tick').map((e) => e.event === 'tick' && e.sequence),
    ['a', 'b', 'c', 's'],
  );
  assert.equal(launches.length, 2);
  launches[0]!.finish();
  launches[1]!.finish();
  await clock.advanceTo('2026-12-01T10:00:01Z');
  assert.deepEqual(
    launches.slice(2).map((l) => [l.sequence, l.early]),
    [
      ['c', false],
      ['s', false],
    ],
  );
  // s still runs 5 s before its next tick: no early start, and at the tick it is skipped.
  launches[2]!.finish();
  await clock.advanceTo('2026-12-01T10:05:00Z');
  assert.equal(launches.length, 4);
  assert.deepEqual(events.at(-1), {
    event: 'skip',
    sequence: 's',
    tick: '2026-12-01T10:05:00.000Z',
    reason: 'still running from an earlier tick',
  });
  launches[3]!.finish();
  await clock.advanceTo('2026-12-01T10:09:56Z');
  assert.deepEqual(
    [launches[4]!.sequence, launches[4]!.tick, launches[4]!.early],
    ['s', '2026-12-01T10:10:00.000Z', true],
  );
  // Stopping before its tick: the waiting run is cancelled at once, whatever the grace.
  const stopped = scheduler.stop(3_600_000);
  await clock.advanceTo('2026-12-01T10:09:57Z');
  await stopped;
  assert.equal(launches[4]!.cancelled, true);
});

test('ticks that come within the grace are recorded as not run, and why; a running tick names its run; an early run that ends before its timer fires has its tick line first', async () => {
  const { clock, launches, events, scheduler } = harness('2026-12-01T10:00:30Z');
  scheduler.load(definitions({ s: { schedule: '* * * * *' } }));
  await clock.advanceTo('2026-12-01T10:01:00Z');
  assert.deepEqual(scheduler.status.s!.running, { tick: '2026-12-01T10:01:00.000Z', run_id: 'run-of-s' });
  const stopped = scheduler.stop(5 * 60_000);
  await clock.advanceTo('2026-12-01T10:03:30Z');
  launches[0]!.finish();
  await stopped;
  const stopping = 'came while the scheduler was stopping (within its grace): not run';
  assert.deepEqual(
    events.filter((e) => e.event === 'skip'),
    [
      { event: 'skip', sequence: 's', tick: '2026-12-01T10:02:00.000Z', reason: stopping },
      { event: 'skip', sequence: 's', tick: '2026-12-01T10:03:00.000Z', reason: stopping },
    ],
  );
  assert.deepEqual(
    scheduler.status.s!.ticks.map((t) => t.outcome),
    ['succeeded', `skipped: ${stopping}`, `skipped: ${stopping}`],
  );

  // A run started early that is over before the daemon's timer fires at its tick.
  const early = harness('2026-12-01T09:59:00Z', { lead: 5000, instant: true });
  early.scheduler.load(definitions({ a: { schedule: '0 10 * * *' } }));
  await early.clock.advanceTo('2026-12-01T10:00:00Z');
  assert.deepEqual(
    early.events.filter((e) => e.event !== 'reload').map((e) => e.event),
    ['start', 'tick', 'end'],
  );
  assert.equal(early.launches.length, 1);
});
