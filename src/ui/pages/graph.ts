// A graph run's steps as a small SVG: one row per level (a level is the longest path from a
// step that needs nothing, as `etl plan` counts them), an edge from each needed step to the
// step that needs it, each node coloured by its status and linking to the step. No layout
// library: a level's steps are ordered by where the steps they need stand (one pass).
import { graphLevels } from '../../definitions/graph.js';
import type { StepSummary } from '../../runner/records.js';
import { html } from './preact.js';

/** A step as the graph draws it: `needs` as indexes, like the records'. */
export type GraphStep = Pick<StepSummary, 'index' | 'name' | 'status' | 'needs'>;

export interface PlacedStep {
  step: GraphStep;
  level: number;
  x: number;
  y: number;
}

export interface GraphLayout {
  nodes: PlacedStep[];
  /** `gutter`: of an edge that skips a level, the x of its way down, right of the nodes. */
  edges: Array<{ from: PlacedStep; to: PlacedStep; gutter?: number }>;
  width: number;
  height: number;
}

export const NODE = { width: 132, height: 30, gapX: 14, gapY: 34, pad: 4 } as const;
/** The room between edges that go round the steps, right of them. */
const GUTTER = 8;
/** The characters of a name a node has room for; the whole name is in its tooltip. */
const LABEL_CHARS = 17;

/** Where each step goes: its level is its row, its place in the row follows the steps it needs. */
export function layoutGraph(steps: readonly GraphStep[]): GraphLayout {
  const position = new Map(steps.map((step, at) => [step.index, at]));
  const needs = steps.map((step) =>
    (step.needs ?? []).flatMap((index) => {
      const at = position.get(index);
      return at === undefined ? [] : [at];
    }),
  );
  const levels = graphLevels(needs);
  // A step no level holds (only in a cycle, which validation refuses) goes last.
  const placed = new Set(levels.flat());
  const rest = steps.flatMap((_, at) => (placed.has(at) ? [] : [at]));
  if (rest.length) levels.push(rest);
  const widest = Math.max(1, ...levels.map((level) => level.length));
  const column = new Map<number, number>(); // position -> its centre, in node widths from the middle
  const nodes: PlacedStep[] = new Array(steps.length);
  const pitch = NODE.width + NODE.gapX;
  levels.forEach((level, row) => {
    const centre = (at: number) => {
      const from = needs[at]!.filter((n) => column.has(n)).map((n) => column.get(n)!);
      return from.length ? from.reduce((a, b) => a + b, 0) / from.length : 0;
    };
    const ordered = row === 0 ? level : [...level].sort((a, b) => centre(a) - centre(b) || a - b);
    ordered.forEach((at, i) => {
      column.set(at, i - (ordered.length - 1) / 2);
      nodes[at] = {
        step: steps[at]!,
        level: row,
        x: NODE.pad + ((widest - ordered.length) / 2 + i) * pitch,
        y: NODE.pad + row * (NODE.height + NODE.gapY),
      };
    });
  });
  // An edge to a step more than a level below goes round the steps between, each in a gutter of its own.
  const right = NODE.pad + widest * pitch - NODE.gapX;
  let gutters = 0;
  const edges = needs.flatMap((list, at) =>
    list.map((need) => {
      const [from, to] = [nodes[need]!, nodes[at]!];
      return to.level - from.level > 1 ? { from, to, gutter: right + GUTTER * ++gutters } : { from, to };
    }),
  );
  return {
    nodes,
    edges,
    width: right + GUTTER * gutters + NODE.pad,
    height: 2 * NODE.pad + levels.length * (NODE.height + NODE.gapY) - NODE.gapY,
  };
}

const label = (name: string) => (name.length > LABEL_CHARS ? `${name.slice(0, LABEL_CHARS - 1)}…` : name);

/**
 * An edge: down from the bottom of the needed step to the top of the step, as a curve; one
 * that skips levels runs in the gaps between rows and down its gutter, never across a step.
 */
function edgePath({ from, to, gutter }: GraphLayout['edges'][number]): string {
  const x1 = from.x + NODE.width / 2;
  const y1 = from.y + NODE.height;
  const x2 = to.x + NODE.width / 2;
  const y2 = to.y;
  if (gutter !== undefined) {
    const [down, up] = [y1 + NODE.gapY / 2 - 4, y2 - NODE.gapY / 2 + 4];
    return `M${x1} ${y1} V${down} H${gutter} V${up} H${x2} V${y2 - 3}`;
  }
  const mid = (y1 + y2) / 2;
  return `M${x1} ${y1} C${x1} ${mid} ${x2} ${mid} ${x2} ${y2 - 3}`;
}

/**
 * The steps of a graph run as an SVG. `href` says where a node goes (its step on the run's
 * page); without it (a definition's steps, before a run) nodes are no links and say no status.
 * Names are text nodes: Preact never parses them as markup.
 */
export function StepGraph({
  steps,
  href,
  label: what,
}: {
  steps: readonly GraphStep[];
  href?: (step: GraphStep) => string;
  label: string;
}) {
  const layout = layoutGraph(steps);
  return html`<div class="scroll graph-box"><svg class="graph" role="group" aria-label=${what} width=${layout.width} height=${layout.height} viewBox=${`0 0 ${layout.width} ${layout.height}`}>
    <title>${what}</title>
    <defs><marker id="graph-arrow" viewBox="0 0 6 6" refX="5" refY="3" markerWidth="6" markerHeight="6" orient="auto"><path d="M0 0 L6 3 L0 6 z" /></marker></defs>
    ${layout.edges.map(
      (edge) =>
        html`<path class="edge" data-from=${edge.from.step.index} data-to=${edge.to.step.index} d=${edgePath(edge)} marker-end="url(#graph-arrow)" />`,
    )}
    ${layout.nodes.map(({ step, x, y }) => {
      const says = `${step.index}. ${step.name}${href ? `: ${step.status.replace('_', ' ')}` : ''}`;
      return html`<${href ? 'a' : 'g'} class=${`node s-${step.status}`} href=${href?.(step)} data-step=${`step-${step.index}`} aria-label=${says} role=${href ? undefined : 'img'}>
        <title>${says}</title>
        <rect x=${x} y=${y} width=${NODE.width} height=${NODE.height} rx="5" />
        <text x=${x + NODE.width / 2} y=${y + NODE.height / 2} dominant-baseline="central" text-anchor="middle">${label(step.name)}</text>
      </${href ? 'a' : 'g'}>`;
    })}
  </svg></div>`;
}
