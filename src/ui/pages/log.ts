// A step's log on its run's page.
import type { StepRecord, StepSummary } from '../../runner/records.js';
import { source } from './source.js';
import { STATIC } from './urls.js';
import { html, useEffect, useState } from './preact.js';

/** A step that ended this way has its log open when its run's page opens. */
export const FAILED_STEP: readonly string[] = ['failed', 'timed_out'];

/** The runner's own lines in a log (attempts, the truncation marker): shown apart from the module's. */
const RUNNER_LINE = /^\[etl-ledger: .*\]$/;

interface ShownLog {
  text: string;
  /** The file's size when read: where the next read starts. */
  size: number;
  /** Bytes at its start not shown (a log read from its end). */
  skipped: number;
}

/**
 * A step's kept log, read when shown; while the step runs (its record is written when it ends), what
 * it adds is fetched (from the size already shown) each time the run changes. The log keeps stdout and stderr as one stream,
 * in the order printed; the runner's lines (attempts, a truncation) are marked.
 */
export function Log({
  run,
  line,
  step,
  version,
}: {
  run: string;
  line: StepSummary;
  step: StepRecord | undefined;
  version: number;
}) {
  const [log, setLog] = useState<ShownLog | null>(null);
  const url = source.log(run, `${line.role === 'step' ? '' : `${line.role}-`}${line.index}`);
  const load = async (from?: number) => {
    const response = await fetch(from === undefined || STATIC ? url : `${url}?from=${from}`);
    const text = response.ok ? await response.text() : `(${response.status})`;
    const size = Number(response.headers.get('X-Log-Size') ?? text.length);
    const skipped = Number(response.headers.get('X-Log-Start') ?? 0);
    setLog((old) => (from === undefined || !old ? { text, size, skipped } : { ...old, text: old.text + text, size }));
  };
  // Read whole when shown; then, as the run changes, what was added.
  useEffect(() => {
    if (log === null) load();
    else if (!STATIC) load(log.size);
  }, [version]);
  if (log === null) return html`<p class="muted">Loading the log…</p>`;
  // The runner's lines marked; a log without any is shown as one text.
  const lines = log.text.includes('[etl-ledger: ') ? log.text.split('\n') : [log.text];
  return html`<div class="log-view"><p class="log-head">log of ${line.role === 'step' ? '' : `${line.role.replace('_', ' ')} `}step ${line.index} <a href=${url} download=${`${run}-${line.index}.log`}>raw</a></p>
    ${step?.log.truncated ? html`<p class="notice">The module printed ${step.log.bytes} bytes; the log keeps the first and last ${step.log.kept_bytes} (marked where output was dropped).</p>` : ''}
    ${log.skipped ? html`<p class="notice">The first ${log.skipped} bytes are not shown here: see the raw file.</p>` : ''}
    <pre class="log">${log.text ? lines.map((text, i) => html`${RUNNER_LINE.test(text) ? html`<mark>${text}</mark>` : text}${i < lines.length - 1 ? '\n' : ''}`) : '(nothing printed)'}</pre></div>`;
}
