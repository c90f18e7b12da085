// Sends events where the target says: each one POSTed in order to the OpenLineage endpoint,
// and/or appended to the JSON-lines file. Nothing here throws or holds the run: send() queues
// and returns; a failure is counted and said once, when the run ends (finish()).
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { withoutUrl } from '../url-host.js';
import type { OpenLineageTarget } from './config.js';
import type { OpenLineageEvent } from './events.js';

/** One POST's time; a server that lets it run out is given up on for the rest of the run. */
export const POST_TIMEOUT_MS = 5000;

/** How long the end of a run waits for the events still being sent (a slow server, many events). */
export const FINISH_WAIT_MS = 10_000;

export class LineageTransport {
  private posting: Promise<void> = Promise.resolve();
  private gaveUp = false;
  /** Aborts the POST under way when finish() stops waiting. */
  private readonly dropped = new AbortController();
  private sent = 0;
  private folderMade = false;
  private readonly failed = { http: 0, file: 0 };
  private readonly firstError: { http?: string; file?: string } = {};

  constructor(
    private readonly target: OpenLineageTarget,
    private readonly timeoutMs = POST_TIMEOUT_MS,
  ) {}

  /** Queues the event as it is now (it is serialised at once: records change as the run goes on). */
  send(event: OpenLineageEvent): void {
    const line = JSON.stringify(event);
    this.sent++;
    if (this.target.file !== undefined) this.append(this.target.file, line);
    if (this.target.endpoint !== undefined) {
      const endpoint = this.target.endpoint;
      this.posting = this.posting.then(() => this.post(endpoint, line));
    }
  }

  /**
   * Resolves once every event is delivered or given up on, within `waitMs` (then the rest are
   * dropped), with what went wrong: a line per target.
   */
  async finish(waitMs = FINISH_WAIT_MS): Promise<string[]> {
    if (!(await settlesWithin(this.posting, waitMs))) {
      this.firstError.http ??= `still sending ${waitMs / 1000}s after the run ended, so the rest were dropped`;
      this.gaveUp = true;
      this.dropped.abort();
      await this.posting;
    }
    const problems: string[] = [];
    const { endpoint, file } = this.target;
    if (this.firstError.http && endpoint)
      problems.push(
        `${this.failed.http} of ${this.sent} OpenLineage events not sent to ${new URL(endpoint).host}: ${this.firstError.http}${this.failed.http > 1 ? ' (the first failure)' : ''}; the run is not affected`,
      );
    if (this.firstError.file && file)
      problems.push(
        `${this.failed.file} of ${this.sent} OpenLineage events not written to ${file}: ${this.firstError.file}; the run is not affected`,
      );
    return problems;
  }

  private append(file: string, line: string): void {
    if (this.firstError.file !== undefined) {
      this.failed.file++;
      return;
    }
    try {
      if (!this.folderMade) makeFolder(dirname(file));
      this.folderMade = true;
      // One write per event, with O_APPEND: lines from runs writing the same file at once do not mix.
      appendFileSync(file, `${line}\n`);
    } catch (error) {
      this.failed.file++;
      this.firstError.file = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    }
  }

  private async post(endpoint: string, body: string): Promise<void> {
    if (this.gaveUp) return this.fail('');
    const timeout = AbortSignal.timeout(this.timeoutMs);
    try {
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'etl-ledger',
          ...(this.target.apiKey ? { Authorization: `Bearer ${this.target.apiKey}` } : {}),
        },
        body,
        signal: AbortSignal.any([timeout, this.dropped.signal]),
        // A redirect is an answer, not followed: the event (and the key) go nowhere else.
        redirect: 'manual',
      });
      await response.body?.cancel();
      if (!response.ok) this.fail(`HTTP ${response.status}`);
    } catch (failure) {
      if (this.dropped.signal.aborted) return this.fail('');
      if (timeout.aborted) {
        this.gaveUp = true;
        return this.fail(`no answer within ${this.timeoutMs / 1000}s, so no more were sent`);
      }
      const cause = (failure as { cause?: { code?: string; message?: string } }).cause;
      this.fail(cause?.code ?? withoutUrl(cause?.message ?? (failure as Error).message, endpoint));
    }
  }

  private fail(why: string): void {
    this.failed.http++;
    this.firstError.http ??= why;
  }
}

/** The file's folder, made if it is not there; one that cannot be made is said by the write that follows. */
function makeFolder(folder: string): void {
  try {
    mkdirSync(folder, { recursive: true });
  } catch {}
}

/** Whether `promise` settled within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
