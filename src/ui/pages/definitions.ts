// The definitions a run ran, on its page: read from git by their pinned hashes, and what
// changed since the sequence's run before.
import type { RunRecord } from '../../runner/records.js';
import type { DefinitionsAnswer } from '../api-types.js';
import { errorText } from './live.js';
import { source } from './source.js';
import { page } from './urls.js';
import { html, useState } from './preact.js';

/** The definitions a run ran (read from git by their pinned hashes) and what changed since the run before. */
export function Definitions({ run }: { run: RunRecord }) {
  const [state, setState] = useState<{ data?: DefinitionsAnswer; error?: string } | null>(null);
  const show = async () => {
    try {
      setState({ data: await source.definitions(run.id) });
    } catch (error) {
      setState({ error: errorText(error) });
    }
  };
  const pin = run.definitions;
  return html`<section class="definitions" aria-label="definitions">
    <h2>Definitions</h2>
    <p class="muted">${pin.commit ? html`commit <code>${pin.commit.slice(0, 12)}</code>` : 'not in git'}${pin.dirty ? ' · with uncommitted changes' : ''} · ${Object.keys(pin.files).length} files</p>
    ${state === null ? html`<button type="button" class="show-definitions" onClick=${show}>show definitions</button>` : ''}
    ${state?.error ? html`<p class="error">${state.error}</p>` : ''}
    ${state?.data ? html`<${PinnedFiles} data=${state.data} />` : ''}
  </section>`;
}

function PinnedFiles({ data }: { data: DefinitionsAnswer }) {
  return html`
    ${
      data.previous
        ? data.changes.length
          ? html`<h3>Changed since <a href=${page(`runs/${data.previous.id}`)}>the run before</a></h3>
            ${data.changes.map(
              (c) => html`<div class="change"><strong>${c.path}</strong> <span class="muted">${c.change}</span>
                ${c.patch === null ? html`<p class="muted">Content not in git (an uncommitted edit ran): no diff.</p>` : html`<${Diff} patch=${c.patch} />`}</div>`,
            )}`
          : html`<p class="muted">Same definitions as <a href=${page(`runs/${data.previous.id}`)}>the run before</a>.</p>`
        : html`<p class="muted">The first run of this sequence in the ledger.</p>`
    }
    ${data.files.map(
      (
        f,
      ) => html`<details class="pinned"><summary><code>${f.path}</code> <span class="muted">${f.blob ? f.blob.slice(0, 10) : 'missing'}</span></summary>
        ${f.content === null ? html`<p class="muted">${f.blob ? 'Not in git (an uncommitted edit ran), or not text.' : 'The file was missing.'}</p>` : html`<pre class="file">${f.content}</pre>`}</details>`,
    )}`;
}

const Diff = ({ patch }: { patch: string }) =>
  html`<pre class="diff">${patch
    .split('\n')
    .map(
      (line) =>
        html`<span class=${line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : line.startsWith('@@') ? 'hunk' : ''}>${`${line}\n`}</span>`,
    )}</pre>`;
