#!/usr/bin/env node
// Transform: normalises raw air-quality rows. Station names trimmed and title-cased,
// pollutant codes upper-cased and checked against the configured list, values parsed
// (decimal commas accepted) and converted to one unit, dates to ISO 8601; rows without a
// usable value, station or date are dropped and counted, duplicates removed.
import { renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ExitCode, fail, log, metric, parseArgs, readConfig } from 'etl-ledger/module';
import { readCsvFile, writeCsv } from './lib/csv.mjs';

const args = parseArgs();
if (!args.input || !args.output || !args.config) fail('needs an input, an output and a conf', ExitCode.usage);

// JSON or YAML; a mistake in it ends the module (exit 78) saying its line and column.
const config = readConfig(args.config);
const pollutants = new Set(config.pollutants ?? []);
const TO_MICROGRAMS = { 'µg/m3': 1, 'ug/m3': 1, 'mg/m3': 1000 };

const records = readCsvFile(args.input);

const dropped = {};
const drop = (reason) => (dropped[reason] = (dropped[reason] ?? 0) + 1);
const titleCase = (s) => s.toLowerCase().replace(/(^|\s)\p{L}/gu, (m) => m.toUpperCase());
const seen = new Set();
const clean = [];

for (const row of records) {
  const station = titleCase(row.station.trim().replace(/\s+/g, ' '));
  if (!station) {
    drop('no station');
    continue;
  }
  let date = row.date.trim();
  const dmy = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(date);
  if (dmy) date = `${dmy[3]}-${dmy[2]}-${dmy[1]}`;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) {
    drop('bad date');
    continue;
  }
  const pollutant = row.pollutant.trim().toUpperCase();
  if (!pollutants.has(pollutant)) {
    drop('unknown pollutant');
    continue;
  }
  const text = row.value.trim().replace(',', '.');
  const value = text === '' ? NaN : Number(text);
  if (!Number.isFinite(value)) {
    drop('no value');
    continue;
  }
  if (config.drop_negative && value < 0) {
    drop('negative value');
    continue;
  }
  const factor = TO_MICROGRAMS[row.unit.trim().toLowerCase()];
  if (factor === undefined) {
    drop('unknown unit');
    continue;
  }
  const key = `${station}|${date}|${pollutant}`;
  if (seen.has(key)) {
    drop('duplicate');
    continue;
  }
  seen.add(key);
  clean.push({ station, date, pollutant, value_ugm3: Math.round(value * factor * 1000) / 1000 });
}

mkdirSync(dirname(args.output), { recursive: true });
writeFileSync(`${args.output}.tmp`, writeCsv(['station', 'date', 'pollutant', 'value_ugm3'], clean));
renameSync(`${args.output}.tmp`, args.output);
const reasons = Object.entries(dropped)
  .map(([r, n]) => `${n} ${r}`)
  .join(', ');
log.info(`kept ${clean.length} of ${records.length} rows${reasons ? `; dropped ${reasons}` : ''}`);
metric('rows_read', records.length);
metric('rows_kept', clean.length);
metric('rows_dropped', records.length - clean.length);
