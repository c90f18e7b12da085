// A webhook receiver on loopback, for the tests of what etl posts (webhooks, OpenLineage events).
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import type { WebhookPayload } from '../../src/notify/webhook.js';

/**
 * A webhook receiver: answers each request with the next of `answers` (the last one repeats):
 * a status, a redirect (`{ status: 302, location }`), or never with 'hang'.
 */
export async function receiver<Body = WebhookPayload>(
  t: TestContext,
  answers: Array<number | 'hang' | { status: number; location: string }> = [200],
) {
  const received: Array<{ path: string; headers: IncomingMessage['headers']; body: Body }> = [];
  const server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8').on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      received.push({ path: request.url ?? '', headers: request.headers, body: JSON.parse(body) });
      const answer = answers[Math.min(received.length - 1, answers.length - 1)]!;
      if (typeof answer === 'number') response.writeHead(answer).end();
      else if (answer !== 'hang') response.writeHead(answer.status, { Location: answer.location }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/T0KEN`, received };
}
