#!/usr/bin/env node
// Profile: counts the raw rows by station and pollutant, a summary for people to read beside
// the database. It runs beside the transform (both need only the extract's output).
import { renameSync, writeFileSync } from 'node:fs';
import { ExitCode, fail, log, metric, parseArgs } from 'etl-ledger/module';
import { readCsvFile } from './lib/csv.mjs';

const args = parseArgs();
if (!args.input || !args.output) fail('needs an input and an output', ExitCode.usage);

const records = readCsvFile(args.input);
const count = (key) => {
  const counts = {};
  for (const row of records) {
    const value = row[key].trim() || '(none)';
    counts[value] = (counts[value] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : 1)));
};
const profile = { rows: records.length, stations: count('station'), pollutants: count('pollutant') };
// Written aside, then renamed: a reader never sees half a file.
writeFileSync(`${args.output}.tmp`, `${JSON.stringify(profile, null, 2)}\n`);
renameSync(`${args.output}.tmp`, args.output);
metric('stations', Object.keys(profile.stations).length);
metric('pollutants', Object.keys(profile.pollutants).length);
log.info(`${records.length} rows, ${Object.keys(profile.stations).length} stations`);
