import { parseCron } from '../definitions/cron.js';
import { isGraph, neededPositions } from '../definitions/graph.js';
import type { Definitions, SequenceDef } from '../definitions/model.js';
import { nextTick } from './next-tick.js';

export interface SequenceSummary {
  name: string;
  file: string;
  steps: number;
  description?: string;
  schedule?: string;
  timezone: string;
  /** ISO 8601 UTC; absent without a schedule (or for one that never fires, like 31 Feb). */
  next_run?: string;
  /** A graph (steps with needs): each step with the indexes of the steps it needs, as a run records them. */
  graph?: Array<{ index: number; name: string; needs: number[] }>;
}

/** The sequences of a repository with their step counts and when each next runs. */
export function listSequences(definitions: Definitions, now: Date): SequenceSummary[] {
  return [...definitions.sequences.values()]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((sequence) => {
      const timezone = sequence.timezone ?? 'UTC';
      const cron = sequence.schedule === undefined ? undefined : parseCron(sequence.schedule).cron;
      const next = cron ? nextTick(cron, now, timezone) : undefined;
      return {
        name: sequence.name,
        file: sequence.file,
        steps: sequence.steps.length,
        description: sequence.description,
        schedule: sequence.schedule,
        timezone,
        next_run: next?.toISOString(),
        ...definedGraph(sequence),
      };
    });
}

/** A graph's steps as its definition says, for drawing it before (or without) a run. */
function definedGraph(sequence: SequenceDef): Pick<SequenceSummary, 'graph'> {
  if (!isGraph(sequence)) return {};
  const needs = neededPositions(sequence.steps);
  return {
    graph: sequence.steps.map((step, at) => ({
      index: step.index,
      name: step.name,
      needs: needs[at]!.map((position) => position + 1),
    })),
  };
}
