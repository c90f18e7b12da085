#!/bin/sh
# on_exit: runs last, whatever happened; the runner says how the run went in ETL_RUN_STATUS.
echo "sequence ${ETL_SEQUENCE:-?} ended: ${ETL_RUN_STATUS:-?} (run ${ETL_RUN_ID:-?})"
exit 0
