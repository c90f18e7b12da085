// What a change to the definitions would run, as Markdown for a pull request.
import { HANDLER_TITLE, HANDLERS } from '../definitions/handlers.js';
import type { Definitions } from '../definitions/model.js';
import { joinWords } from '../definitions/words.js';
import type { Env } from '../git/git.js';
import { EtlError } from '../errors.js';
import { maskPlan, type Plan, type PlannedStep, planRun } from '../runner/plan.js';
import { changedSequences, deletedSequences } from './changed.js';

/**
 * The plan of every sequence the change from `base` to HEAD touches (its steps and error
 * handler, secrets masked), and the sequences it deletes. `definitions` are the validated
 * ones at HEAD: a changed sequence missing from them has errors.
 */
export async function changePlanMarkdown(
  repo: string,
  base: string,
  definitions: Definitions,
  env: Env,
): Promise<string> {
  const changed = await changedSequences(repo, base, { env });
  let markdown = `### What this change would run\n\n`;
  if (changed.length === 0) markdown += 'No sequence changed: merging it runs nothing.\n\n';
  const line = (s: PlannedStep) => `${s.index}. \`${joinWords(s.argv).replace(/`/g, "'")}\``;
  for (const c of changed) {
    markdown += `#### \`${c.name}\`: ${c.reasons.join('; ')}\n\n`;
    if (!definitions.sequences.has(c.name)) {
      markdown += 'This sequence has validation errors: see the annotations.\n\n';
      continue;
    }
    let plan: Plan;
    try {
      plan = maskPlan(planRun(definitions, c.name, env), env);
    } catch (error) {
      // A templated conf that is missing for a run now: the plan says so, and goes on.
      if (!(error instanceof EtlError && error.code === 'missing-conf')) throw error;
      markdown += `A run now would stop before its first step: ${error.message}\n\n`;
      continue;
    }
    markdown += `${plan.steps.map(line).join('\n')}\n\n`;
    for (const handler of HANDLERS)
      if (plan[handler].length) markdown += `${HANDLER_TITLE[handler]}:\n\n${plan[handler].map(line).join('\n')}\n\n`;
  }
  const deleted = await deletedSequences(repo, base, { env });
  if (deleted.length) {
    markdown += `#### Deleted: ${deleted.map((d) => `\`${d}\``).join(', ')}\n\nMerging stops their runs (and schedules); their runs stay in the ledger.\n`;
  }
  return markdown;
}
