// Charts over time, drawn by uPlot: loaded the first time a chart is drawn (the overview does
// not pay for it), from its vendored copy beside the bundle.
import type uPlot from 'uplot';
import type { RunRecord } from '../../runner/records.js';
import { html, useEffect, useRef } from './preact.js';

declare global {
  interface Window {
    uPlot: typeof uPlot;
  }
}

let uPlotLoaded: Promise<typeof uPlot> | undefined;
const loadUPlot = () => {
  uPlotLoaded ??= new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = new URL('./vendor/uPlot.iife.min.js', import.meta.url).href;
    script.onload = () => resolve(window.uPlot);
    script.onerror = () => reject(new Error('chart library missing'));
    document.head.append(script);
  });
  return uPlotLoaded;
};

/**
 * A y axis as wide as its widest label, its ticks and their gap: with uPlot's fixed 50 px, a
 * label like 1,234,567 ran over the axis title beside it.
 */
const labelsWidth = (chart: uPlot, values: string[] | null, index: number) => {
  const axis = chart.axes[index]!;
  if (!values) return 50;
  chart.ctx.font = (axis.font as unknown as string[])[0]!;
  const widest = Math.max(0, ...values.map((v) => chart.ctx.measureText(String(v ?? '')).width)) / devicePixelRatio;
  return Math.ceil(widest) + (axis.ticks as { size: number }).size + (axis.gap as number) + 4;
};

const PALETTE = ['#1c7ed6', '#2f9e44', '#f08c00', '#ae3ec9', '#0c8599', '#e8590c', '#5c7cfa', '#c2255c'];

/** A line of a chart: a value per time, null where a run has none. */
export interface Series {
  label: string;
  values: Array<number | null>;
}

/**
 * A chart over time: `times` (ISO, oldest first) on x, one line per series ({label, values},
 * null where a run has no value).
 */
export function TimeChart({
  caption,
  unit,
  times,
  series,
  format = (v) => String(v),
  height = 220,
}: {
  caption: string;
  unit: string;
  times: string[];
  series: Series[];
  format?: (value: number) => string;
  height?: number;
}) {
  const box = useRef<(HTMLDivElement & { uplot?: uPlot }) | null>(null);
  useEffect(() => {
    let chart: uPlot | undefined;
    let gone = false;
    if (times.length === 0 || series.length === 0) return undefined;
    loadUPlot().then((uPlot) => {
      if (gone || !box.current) return;
      const ink = getComputedStyle(document.body).color;
      const seconds = times.map((t) => Date.parse(t) / 1000);
      const lone = new Set(seconds).size === 1 ? seconds[0]! : null;
      const axis = {
        stroke: ink,
        grid: { stroke: 'rgba(128,128,128,0.2)' },
        ticks: { stroke: 'rgba(128,128,128,0.3)' },
      };
      chart = new uPlot(
        {
          width: box.current.clientWidth,
          height,
          // One run (or runs at one time): its point in the middle, an hour either side (uPlot
          // would put it at the edge of a day).
          scales: {
            x: { time: true, range: (_, min, max) => (lone === null ? [min, max] : [lone - 3600, lone + 3600]) },
          },
          series: [
            {},
            ...series.map((s, i) => ({
              label: s.label,
              stroke: PALETTE[i % PALETTE.length],
              width: 1.5,
              points: { show: true, size: 4 },
              // A run that skipped the step (or failed before it) leaves a gap: the line goes over it.
              spanGaps: true,
              value: (_: uPlot, v: number | null) => (v === null ? '' : format(v)),
            })),
          ],
          axes: [
            // Ticks far enough apart for the widest time label ("12:59:59pm") and a gap.
            { ...axis, space: 90 },
            { ...axis, label: unit, size: labelsWidth },
          ],
        },
        [seconds, ...series.map((s) => s.values)],
        box.current,
      );
      // The chart, for the browser tests (and a curious console) to measure what it drew.
      box.current.uplot = chart;
    });
    return () => {
      gone = true;
      chart?.destroy();
    };
  }, [times.join(), JSON.stringify(series)]);
  return html`<figure class="chart"><figcaption>${caption}</figcaption><div ref=${box}></div></figure>`;
}

/** A column of the sequence page's grid: a step of its newest run. */
export interface StepColumn {
  index: number;
  name: string;
}

/** Each step's duration over the runs shown, oldest on the left. */
export function Durations({ runs, columns }: { runs: RunRecord[]; columns: StepColumn[] }) {
  const ordered = runs.filter((r) => r.started_at).reverse();
  const seconds = (run: RunRecord, column: StepColumn) => {
    const step = run.steps.find((s) => s.role === 'step' && s.index === column.index);
    return step?.duration_ms === null || step?.duration_ms === undefined ? null : step.duration_ms / 1000;
  };
  return html`<${TimeChart}
    caption="Step durations, per run"
    unit="seconds"
    times=${ordered.map((r) => r.started_at)}
    series=${columns.map((c) => ({ label: `${c.index}. ${c.name}`, values: ordered.map((r) => seconds(r, c)) }))}
    format=${(v: number) => `${v.toFixed(2)}s`}
  />`;
}
