// The HTTP transport against loopback servers: events in order, a redirect not followed, and
// the end of a run that does not wait long for a slow server.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import type { OpenLineageEvent } from '../../src/openlineage/events.js';
import { LineageTransport } from '../../src/openlineage/transport.js';
import { receiver } from '../helpers/webhook-receiver.js';

const events = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ eventType: 'START', eventTime: `t${i}` }) as unknown as OpenLineageEvent);

/** A server that answers each POST 201 after `delayMs`, counting them. */
async function slowServer(t: TestContext, delayMs: number) {
  const seen: string[] = [];
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      seen.push(request.url ?? '');
      setTimeout(() => response.writeHead(201).end(), delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/lineage`, seen };
}

test('events are POSTed one after another, in the order sent', async (t) => {
  const server = await receiver<{ eventTime: string }>(t, [201]);
  const transport = new LineageTransport({ endpoint: `${server.url}/api/v1/lineage` });
  for (const event of events(20)) transport.send(event);
  assert.deepEqual(await transport.finish(), []);
  assert.deepEqual(
    server.received.map((r) => r.body.eventTime),
    events(20).map((e) => e.eventTime),
  );
});

test('a redirect is an answer, not followed: the event and the key go nowhere else', async (t) => {
  const elsewhere = await receiver(t);
  const server = await receiver(t, [{ status: 307, location: elsewhere.url }]);
  const transport = new LineageTransport({ endpoint: `${server.url}/api/v1/lineage`, apiKey: 'k' });
  transport.send(events(1)[0]!);
  const [problem] = await transport.finish();
  assert.match(problem!, /^1 of 1 OpenLineage events not sent to 127\.0\.0\.1:\d+: HTTP 307; the run is not affected$/);
  assert.equal(elsewhere.received.length, 0);
});

test('at the end of a run, a slow server gets a bounded wait: the events still queued are dropped and counted', async (t) => {
  const server = await slowServer(t, 100);
  const transport = new LineageTransport({ endpoint: server.url });
  for (const event of events(30)) transport.send(event);
  const problems = await transport.finish(300);
  assert.equal(problems.length, 1);
  assert.match(
    problems[0]!,
    /^\d+ of 30 OpenLineage events not sent to 127\.0\.0\.1:\d+: still sending 0\.3s after the run ended, so the rest were dropped/,
  );
  const missed = Number(/^(\d+)/.exec(problems[0]!)![1]);
  assert.ok(missed > 0 && missed <= 30 - (server.seen.length - 1), `${missed} missed, ${server.seen.length} seen`);
  assert.ok(server.seen.length < 30);
});
