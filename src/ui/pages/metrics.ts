// The sequence page's metric charts: what its steps wrote to ETL_METRICS.
import type { Role } from '../../runner/records.js';
import { type Series, TimeChart } from './charts.js';
import { useLoaded } from './live.js';
import { source } from './source.js';
import { html } from './preact.js';

/** Numbers kept per chart at most: a module writing dozens of metrics would make an unreadable one. */
const METRIC_CHARTS = 6;

interface StepName {
  index: number;
  role: Role;
  name: string;
}

/**
 * What the steps wrote to ETL_METRICS over the sequence's newest runs: a chart per numeric
 * metric, a line per step that wrote it.
 */
export function Metrics({ name }: { name: string }) {
  const state = useLoaded(
    () => source.metrics(name),
    (change) => change.sequence === name,
    [name],
  );
  if (state.error) return html`<p class="muted">Metrics: ${state.error}</p>`;
  const points = state.data?.points ?? [];
  if (points.length === 0) return '';
  const times = [...new Set(points.map((p) => p.started_at))].sort();
  // The charts in the order of the steps (the first that wrote a key), then of the keys.
  const firstWriter = new Map<string, number>();
  const rank = (step: StepName) => (step.role === 'step' ? 0 : 1_000_000) + step.index;
  for (const p of points)
    for (const [key, value] of Object.entries(p.metrics))
      if (typeof value === 'number') firstWriter.set(key, Math.min(firstWriter.get(key) ?? Infinity, rank(p.step)));
  const keys = [...firstWriter.keys()].sort(
    (a, b) => firstWriter.get(a)! - firstWriter.get(b)! || (a < b ? -1 : a > b ? 1 : 0),
  );
  return html`<section class="metrics" aria-label="metrics">
    ${keys.slice(0, METRIC_CHARTS).map((key) => {
      const steps = [
        ...new Map(
          points
            .filter((p) => typeof p.metrics[key] === 'number')
            .map((p) => [`${p.step.role} ${p.step.index}`, p.step]),
        ).values(),
      ].sort((a, b) => (a.role === b.role ? a.index - b.index : a.role === 'step' ? -1 : 1));
      const series: Series[] = steps.map((step) => ({
        label: `${step.role === 'step' ? '' : `${step.role.replace('_', ' ')} `}${step.index}. ${step.name}`,
        values: times.map((t) => {
          const p = points.find((q) => q.started_at === t && q.step.role === step.role && q.step.index === step.index);
          const value = p?.metrics[key];
          return typeof value === 'number' ? value : null;
        }),
      }));
      return html`<${TimeChart} caption=${`Metric ${key}, per run`} unit=${key} times=${times} series=${series} height=${160} />`;
    })}
    ${keys.length > METRIC_CHARTS ? html`<p class="muted">${keys.length - METRIC_CHARTS} more metrics: etl metrics ${name}</p>` : ''}
  </section>`;
}
