// Live updates of `etl ui`: Server-Sent Events driven by a watch of the ledger, not a timer.
import assert from 'node:assert/strict';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { test, type TestContext } from 'node:test';
import { LedgerWatch } from '../../src/ui/watch.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipelineRepo, startCli } from '../helpers/repo.js';
import { uiServerOn } from '../helpers/ui-server.js';

interface Stream {
  events: Array<{ event: string; data: string; id?: string }>;
  /** Resolves when an event passes the test. */
  until(test: (event: { event: string; data: string }) => boolean): Promise<void>;
  close(): void;
}

function events(url: string, headers: Record<string, string> = {}): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const request = httpGet(new URL('/api/events', url), { headers }, (response: IncomingMessage) => {
      assert.equal(response.headers['content-type'], 'text/event-stream; charset=utf-8');
      const seen: Stream['events'] = [];
      const waiters: Array<{ test: (e: { event: string; data: string }) => boolean; resolve: () => void }> = [];
      let buffer = '';
      response.setEncoding('utf8').on('data', (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const field = (name: string) => new RegExp(`^${name}: ?(.*)$`, 'm').exec(block)?.[1];
          const event = field('event');
          if (event) {
            const item = { event, data: field('data') ?? '', id: field('id') ?? undefined };
            seen.push(item);
            for (const waiter of [...waiters]) if (waiter.test(item)) waiter.resolve();
          }
          end = buffer.indexOf('\n\n');
        }
      });
      resolve({
        events: seen,
        until: (test) =>
          new Promise((done) => {
            if (seen.some(test)) return done();
            waiters.push({ test, resolve: done });
          }),
        close: () => request.destroy(),
      });
    });
    request.on('error', reject);
  });
}

const serve = (t: TestContext, repo: string) => uiServerOn(t, repo, { definitions: async () => undefined });

test('a run started while the page is open is told as it goes and as it ends, runs/ made after the server started', {
  timeout: 20_000,
}, async (t) => {
  const repo = pipelineRepo(t, {
    modules: { ok: { cmd: './modules/ok.sh' }, nap: { cmd: './modules/sleep.sh 0.4' } },
    sequences: { s: [{ module_name: 'ok' }, { module_name: 'nap' }, { module_name: 'ok' }] },
  });
  const url = await serve(t, repo); // no runs/ yet: the first run makes it
  const stream = await events(url);
  t.after(() => stream.close());
  const runner = startCli(['run', 's'], { cwd: repo });
  const line = await runner.line(/^etl run s (\S+)/);
  const id = line.split(' ').at(-1)!;
  const aboutRun = (e: { event: string; data: string }) => e.event === 'run' && JSON.parse(e.data).id === id;
  await stream.until(aboutRun);
  assert.equal(runner.child.exitCode, null, 'told while the run still goes');
  const told = stream.events.filter(aboutRun).length;
  assert.equal((await runner.done).code, 0);
  await stream.until((e) => aboutRun(e) && stream.events.filter(aboutRun).length > told);
  assert.deepEqual(JSON.parse(stream.events.find(aboutRun)!.data), { sequence: 's', id });
  // A client coming back after a gap is told to reload what it shows.
  const again = await events(url, { 'Last-Event-ID': stream.events.at(-1)!.id ?? '1' });
  t.after(() => again.close());
  await again.until((e) => e.event === 'resync');
});

test('a large ledger is watched at a few folders per sequence, not one per run', (t) => {
  const repo = pipelineRepo(t, { modules: {}, sequences: {} });
  for (let i = 0; i < 300; i++) {
    const id = `2024${String((i % 12) + 1).padStart(2, '0')}01T000000000Z-${i.toString(16).padStart(8, '0')}`;
    const folder = join(repo, 'runs', `s${i % 3}`, '2024', id.slice(4, 6), '01', id);
    mkdirSync(join(folder, 'steps'), { recursive: true });
    writeFileSync(join(folder, 'run.json'), JSON.stringify({ status: 'succeeded' }));
  }
  const watch = new LedgerWatch([repo], () => {});
  t.after(() => watch.close());
  // runs/, and for each of the 3 sequences its folder (today's year does not exist there).
  assert.equal(watch.watching, 4);
});
