// One scrape: bring a registry up to date, then write it in Prometheus' text format.
import { Registry } from 'prom-client';
import { type LedgerSources, ledgerMetrics } from './ledger-metrics.js';

export interface Scraped {
  text: string;
  /** text/plain; version=0.0.4: the exposition format every Prometheus reads. */
  type: string;
}

export type Scrape = () => Promise<Scraped>;

/**
 * Writes `registry` after running `updates`, one scrape at a time: two scrapes at once would
 * both count the runs that ended in between.
 */
export function scraper(registry: Registry, updates: Array<() => Promise<void> | void>): Scrape {
  let last: Promise<unknown> = Promise.resolve();
  return () => {
    const next = last.then(async () => {
      for (const update of updates) await update();
      return { text: await registry.metrics(), type: registry.contentType };
    });
    last = next.catch(() => {});
    return next;
  };
}

/** The ledger's metrics in a registry of their own: `etl ui`'s /metrics. */
export function ledgerScraper(sources: LedgerSources): Scrape {
  const registry = new Registry();
  return scraper(registry, [ledgerMetrics(registry, sources)]);
}
