// The HTTP server of `etl ui`: the JSON API under /api/, behind the checks every response
// gets. Binds to 127.0.0.1 unless told otherwise; answers only requests addressed to the name
// it is bound to (a page on another site cannot reach it through a rebound DNS name).
import { readFileSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { networkInterfaces } from 'node:os';
import { type Actions, handleAction } from './actions.js';
import { type ApiContext, type ApiResponse, handleApi } from './api.js';
import type { ConfigAnswer } from './api-types.js';
import { LedgerCache } from '../ledger/read-cache.js';
import { LedgerWatch, type RunChange } from './watch.js';
import type { Scrape } from '../prometheus/scrape.js';

export interface UiOptions extends ApiContext {
  host?: string;
  port?: number;
  /** --allow-run: the write endpoints, and what they need. Without it there are none. */
  actions?: Actions;
}

/** What a page may load: nothing from another origin, nothing inline (a static report's pages carry it too). */
export const PAGE_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'";

/** Sent with every response: the page policy, no framing, no sniffing. */
export const SECURITY_HEADERS: Record<string, string> = {
  // frame-ancestors works only as a header (a meta tag cannot carry it).
  'Content-Security-Policy': `${PAGE_POLICY}; frame-ancestors 'none'`,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** Starts the server; resolves once it listens, with the address it took. */
export async function startUiServer(options: UiOptions): Promise<{ server: Server; url: string }> {
  const host = options.host ?? '127.0.0.1';
  // A server keeps folders and finished records between requests, unless given a store that does.
  const store = options.store.cache ? options.store : options.store.withCache(new LedgerCache());
  const context: UiOptions = { ...options, store };
  const events = new EventHub(store.roots, options.now);
  // Known once it listens, before the first request: the Host check needs it.
  const self = { host, port: 0, scrape: prometheus(context) };
  const server = createServer((request, response) => {
    respond(context, self, events, request, response).catch(() => {
      if (!response.headersSent) send(response, 500, { error: 'internal error' });
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, host, () => resolve());
  });
  server.on('close', () => events.close());
  const address = server.address();
  self.port = typeof address === 'object' && address ? address.port : (options.port ?? 8080);
  return { server, url: `http://${host.includes(':') ? `[${host}]` : host}:${self.port}/` };
}

/**
 * /metrics: the ledger in Prometheus' text format, from a registry of this server's own.
 * prom-client (some 50 ms to load) is loaded by the first scrape, not by every `etl ui`.
 */
function prometheus(context: UiOptions): Scrape {
  const since = context.now();
  let scrape: Promise<Scrape> | undefined;
  return async () => {
    scrape ??= import('../prometheus/scrape.js').then(({ ledgerScraper }) => ledgerScraper({ ...context, since }));
    return (await scrape)();
  };
}

async function respond(
  context: UiOptions,
  self: { host: string; port: number; scrape: Scrape },
  events: EventHub,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  if (!allowedHost(request.headers.host, self.host, self.port)) {
    return send(response, 421, { error: 'this server answers to its own address only' });
  }
  const url = new URL(request.url ?? '/', 'http://server');
  if (url.pathname === '/api/events' && request.method === 'GET') return events.subscribe(request, response);
  if (url.pathname === '/metrics' && (request.method === 'GET' || request.method === 'HEAD')) {
    const scraped = await self.scrape();
    return send(response, 200, scraped.text, scraped.type);
  }
  if (url.pathname === '/api/config')
    return send(response, 200, { allow_run: context.actions !== undefined } satisfies ConfigAnswer);
  if (context.actions && url.pathname.startsWith('/api/actions/')) {
    const answer = await handleAction(context.actions, url.pathname.slice('/api/actions/'.length), request);
    return send(response, answer.status, answer.json);
  }
  if (url.pathname === '/api' || url.pathname.startsWith('/api/')) {
    const answer = await handleApi(context, request.method ?? 'GET', url.pathname.slice(4), url.searchParams);
    if (answer.file) return await sendFile(response, answer.file, answer.type);
    if (answer.text !== undefined) return send(response, answer.status, answer.text, answer.type);
    return send(response, answer.status, answer.json);
  }
  // A page's URL (/, /sequences/NAME, /runs/ID) serves the one page; its script shows what it names.
  const asset = ASSETS[PAGES.test(url.pathname) ? '/index.html' : url.pathname];
  if (asset && (request.method === 'GET' || request.method === 'HEAD')) {
    return send(response, 200, readFileSync(new URL(`./assets/${asset.file}`, import.meta.url)), asset.type);
  }
  return send(response, 404, { error: 'not found' });
}

const PAGES = /^\/(?:board|runs\/\d{8}T\d{9}Z-[0-9a-f]{8}|sequences\/[A-Za-z0-9][A-Za-z0-9._-]*)?$/;

/** The only files served besides the API, by their exact URL: no path from a URL reaches the disk. */
const ASSETS: Record<string, { file: string; type: string }> = {
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/assets/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/assets/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
  '/assets/vendor/htm-preact.js': { file: 'vendor/htm-preact.js', type: 'text/javascript; charset=utf-8' },
  '/assets/vendor/uPlot.iife.min.js': { file: 'vendor/uPlot.iife.min.js', type: 'text/javascript; charset=utf-8' },
  '/assets/vendor/uPlot.min.css': { file: 'vendor/uPlot.min.css', type: 'text/css; charset=utf-8' },
};

/**
 * The Host header names this server: localhost, a loopback address, or the address it is bound
 * to, with its port. Anything else is a browser sent here under another name.
 */
export function allowedHost(header: string | undefined, boundHost: string, port: number): boolean {
  if (!header) return false;
  const bracket = (address: string) => (address.includes(':') ? `[${address}]` : address);
  const names = new Set(['localhost', '127.0.0.1', '[::1]', bracket(boundHost)]);
  // Bound to every address: each of this machine's own is a name it answers to.
  if (boundHost === '0.0.0.0' || boundHost === '::') {
    for (const list of Object.values(networkInterfaces()))
      for (const entry of list ?? []) names.add(bracket(entry.address));
  }
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(header.toLowerCase());
  return match !== null && names.has(match[1]!) && Number(match[2] ?? 80) === port;
}

function send(response: ServerResponse, status: number, body: unknown, type?: string): void {
  const text = type === undefined ? `${JSON.stringify(body)}\n` : Buffer.isBuffer(body) ? body : String(body);
  response.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': type ?? 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  response.end(response.req.method === 'HEAD' ? undefined : text);
}

/** How much of a file a response holds at a time. */
const CHUNK_BYTES = 64 * 1024;

/**
 * Bytes [start, end) of a file, read into one buffer that is used again once the socket has
 * taken each chunk: a log followed for hundreds of megabytes leaves no garbage behind it.
 */
async function sendFile(
  response: ServerResponse,
  file: NonNullable<ApiResponse['file']>,
  type = 'application/octet-stream',
) {
  const length = Math.max(0, file.end - file.start);
  response.writeHead(200, {
    ...SECURITY_HEADERS,
    ...file.headers,
    'Content-Type': type,
    'Content-Length': length,
    'Cache-Control': 'no-store',
  });
  if (length === 0 || response.req.method === 'HEAD') return void response.end();
  let handle: FileHandle | undefined;
  try {
    handle = await open(file.path, 'r');
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, length));
    for (let at = file.start; at < file.end && !response.destroyed; ) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, file.end - at), at);
      if (bytesRead === 0) break; // the file shrank (a run folder replaced): the body ends short
      at += bytesRead;
      await new Promise<void>((resolve, reject) =>
        response.write(buffer.subarray(0, bytesRead), (error) => (error ? reject(error) : resolve())),
      );
    }
    response.end();
  } catch {
    response.destroy(); // the client left, or the file went: the client sees a short body
  } finally {
    await handle?.close();
  }
}

/** Sent to keep a quiet stream open through proxies, and to notice clients that left. */
const HEARTBEAT_MS = 20_000;

/**
 * Server-Sent Events: `event: run` with `{"sequence", "id"}` whenever a run's records change
 * (the pages then fetch that run). One watch of the ledger serves every client, made for the
 * first and closed after the last. A client that comes back (Last-Event-ID) is told `resync`:
 * it missed changes and reloads what it shows.
 */
class EventHub {
  private readonly clients = new Set<ServerResponse>();
  private watch: LedgerWatch | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private sent = 0;

  constructor(
    private readonly roots: string[],
    private readonly now: () => Date,
  ) {}

  subscribe(request: IncomingMessage, response: ServerResponse): void {
    response.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
    });
    response.write(
      `retry: 2000\n${request.headers['last-event-id'] ? `id: ${this.sent}\nevent: resync\ndata: {}\n\n` : '\n'}`,
    );
    this.clients.add(response);
    this.watch ??= new LedgerWatch(this.roots, (change) => this.broadcast(change), this.now);
    this.heartbeat ??= setInterval(() => {
      for (const client of this.clients) client.write(': heartbeat\n\n');
    }, HEARTBEAT_MS).unref();
    request.on('close', () => {
      this.clients.delete(response);
      if (this.clients.size === 0) this.close();
    });
  }

  private broadcast(change: RunChange): void {
    const message = `id: ${++this.sent}\nevent: run\ndata: ${JSON.stringify(change)}\n\n`;
    for (const client of this.clients) client.write(message);
  }

  close(): void {
    this.watch?.close();
    this.watch = undefined;
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    for (const client of this.clients) client.end();
    this.clients.clear();
  }
}
