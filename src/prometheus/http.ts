// The HTTP server of `etl schedule --metrics`: GET /metrics and nothing else. Like `etl ui`, it
// binds to 127.0.0.1 unless told otherwise and answers only requests addressed to its own name
// (a page elsewhere cannot read it through a rebound DNS name).
import { createServer, type Server } from 'node:http';
import { EtlError } from '../errors.js';
import { allowedHost, SECURITY_HEADERS } from '../ui/server.js';
import type { Scrape } from './scrape.js';

export interface MetricsAddress {
  host: string;
  /** 0: any free port. */
  port: number;
}

/** "9464" (on 127.0.0.1), "0.0.0.0:9464", "[::1]:9464". */
export function parseMetricsAddress(text: string): MetricsAddress {
  const match = /^(?:(\[[0-9A-Fa-f:.]+\]|[^:[\]\s]+):)?(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (!match || port > 65535)
    throw new EtlError(
      'usage',
      `--metrics takes PORT or HOST:PORT (9464, 127.0.0.1:9464, 0.0.0.0:9464, [::1]:9464; port 0: any free one), got "${text}"`,
    );
  return { host: match[1]?.replace(/^\[|\]$/g, '') ?? '127.0.0.1', port };
}

export interface ServedMetrics {
  url: string;
  /** Stops listening and drops open connections (a scrape under way is cut). */
  close(): Promise<void>;
}

/** Serves `scrape` at /metrics; resolves once it listens. */
export async function serveMetrics(address: MetricsAddress, scrape: Scrape): Promise<ServedMetrics> {
  const self = { ...address };
  const server = createServer((request, response) => {
    const reply = (status: number, text: string, type = 'text/plain; charset=utf-8') => {
      response.writeHead(status, {
        ...SECURITY_HEADERS,
        'Content-Type': type,
        'Content-Length': Buffer.byteLength(text),
        'Cache-Control': 'no-store',
      });
      response.end(request.method === 'HEAD' ? undefined : text);
    };
    if (!allowedHost(request.headers.host, self.host, self.port))
      return reply(421, 'this server answers to its own address only\n');
    const path = new URL(request.url ?? '/', 'http://server').pathname;
    if (path !== '/metrics') return reply(404, 'not found: this server serves /metrics only\n');
    if (request.method !== 'GET' && request.method !== 'HEAD') return reply(405, 'only GET\n');
    scrape().then(
      (scraped) => reply(200, scraped.text, scraped.type),
      () => reply(500, 'internal error\n'),
    );
  });
  await listen(server, address);
  const bound = server.address();
  self.port = typeof bound === 'object' && bound ? bound.port : address.port;
  const host = self.host.includes(':') ? `[${self.host}]` : self.host;
  return {
    url: `http://${host}:${self.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function listen(server: Server, { host, port }: MetricsAddress): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new EtlError('usage', `--metrics: port ${port} is in use on ${host}: choose another`, undefined, {
        cause: error,
      });
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
      throw new EtlError('usage', `--metrics: cannot listen on "${host}": not an address of this machine`, undefined, {
        cause: error,
      });
    throw error;
  }
}
