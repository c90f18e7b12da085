#!/usr/bin/env node
// Profile: counts the raw rows by station and pollutant, a summary for people to read beside
// the database. It runs beside the transform (both need only the extract's output).
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fail, moduleArgs, readRecords, writeMetrics } from './lib/csv.mjs';

const NAME = 'profile.mjs';
const args = moduleArgs(NAME);
if (!args.input || !args.output) fail(NAME, 'needs --input and --output');

let records;
try {
  records = readRecords(readFileSync(args.input, 'utf8'));
} catch (error) {
  fail(NAME, `cannot read ${args.input}: ${error.message}`);
}
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
writeMetrics({ stations: Object.keys(profile.stations).length, pollutants: Object.keys(profile.pollutants).length });
console.log(`${NAME}: ${records.length} rows, ${Object.keys(profile.stations).length} stations`);
