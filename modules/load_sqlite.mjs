#!/usr/bin/env node
// Load: writes the clean rows into a SQLite database file (--output), replacing the rows of
// the same station, date and pollutant so that running it twice gives the same database.
// Uses sql.js, SQLite compiled to WebAssembly: no native build needed.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ExitCode, fail, log, metric, parseArgs } from 'etl-ledger/module';
import initSqlJs from 'sql.js';
import { readCsvFile } from './lib/csv.mjs';

const args = parseArgs();
if (!args.input || !args.output) fail('needs an input and an output', ExitCode.usage);

const rows = readCsvFile(args.input);
const path = args.output.replace(/^sqlite:\/\//, '');

const SQL = await initSqlJs();
const db = existsSync(path) ? new SQL.Database(readFileSync(path)) : new SQL.Database();
db.run(`CREATE TABLE IF NOT EXISTS measurements (
  station TEXT NOT NULL, date TEXT NOT NULL, pollutant TEXT NOT NULL, value_ugm3 REAL NOT NULL,
  PRIMARY KEY (station, date, pollutant))`);
db.run('BEGIN');
const insert = db.prepare('INSERT OR REPLACE INTO measurements VALUES (?, ?, ?, ?)');
for (const r of rows) {
  const value = Number(r.value_ugm3);
  if (!r.station || !r.date || !r.pollutant || !Number.isFinite(value))
    fail(`bad row in ${args.input}: ${JSON.stringify(r)}`, ExitCode.data);
  insert.run([r.station, r.date, r.pollutant, value]);
}
insert.free();
db.run('COMMIT');
const [[count]] = db.exec('SELECT count(*) FROM measurements')[0].values;
mkdirSync(dirname(path), { recursive: true });
// Write beside and rename: a crash never leaves a half-written database.
writeFileSync(`${path}.tmp`, db.export());
renameSync(`${path}.tmp`, path);
db.close();
log.info(`loaded ${rows.length} rows into ${path} (table measurements now has ${count} rows)`);
metric('rows_loaded', rows.length);
metric('table_rows', count);
