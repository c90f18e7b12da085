// The overview's scheduler section: what `etl schedule` says of this repository.
import type { ScheduleAnswer } from '../api-types.js';
import { when } from './format.js';
import { page } from './urls.js';
import { html } from './preact.js';

/**
 * Whether `etl schedule` runs for this repository, and what its status file says of each
 * sequence: the next tick, the one running, the last tick that could not start (and why),
 * the ticks skipped (and why), an edit that does not validate (the old schedule is kept).
 */
export function Scheduler({ scheduler }: { scheduler: ScheduleAnswer }) {
  const { alive, daemon, status } = scheduler;
  const headline =
    alive && daemon
      ? html`<b class="daemon-running">running</b>, pid ${daemon.pid} on ${daemon.host}, since ${when(daemon.started_at)}`
      : status
        ? html`<b class="daemon-stopped">not running</b> (last: pid ${status.pid} on ${status.host}, ${status.stopped_at ? html`stopped ${when(status.stopped_at)}` : html`gone since ${when(status.updated_at)}`})`
        : html`<b class="daemon-stopped">not running</b>: no daemon has run for this repository (<code>etl schedule</code> starts one; schedules that run on GitHub Actions need none)`;
  const entries = Object.entries(status?.sequences ?? {});
  return html`<section class="scheduler" aria-label="scheduler">
    <h2>Scheduler</h2>
    <p>etl schedule: ${headline}</p>
    ${
      entries.length
        ? html`<ul class="scheduler-sequences">${entries.map(([name, s]) => {
            const skipped = s.ticks.filter((t) => t.outcome.startsWith('skipped')).slice(-5);
            const notStarted = s.last && !s.last.run_id && s.last.error ? s.last : null;
            return html`<li data-scheduled=${name}><strong>${name}</strong> <code>${s.schedule}</code> <span class="muted">${s.timezone}</span>
              <ul>
                ${alive ? html`<li class="next-tick">next tick ${s.next ? when(s.next) : 'none'}</li>` : ''}
                ${s.running ? html`<li>running the tick of ${when(s.running.tick)}</li>` : ''}
                ${s.last?.run_id ? html`<li>last tick ${when(s.last.tick)}: <a href=${page(`runs/${s.last.run_id}`)}>${s.last.status}</a></li>` : ''}
                ${notStarted ? html`<li class="not-started error">the tick of ${when(notStarted.tick)} could not start: ${notStarted.error}</li>` : ''}
                ${s.error ? html`<li class="error">${s.error} (the schedule before this edit is kept)</li>` : ''}
                ${skipped.map((t) => html`<li class="skipped-tick">skipped the tick of ${when(t.tick)}: ${t.outcome.replace(/^skipped: /, '')}</li>`)}
              </ul></li>`;
          })}</ul>`
        : ''
    }
  </section>`;
}
