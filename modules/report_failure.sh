#!/bin/sh
# Error handler (on_failure): says which step failed and how. The runner sets
# ETL_FAILED_STEP, ETL_FAILED_MODULE and ETL_FAILED_EXIT_CODE for it.
echo "sequence ${ETL_SEQUENCE:-?} failed at step ${ETL_FAILED_STEP:-?} (module ${ETL_FAILED_MODULE:-?}, exit code ${ETL_FAILED_EXIT_CODE:-?})" >&2
exit 0
