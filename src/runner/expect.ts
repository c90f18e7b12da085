// Expectations on a step's metrics (`"expect": {"rows": ">= 1"}`): checked when the step's
// module has exited 0; one that does not hold fails the step, naming the rule, the value and
// what it was compared with. The rules' forms are read in definitions/expect-rule.ts.
import { type Comparison, parseRule } from '../definitions/expect-rule.js';
import type { MetricValue } from './metrics.js';

export interface Expectation {
  metric: string;
  rule: string;
  ok: boolean;
  /** What was found: "rows >= 1: got 0". */
  message: string;
}

/**
 * Whether a step's rules compare with the last successful run ("within 20% of last"): only
 * then is the ledger asked for that run's metrics.
 */
export function comparesWithLast(rules: Record<string, string>): boolean {
  return Object.values(rules).some((text) => {
    const rule = parseRule(text);
    return !('error' in rule) && rule.kind === 'within';
  });
}

/** What the last successful run's step wrote, for "within N% of last". */
export interface LastMetrics {
  run_id: string;
  metrics: Record<string, MetricValue>;
  /** Why that run has no metrics of the step ("did not run step 2"), when it has none. */
  missing?: string;
}

const holds = (op: Comparison, a: number, b: number): boolean =>
  op === '>='
    ? a >= b
    : op === '<='
      ? a <= b
      : op === '=='
        ? a === b
        : op === '!='
          ? a !== b
          : op === '>'
            ? a > b
            : a < b;

const round = (n: number) => Math.round(n * 1000) / 1000;

/** Checks each rule of a step against the metrics its module wrote. */
export function checkExpectations(
  rules: Record<string, string>,
  metrics: Record<string, MetricValue>,
  last: LastMetrics | undefined,
): Expectation[] {
  return Object.entries(rules).map(([metric, text]) => {
    const rule = parseRule(text);
    const result = (ok: boolean, found: string): Expectation => ({
      metric,
      rule: text,
      ok,
      message: `${metric} ${text.trim()}: ${found}`,
    });
    if ('error' in rule) return result(false, rule.error);
    const value = metrics[metric];
    if (value === undefined) return result(false, 'the module wrote no such metric to ETL_METRICS');
    if (typeof value !== 'number') return result(false, `got "${value}", not a number`);
    if (rule.kind === 'compare') return result(holds(rule.op, value, rule.number), `got ${value}`);
    if (rule.kind === 'share') {
      const whole = metrics[rule.of];
      if (typeof whole !== 'number')
        return result(false, `got ${value}, and ${rule.of} is not a number the module wrote`);
      // Compared with the share itself, not a rounded one (0.0006 is not < 0.05% of 1); a
      // product only floating point makes unequal (30% of 1 is 0.30000000000000004) is equal.
      const share = (rule.percent / 100) * whole;
      const reference = Math.abs(share - value) <= 1e-12 * Math.max(Math.abs(share), Math.abs(value)) ? value : share;
      return result(
        holds(rule.op, value, reference),
        `got ${value}, and ${rule.percent}% of ${rule.of} (${whole}) is ${Number(share.toPrecision(12))}`,
      );
    }
    const before = last?.metrics[metric];
    if (typeof before !== 'number')
      return result(
        true,
        `got ${value}; ${last ? `the last successful run (${last.run_id}) ${last.missing ?? (before === undefined ? `wrote no ${metric}` : `had "${before}", not a number`)}: nothing to compare with` : 'no successful run before to compare with'}`,
      );
    const change =
      before === 0 ? (value === 0 ? 0 : Number.POSITIVE_INFINITY) : ((value - before) / Math.abs(before)) * 100;
    return result(
      Math.abs(change) <= rule.percent,
      `got ${value}, the last successful run (${last!.run_id}) had ${before} (${change === Number.POSITIVE_INFINITY ? 'from 0' : `${change > 0 ? '+' : ''}${round(change)}%`})`,
    );
  });
}
