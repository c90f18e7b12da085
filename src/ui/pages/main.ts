// The pages of `etl ui` and of `etl report`: the overview, the board, a sequence and a run.
// Served by `etl ui`, they read the JSON API (/api/) and follow the server's events; in a
// static report they read the same answers written as files, and say they are a snapshot.
// Everything shown is rendered as text (htm/Preact never parse data as HTML). Bundled at
// build time into assets/app.js (src/build/bundle-pages.ts).
import { Board } from './board.js';
import { when } from './format.js';
import { Overview } from './overview.js';
import { Run } from './run.js';
import { Sequence } from './sequence.js';
import { meta, page, STATIC } from './urls.js';
import { html, render } from './preact.js';

function Nav({ here }: { here: string }) {
  return html`<nav aria-label="pages">
    <a href=${page('')} aria-current=${here === 'overview' ? 'page' : undefined}>sequences</a>
    <a href=${page('board')} aria-current=${here === 'board' ? 'page' : undefined}>board</a>
    ${STATIC ? html`<span class="muted snapshot">static report of ${when(meta('etl-report-time'))}: no live updates, no actions</span>` : ''}
  </nav>`;
}

// The page's route: its path in `etl ui`, named by the page itself in a static report.
const route = STATIC ? meta('etl-report-page') : location.pathname.slice(1);
const run = /^runs\/([^/]+)$/.exec(route ?? '');
const sequence = /^sequences\/([^/]+)$/.exec(route ?? '');
const view = run
  ? html`<${Run} id=${run[1]} />`
  : sequence
    ? html`<${Sequence} name=${decodeURIComponent(sequence[1]!)} />`
    : route === 'board'
      ? html`<${Board} />`
      : html`<${Overview} />`;
render(
  html`<${Nav} here=${route === 'board' ? 'board' : route === '' ? 'overview' : ''} />${view}`,
  document.getElementById('app')!,
);
