// Minimal RFC 4180 CSV reading and writing for the example modules.
import { readFileSync } from 'node:fs';
import { ExitCode, fail } from 'etl-ledger/module';

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

/** The records of a CSV file, or the module ends: 66 when it cannot be read, 65 when it is not CSV. */
export function readCsvFile(path) {
  let text;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    fail(`cannot read ${path}: ${error.message}`, ExitCode.noInput);
  }
  try {
    return readRecords(text);
  } catch (error) {
    fail(`${path} is not CSV: ${error.message}`, ExitCode.data);
  }
}
