// `etl report`: the pages of `etl ui` as static files, for GitHub Pages or any static server.
// The data is the API's own answers, asked of the same code the server runs and written as
// files: what a report shows is what the live page would have shown at that moment.
import {
  createReadStream,
  createWriteStream,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { EtlError } from '../errors.js';
import type { RunRecord } from '../runner/records.js';
import { type ApiContext, type ApiResponse, handleApi, MAX_PAGE } from './api.js';
import { PAGE_POLICY } from './server.js';

/** Left in a report's folder: a folder holding it may be replaced by the next report. */
const MARKER = '.etl-report';
/** The newest runs of all sequences, for the overview's counts and the board. */
const NEWEST = 500;

export interface ReportOptions {
  /** The newest runs of each sequence to include. */
  runs: number;
  now: Date;
}

export interface ReportSummary {
  sequences: number;
  runs: number;
  pages: number;
}

/**
 * Writes the report into `out`, whole or not at all: built in a folder beside it, then put in
 * its place. A folder that is not a report (no marker, not empty) is never replaced.
 */
export async function writeReport(context: ApiContext, out: string, options: ReportOptions): Promise<ReportSummary> {
  const target = resolve(out);
  const existing = statSync(target, { throwIfNoEntry: false });
  if (existing && !existing.isDirectory())
    throw new EtlError('usage', `${out} is a file, not a folder: give a folder for the report`);
  if (existing && readdirSync(target).length > 0 && !existsSync(join(target, MARKER)))
    throw new EtlError(
      'usage',
      `${out} exists and is not an etl report: give an empty or new folder (a report's folder is replaced whole)`,
    );
  const building = join(dirname(target), `.${basename(target)}.building-${process.pid}`);
  rmSync(building, { recursive: true, force: true });
  try {
    mkdirSync(dirname(target), { recursive: true });
    // Not recursive: its parent exists now (and a recursive mkdir can loop where writing is refused, as under /proc).
    mkdirSync(building);
  } catch (error) {
    throw new EtlError('report-write', `cannot write the report in ${out}: ${(error as Error).message}`);
  }
  try {
    const summary = await build(context, building, options);
    const old = `${building}.old`;
    if (existsSync(target)) renameSync(target, old);
    renameSync(building, target);
    rmSync(old, { recursive: true, force: true });
    return summary;
  } catch (error) {
    // Nothing half-written is left, and an earlier report stays as it was.
    rmSync(building, { recursive: true, force: true });
    if (error instanceof EtlError) throw error;
    throw new EtlError('report-write', `cannot write the report in ${out}: ${(error as Error).message}`);
  }
}

/** A sequence's newest `count` runs, a page of the API at a time (its pages are smaller). */
async function newestRuns(
  ask: (path: string, query: Record<string, string>) => Promise<ApiResponse>,
  sequence: string,
  count: number,
): Promise<RunRecord[]> {
  const runs: RunRecord[] = [];
  let before: string | null = null;
  do {
    const query: Record<string, string> = { sequence, limit: String(Math.min(count - runs.length, MAX_PAGE)) };
    if (before) query.before = before;
    const page = (await ask('/runs', query)).json as { runs: RunRecord[]; next: string | null };
    runs.push(...page.runs);
    before = page.next;
  } while (before && runs.length < count);
  return runs;
}

async function build(context: ApiContext, dir: string, options: ReportOptions): Promise<ReportSummary> {
  const ask = async (path: string, query: Record<string, string> = {}): Promise<ApiResponse> => {
    const answer = await handleApi(context, 'GET', path, new URLSearchParams(query));
    if (answer.status !== 200)
      throw new EtlError('usage', `cannot read ${path} for the report: ${JSON.stringify(answer.json)}`);
    return answer;
  };
  const write = (path: string, json: unknown) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), `${JSON.stringify(json)}\n`);
  };
  const pages: string[] = ['', 'board'];
  const included = new Set<string>();

  const { sequences } = (await ask('/sequences')).json as {
    sequences: Array<{ name: string; recent: Array<{ id: string }> }>;
  };
  for (const sequence of sequences) {
    const runs = await newestRuns(ask, sequence.name, options.runs);
    write(`data/sequences/${sequence.name}.json`, { runs, next: null });
    write(
      `data/sequences/${sequence.name}/metrics.json`,
      (await ask(`/sequences/${sequence.name}/metrics`, { limit: String(options.runs) })).json,
    );
    pages.push(`sequences/${sequence.name}`);
    for (const run of runs) {
      included.add(run.id);
      pages.push(`runs/${run.id}`);
      write(`data/runs/${run.id}.json`, (await ask(`/runs/${run.id}`)).json);
      write(`data/runs/${run.id}/definitions.json`, (await ask(`/runs/${run.id}/definitions`)).json);
      write(`data/runs/${run.id}/lineage.json`, (await ask(`/runs/${run.id}/lineage`)).json);
      // Every step that started has a log to show (a running one's record comes when it ends).
      for (const line of run.steps) {
        if (line.status === 'pending' || line.status === 'skipped') continue;
        const name = `${line.role === 'step' ? '' : `${line.role}-`}${line.index}`;
        await copyPart(
          (await ask(`/runs/${run.id}/steps/${name}/log`)).file!,
          join(dir, `data/runs/${run.id}/steps/${name}.log`),
        );
      }
    }
  }
  // A strip or a board links only to runs the report holds.
  for (const sequence of sequences) sequence.recent = sequence.recent.filter((r) => included.has(r.id));
  write('data/sequences.json', { sequences, now: options.now.toISOString() });
  const newest = (await ask('/runs', { limit: String(NEWEST) })).json as { runs: RunRecord[] };
  write('data/runs.json', { runs: newest.runs.filter((r) => included.has(r.id)), next: null });

  const assets = new URL('./assets/', import.meta.url);
  cpSync(assets, join(dir, 'assets'), { recursive: true });
  rmSync(join(dir, 'assets/index.html'));
  const template = readFileSync(new URL('index.html', assets), 'utf8');
  for (const page of pages) {
    const root = page ? '../'.repeat(page.split('/').length) : './';
    mkdirSync(join(dir, page), { recursive: true });
    writeFileSync(join(dir, page, 'index.html'), pageHtml(template, root, page, options.now));
  }
  writeFileSync(join(dir, MARKER), 'Written by etl report: this folder is replaced whole by the next one.\n');
  return { sequences: sequences.length, runs: included.size, pages: pages.length };
}

/**
 * The served page made static: its links relative to the report's root (it may be served
 * under a path, as GitHub Pages serves a project), told which page it is and when it was
 * made, with the server's Content-Security-Policy as a meta tag (a static host sends none).
 */
function pageHtml(template: string, root: string, page: string, now: Date): string {
  const attribute = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  return template
    .replace(/(href|src)="\/(?!\/)/g, `$1="${root}`)
    .replace(`${root}api/sequences">/api/sequences`, `${root}data/sequences.json">data/sequences.json`)
    .replace(
      '<meta charset="utf-8">',
      `<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${attribute(PAGE_POLICY)}">
<meta name="etl-report-root" content="${attribute(root)}">
<meta name="etl-report-page" content="${attribute(page)}">
<meta name="etl-report-time" content="${now.toISOString()}">`,
    )
    .replace(
      '</head>',
      // A plain script (the browser runs it from file://, where it refuses the module): says how to serve the report.
      `<script src="${root}assets/opened-from-disk.js" defer></script>
</head>`,
    );
}

/** Bytes [start, end) of a file, copied a chunk at a time. */
async function copyPart(part: NonNullable<ApiResponse['file']>, to: string): Promise<void> {
  mkdirSync(dirname(to), { recursive: true });
  if (part.end <= part.start) {
    writeFileSync(to, '');
    return;
  }
  await pipeline(createReadStream(part.path, { start: part.start, end: part.end - 1 }), createWriteStream(to));
}
