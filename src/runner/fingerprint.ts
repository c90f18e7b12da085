// skip_unchanged: a step given the same as its last successful run (module files, `depends` included,
// argv with its cmd and flags, non-secret env, params, config content, input hashes), whose output still has the hash
// that run recorded, need not run again. What it was given is kept as one hash in its record
// (its fingerprint); the last successful run's is found in the ledger (src/ledger/earlier-runs.ts).
import { createHash } from 'node:crypto';
import { describeArtifact } from './lineage.js';
import type { Plan, PlannedStep } from './plan.js';
import type { Artifact, DefinitionsPin, StepLineage } from './records.js';

/** A step's last successful execution, as its record has it. */
export interface DoneBefore {
  run_id: string;
  fingerprint: string;
  output: Artifact | null;
}

/**
 * What a step is given, as one sha256; undefined when its input is not a local file or folder
 * whose content is known (a URL, a database, a missing file, a folder past its bound): such a
 * step is never judged unchanged.
 */
export function fingerprintOf(
  planned: PlannedStep,
  plan: Pick<Plan, 'secrets' | 'params'>,
  pin: DefinitionsPin,
  read: Pick<StepLineage, 'input' | 'config'>,
): string | undefined {
  const input = read.input;
  if (!input || (input.kind !== 'file' && input.kind !== 'folder') || input.bounded || !input.sha256) return undefined;
  if (read.config && read.config.kind !== 'external' && !read.config.sha256) return undefined;
  const given = {
    module: planned.module,
    // The run's pin holds each module file's blob hash, of the content that ran.
    module_files: planned.module_files.map((file) => [file, pin.files[file] ?? null]),
    argv: planned.argv,
    env: sortedEntries(planned.env).filter(([name]) => !plan.secrets.includes(name)),
    // The modules get them as ETL_PARAM_*; the tick is left out (it differs every run).
    params: sortedEntries(plan.params),
    input: input.sha256,
    config: read.config?.sha256 ?? read.config?.path ?? null,
  };
  return createHash('sha256').update(JSON.stringify(given)).digest('hex');
}

const sortedEntries = (values: Record<string, string>) =>
  Object.entries(values).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

export type Verdict = { unchanged: true; run_id: string } | { unchanged: false; why: string };

/** Whether a step may be skipped: its fingerprint matches `before` and its output holds still. */
export async function judgeUnchanged(
  planned: PlannedStep,
  fingerprint: string | undefined,
  before: DoneBefore | undefined,
  signal?: AbortSignal,
): Promise<Verdict> {
  if (fingerprint === undefined)
    return { unchanged: false, why: 'its input is not a local file or folder whose content is known' };
  if (!before) return { unchanged: false, why: 'no successful run of this step is recorded to compare with' };
  if (before.fingerprint !== fingerprint)
    return {
      unchanged: false,
      why: `it is given something different from run ${before.run_id} (module, argv, env, config or input)`,
    };
  if (planned.output !== undefined) {
    const recorded = before.output;
    if (!recorded?.sha256)
      return { unchanged: false, why: `its output ${planned.output} is not a local file run ${before.run_id} hashed` };
    const now = await describeArtifact(planned.output, recorded.path, planned.cwd, signal);
    if (now?.sha256 !== recorded.sha256)
      return {
        unchanged: false,
        why: `its output ${recorded.path} is ${now?.kind === 'missing' ? 'missing' : 'not what'}${now?.kind === 'missing' ? '' : ` run ${before.run_id} wrote`}`,
      };
  }
  return { unchanged: true, run_id: before.run_id };
}
