// Minimal RFC 4180 CSV reading and writing for the example modules.
import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/** Parses CSV text into rows of strings; quoted fields may hold commas, quotes and newlines. */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (quoted) throw new Error('unterminated quoted field');
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** Reads CSV text with a header into objects keyed by column name. */
export function readRecords(text) {
  const [header, ...rows] = parseCsv(text).filter((r) => r.some((cell) => cell !== ''));
  if (!header) return [];
  return rows.map((row) => Object.fromEntries(header.map((name, i) => [name, row[i] ?? ''])));
}

export function writeCsv(columns, records) {
  const cell = (v) => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return `${[columns.join(','), ...records.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\n')}\n`;
}

/** The module interface: COMMAND [--input PATH] [--output PATH] [--config PATH]. */
export function moduleArgs(name) {
  try {
    return parseArgs({
      options: { input: { type: 'string' }, output: { type: 'string' }, config: { type: 'string' } },
      strict: true,
    }).values;
  } catch (error) {
    fail(name, error.message);
  }
}

/** Prints a message on stderr and exits 1: the runner stops the sequence and runs on_failure. */
export function fail(name, message) {
  process.stderr.write(`${name}: ${message}\n`);
  process.exit(1);
}

/** Step metrics for etl-ledger: key=value lines appended to the file ETL_METRICS names (when run by it). */
export function writeMetrics(metrics) {
  if (!process.env.ETL_METRICS) return;
  const lines = Object.entries(metrics).map(([key, value]) => `${key}=${value}\n`);
  appendFileSync(process.env.ETL_METRICS, lines.join(''));
}
