// What the pages read: the JSON API of `etl ui`, or a static report's files (the same answers
// written by `etl report`, filtered and paged here).
import type { RunRecord } from '../../runner/records.js';
import type {
  ConfigAnswer,
  DefinitionsAnswer,
  LineageAnswer,
  MetricsAnswer,
  RunAnswer,
  RunsAnswer,
  ScheduleAnswer,
  SequencesAnswer,
} from '../api-types.js';
import { reportRoot, STATIC } from './urls.js';

/** The query of /api/runs; '' is as good as absent. */
export interface RunsQuery {
  sequence?: string;
  status?: string;
  since?: string;
  until?: string;
  before?: string;
  limit?: number;
}

export interface Source {
  sequences(): Promise<SequencesAnswer>;
  schedule(): Promise<ScheduleAnswer | null>;
  runs(query: RunsQuery): Promise<RunsAnswer>;
  metrics(sequence: string): Promise<MetricsAnswer>;
  run(id: string): Promise<RunAnswer>;
  definitions(id: string): Promise<DefinitionsAnswer>;
  lineage(id: string): Promise<LineageAnswer>;
  /** The URL of a step's log ("3", "on_failure-1"). */
  log(id: string, step: string): string;
}

export const getJson = async <T>(url: string): Promise<T> => {
  const response = await fetch(url, { headers: { Accept: 'application/json' } });
  if (!response.ok) throw new Error(`${response.status} ${(await response.json().catch(() => ({}))).error ?? ''}`);
  return response.json();
};

const apiSource: Source = {
  sequences: () => getJson('/api/sequences'),
  schedule: () => getJson('/api/schedule'),
  runs: (query) =>
    getJson(
      `/api/runs?${new URLSearchParams(
        Object.entries(query)
          .filter(([, v]) => v !== undefined && v !== '')
          .map(([k, v]) => [k, String(v)]),
      )}`,
    ),
  metrics: (sequence) => getJson(`/api/sequences/${sequence}/metrics?limit=50`),
  run: (id) => getJson(`/api/runs/${id}`),
  definitions: (id) => getJson(`/api/runs/${id}/definitions`),
  lineage: (id) => getJson(`/api/runs/${id}/lineage`),
  log: (id, step) => `/api/runs/${id}/steps/${step}/log`,
};

const reportSource: Source = {
  sequences: () => getJson(`${reportRoot}data/sequences.json`),
  // A snapshot says nothing of a scheduler: it may be running now, or not.
  schedule: async () => null,
  async runs({ sequence, status, since, until, before, limit = 50 }) {
    const file = `${reportRoot}data/${sequence ? `sequences/${sequence}` : 'runs'}.json`;
    const all = (await getJson<{ runs: RunRecord[] }>(file)).runs;
    const at = (iso: string) => Date.parse(iso);
    let runs = all.filter(
      (r) =>
        (!status || r.status === status) &&
        (!since || at(r.started_at) >= at(since)) &&
        (!until || at(r.started_at) < at(until)),
    );
    if (before) runs = runs.slice(runs.findIndex((r) => r.id === before) + 1);
    return { runs: runs.slice(0, limit), next: runs.length > limit ? runs[limit - 1]!.id : null };
  },
  metrics: (sequence) => getJson(`${reportRoot}data/sequences/${sequence}/metrics.json`),
  run: (id) => getJson(`${reportRoot}data/runs/${id}.json`),
  definitions: (id) => getJson(`${reportRoot}data/runs/${id}/definitions.json`),
  lineage: (id) => getJson(`${reportRoot}data/runs/${id}/lineage.json`),
  log: (id, step) => `${reportRoot}data/runs/${id}/steps/${step}.log`,
};

export const source: Source = STATIC ? reportSource : apiSource;

/** Whether the server allows runs from its pages (a static report never does). */
export const config: Promise<ConfigAnswer> = STATIC ? Promise.resolve({ allow_run: false }) : getJson('/api/config');
