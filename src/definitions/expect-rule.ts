// The rules a step may state on its metrics (`"expect": {"rows": ">= 1"}`), as text is read
// into them: lint reports a rule that says nothing, the runner checks the ones that do.
// Three forms:
//   ">= 1"  "< 5"  "== 0"  "!= 0"            the value against a number
//   "< 5% of rows_read"                       against a share of another metric of the step
//   "within 20% of last"                      against the step's value in the last successful run

export type Comparison = '>=' | '<=' | '==' | '!=' | '>' | '<';

export type Rule =
  | { kind: 'compare'; op: Comparison; number: number }
  | { kind: 'share'; op: Comparison; percent: number; of: string }
  | { kind: 'within'; percent: number };

const NUM = '([+-]?(?:\\d+\\.?\\d*|\\.\\d+))';
const COMPARE = new RegExp(`^(>=|<=|==|!=|>|<)\\s*${NUM}$`);
const SHARE = new RegExp(`^(>=|<=|==|!=|>|<)\\s*${NUM}\\s*%\\s+of\\s+([A-Za-z_][A-Za-z0-9_.-]*)$`);
const WITHIN = new RegExp(`^within\\s+${NUM}\\s*%\\s+of\\s+last$`);

/** The rule a text says, or why it says none (for a located error). */
export function parseRule(text: string): Rule | { error: string } {
  const rule = text.trim();
  let match = COMPARE.exec(rule);
  if (match) return { kind: 'compare', op: match[1] as Comparison, number: Number(match[2]) };
  match = SHARE.exec(rule);
  if (match) return { kind: 'share', op: match[1] as Comparison, percent: Number(match[2]), of: match[3]! };
  match = WITHIN.exec(rule);
  if (match) return { kind: 'within', percent: Number(match[1]) };
  return {
    error: `"${text}" is not an expectation: expected a comparison such as ">= 1", "< 5% of rows_read" or "within 20% of last"`,
  };
}
