#!/bin/sh
# Extract: copies a CSV file from its source (--input) to the work area (--output),
# checking that it has the expected header. Plain POSIX shell: modules can be any language.
set -eu
input= output= config=
while [ $# -gt 0 ]; do
  case "$1" in
    --input) input=$2; shift 2 ;;
    --output) output=$2; shift 2 ;;
    --config) config=$2; shift 2 ;;
    *) echo "extract_csv.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
[ -n "$input" ] || { echo "extract_csv.sh: --input is required" >&2; exit 1; }
[ -n "$output" ] || { echo "extract_csv.sh: --output is required" >&2; exit 1; }
[ -r "$input" ] || { echo "extract_csv.sh: cannot read $input" >&2; exit 1; }

expected='station,date,pollutant,value,unit'
header=$(head -n 1 "$input" | tr -d '\r')
if [ "$header" != "$expected" ]; then
  echo "extract_csv.sh: $input has header '$header', expected '$expected'" >&2
  exit 1
fi
mkdir -p "$(dirname "$output")"
cp "$input" "$output.tmp" && mv "$output.tmp" "$output"
rows=$(($(wc -l < "$output") - 1))
echo "extracted $rows rows from $input to $output"
# Step metrics for etl-ledger (key=value lines in the file ETL_METRICS names).
if [ -n "${ETL_METRICS:-}" ]; then echo "rows_read=$rows" >> "$ETL_METRICS"; fi
