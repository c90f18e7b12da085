import { closeSync, openSync, writeSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

export const DEFAULT_LOG_LIMIT = 1024 * 1024;
/** How long an unfinished line may grow before it is written without waiting for its end. */
const PARTIAL_LINE_LIMIT = 8 * 1024;

/** Values shorter than this are not masked: they would blank out ordinary text ("a", "1"). */
export const MIN_SECRET_LENGTH = 3;

/** What a masked secret is recorded as. */
export const MASK = '***';

/** Replaces every secret value with *** in text, longest first (a secret may contain another). */
export class Redactor {
  private readonly secrets: string[];
  /** The longest secret minus one: how much text may hold the start of a split secret. */
  readonly holdBack: number;

  constructor(values: Iterable<string>) {
    this.secrets = [...new Set(values)]
      .filter((v) => v.length >= MIN_SECRET_LENGTH)
      .sort((a, b) => b.length - a.length);
    this.holdBack = Math.max(0, ...this.secrets.map((s) => s.length - 1));
  }

  get active(): boolean {
    return this.secrets.length > 0;
  }

  /** How many characters at the end of text could begin a secret (to wait for the rest). */
  partialAtEnd(text: string): number {
    for (let k = Math.min(this.holdBack, text.length); k > 0; k--) {
      const tail = text.slice(-k);
      if (this.secrets.some((secret) => secret.startsWith(tail))) return k;
    }
    return 0;
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) if (out.includes(secret)) out = out.split(secret).join(MASK);
    return out;
  }

  /** Each value redacted (a run's params, a step's env), names kept. */
  redactValues(values: Record<string, string>): Record<string, string> {
    return Object.fromEntries(Object.entries(values).map(([name, value]) => [name, this.redact(value)]));
  }
}

/**
 * Whether a value as recorded (secrets masked) is what `given` was, as far as can be told:
 * the same text, or the same around each *** (which stood for a secret of some length).
 */
export function matchesMasked(recorded: string, given: string): boolean {
  if (recorded === given) return true;
  if (!recorded.includes(MASK)) return false;
  const parts = recorded.split(MASK).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('[^]+')}$`).test(given);
}

export interface LogSummary {
  /** The log file, or null when the module printed nothing (no file is made). */
  path: string | null;
  /** Bytes the module printed (before redaction). */
  bytes: number;
  /** Bytes in the log file. */
  kept_bytes: number;
  truncated: boolean;
}

/**
 * A step's log file: output streamed to disk as it arrives, secrets redacted first, and at
 * most `limit` bytes kept: the first half as written, the last half held in memory and
 * written at the end after a marker saying how much was dropped. Memory stays bounded
 * whatever the module prints.
 */
export class LogWriter {
  /** Opened at the first byte: a module that prints nothing leaves no log file. */
  private fd: number | undefined;
  /** Per stream: the unfinished line (and any secret split across two writes) waits here. */
  private readonly streams = {
    out: { decoder: new StringDecoder('utf8'), pending: '' },
    err: { decoder: new StringDecoder('utf8'), pending: '' },
  };
  private readonly headLimit: number;
  private readonly tailLimit: number;
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private droppedBytes = 0;
  private printed = 0;
  private closed = false;

  constructor(
    readonly path: string,
    private readonly redactor: Redactor,
    limit = DEFAULT_LOG_LIMIT,
    /** Sees the redacted text too, for the terminal. */
    private readonly onText?: (text: string) => void,
  ) {
    this.headLimit = Math.floor(limit / 2);
    this.tailLimit = limit - this.headLimit;
  }

  write(chunk: Buffer, from: 'out' | 'err' = 'out'): void {
    this.printed += chunk.length;
    const stream = this.streams[from];
    let text = stream.pending + stream.decoder.write(chunk);
    if (this.redactor.active) text = this.redactor.redact(text);
    // stdout and stderr share one log: a partial line waits for its end so the other stream's
    // lines never land inside it; a very long one goes out anyway (memory stays bounded).
    let cut = text.lastIndexOf('\n') + 1;
    const longLine = text.length - cut > PARTIAL_LINE_LIMIT;
    if (longLine) cut = text.length;
    // Whatever could be the start of a secret split across chunks waits too, from the start
    // of its line: a secret with a line break in it must not leave half a line out, for the
    // other stream to write into.
    if (this.redactor.active) {
      const limit = text.length - this.redactor.partialAtEnd(text);
      if (limit < cut) cut = longLine ? limit : text.lastIndexOf('\n', limit - 1) + 1;
    }
    stream.pending = text.slice(cut);
    this.emit(text.slice(0, cut));
  }

  /** Adds a line of the runner's own (attempt markers), not counted as module output. */
  note(line: string): void {
    this.flushPending();
    this.emit(`${line}\n`);
  }

  close(): LogSummary {
    if (!this.closed) {
      this.closed = true;
      for (const stream of Object.values(this.streams)) {
        const rest = stream.pending + stream.decoder.end();
        stream.pending = '';
        if (rest) this.emit(this.redactor.redact(rest));
      }
      if (this.droppedBytes > 0) {
        const tail = Buffer.concat(this.tail);
        writeSync(
          this.file(),
          `\n[etl-ledger: ${this.droppedBytes} bytes of output dropped here; the log keeps the first and last parts]\n`,
        );
        writeSync(this.file(), tail);
      } else {
        for (const part of this.tail) writeSync(this.file(), part);
      }
      if (this.fd !== undefined) closeSync(this.fd);
    }
    return {
      path: this.fd === undefined ? null : this.path,
      bytes: this.printed,
      kept_bytes: this.keptBytes,
      truncated: this.droppedBytes > 0,
    };
  }

  private file(): number {
    this.fd ??= openSync(this.path, 'w');
    return this.fd;
  }

  private get keptBytes(): number {
    return this.headBytes + this.tailBytes;
  }

  private flushPending(): void {
    for (const stream of Object.values(this.streams)) {
      if (stream.pending) this.emit(this.redactor.redact(stream.pending));
      stream.pending = '';
    }
  }

  private emit(text: string): void {
    if (!text) return;
    this.onText?.(text);
    let data = Buffer.from(text, 'utf8');
    if (this.headBytes < this.headLimit) {
      const room = this.headLimit - this.headBytes;
      const head = data.length <= room ? data : data.subarray(0, room);
      writeSync(this.file(), head);
      this.headBytes += head.length;
      data = data.subarray(head.length);
      if (data.length === 0) return;
    }
    // Past the head: keep only the newest tailLimit bytes in memory.
    this.tail.push(data);
    this.tailBytes += data.length;
    while (this.tailBytes > this.tailLimit) {
      const first = this.tail[0]!;
      const excess = this.tailBytes - this.tailLimit;
      if (first.length <= excess) {
        this.tail.shift();
        this.tailBytes -= first.length;
        this.droppedBytes += first.length;
      } else {
        this.tail[0] = first.subarray(excess);
        this.tailBytes -= excess;
        this.droppedBytes += excess;
      }
    }
  }
}
