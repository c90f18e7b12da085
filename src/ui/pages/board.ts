// The seed's monitoring page: the newest runs in a column per state.
import { duration, joined, Loading, Status, when } from './format.js';
import { useLoaded } from './live.js';
import { source } from './source.js';
import { RUN_STATES } from './states.js';
import { page } from './urls.js';
import { html } from './preact.js';

/** The newest runs of all sequences, in a column per state, as the overview counts them. */
export function Board() {
  const state = useLoaded(() => source.runs({ limit: 200 }));
  if (!state.data) return html`<${Loading} state=${state} what="the ledger" />`;
  const all = state.data.runs;
  const shown = all.length;
  return html`
    <h1>Board</h1>
    <p class="muted board-caption">${shown === 1 ? 'The newest run' : `The ${shown} newest runs`}, all sequences together, by state.</p>
    <div class="board">${RUN_STATES.map(([title, statuses]) => {
      const runs = all.filter((r) => statuses.includes(r.status));
      return html`<section class="column" data-column=${title} aria-label=${title}>
        <h2>${title} <span class="muted">${runs.length}</span></h2>
        ${runs.length === 0 ? html`<p class="muted">none</p>` : ''}
        ${runs.map(
          (r) => html`<a class=${`card s-${r.status}`} href=${page(`runs/${r.id}`)}>
              <strong>${r.sequence}</strong> <${Status} status=${r.status} />
              <div class="muted">${joined([when(r.started_at), duration(r.duration_ms), r.failed_step && `step ${r.failed_step}`])}</div>
            </a>`,
        )}
      </section>`;
    })}</div>`;
}
