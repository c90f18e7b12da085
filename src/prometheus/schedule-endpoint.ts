// `etl schedule --metrics`: the ledger's metrics and the daemon's own (ticks, up time) in one
// registry, served while the daemon runs.
import { Registry } from 'prom-client';
import type { DaemonEndpoint } from '../schedule/daemon.js';
import { type MetricsAddress, type ServedMetrics, serveMetrics } from './http.js';
import { type LedgerSources, ledgerMetrics } from './ledger-metrics.js';
import { scheduleMetrics } from './schedule-metrics.js';
import { scraper } from './scrape.js';

export function scheduleEndpoint(options: LedgerSources & { address: MetricsAddress }): DaemonEndpoint {
  const registry = new Registry();
  const schedule = scheduleMetrics(registry, options.since);
  const scrape = scraper(registry, [
    ledgerMetrics(registry, options),
    async () => schedule.update(await options.definitions(), options.now()),
  ]);
  let served: ServedMetrics | undefined;
  return {
    async start() {
      served = await serveMetrics(options.address, scrape);
      return served.url;
    },
    event: (event) => schedule.event(event),
    close: async () => served?.close(),
  };
}
