// The buttons that act (etl ui --allow-run): run a sequence now, cancel, re-run, resume.
import type { ErrorAnswer, RunStartedAnswer } from '../api-types.js';
import { config } from './source.js';
import { page } from './urls.js';
import { html, type Rendered, useEffect, useState } from './preact.js';

// --allow-run: the token comes in the URL the server printed; kept for this tab, then taken
// out of the address bar.
const given = new URLSearchParams(location.search).get('token');
if (given) {
  sessionStorage.setItem('etl-token', given);
  history.replaceState(null, '', location.pathname);
}
const token = sessionStorage.getItem('etl-token');

/** Whether this page may act: the server allows runs and the tab holds its token. */
function useAllowed(): boolean {
  const [allowed, setAllowed] = useState(false);
  useEffect(() => {
    config.then((c) => setAllowed(c.allow_run && Boolean(token)));
  }, []);
  return allowed;
}

/** What POST /api/actions/run or /cancel is given. */
export interface ActionBody {
  sequence?: string;
  from?: number;
  resume?: string;
  run?: string;
}

/**
 * An action button: shown only when the server allows runs; `help` says what it does. Once
 * asked, it says how it went, with a link to the run it started.
 */
export function Action({
  label,
  action,
  body,
  help,
  params,
}: {
  label: string;
  action: 'run' | 'cancel';
  body: ActionBody;
  help?: string;
  params?: Record<string, string>;
}) {
  const allowed = useAllowed();
  const [said, setSaid] = useState<Rendered>('');
  if (!allowed) return '';
  const act = async () => {
    setSaid('starting…');
    const response = await fetch(`/api/actions/${action}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Etl-Token': token ?? '' },
      body: JSON.stringify(params ? { ...body, params } : body),
    });
    const answer: Partial<RunStartedAnswer & ErrorAnswer> = await response.json().catch(() => ({}));
    if (!response.ok) setSaid(html`<span class="error">${answer.error ?? String(response.status)}</span>`);
    else if (answer.run)
      setSaid(html`started <a class="new-run" href=${page(`runs/${answer.run}`)}>run ${answer.run}</a>`);
    else setSaid(action === 'cancel' ? 'cancelling' : 'started');
  };
  const kind = body.resume ? 'resume' : body.from ? 'rerun' : action;
  return html`<span class="action-line"><button type="button" class=${`action action-${kind}`} onClick=${act}>${label}</button>${help ? html` <span class="action-help muted">${help}</span>` : ''} <span class="said" role="status">${said}</span></span>`;
}

/** "Run now", with the params of the run to give (NAME=VALUE, a line each) if wanted. */
export function RunNow({ sequence }: { sequence: string }) {
  const allowed = useAllowed();
  const [text, setText] = useState('');
  if (!allowed) return '';
  const params = Object.fromEntries(
    text
      .split('\n')
      .map((line) => /^\s*([^=\s]+)\s*=(.*)$/.exec(line))
      .filter((match) => match !== null)
      .map((match) => [match[1]!, match[2]!.trim()]),
  );
  return html`<div class="run-now"><${Action} label="Run now" action="run" body=${{ sequence }} params=${Object.keys(params).length ? params : undefined} />
    <details class="run-params"><summary>params</summary>
      <textarea name="params" rows="2" placeholder="name=value, a line each" aria-label=${`params of the run of ${sequence}`} value=${text} onInput=${(event: Event) => setText((event.target as HTMLTextAreaElement).value)}></textarea>
    </details></div>`;
}
