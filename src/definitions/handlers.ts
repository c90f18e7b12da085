// The lifecycle handlers of a sequence: lists of steps run after its steps, each told why
// (ETL_RUN_STATUS, ETL_FAILED_*). on_failure is the seed's error_handler; on_exit runs last,
// whatever happened.
export const HANDLERS = ['on_success', 'on_failure', 'on_cancel', 'on_exit'] as const;
export type Handler = (typeof HANDLERS)[number];
/** The lists a step can be in: the steps, or a handler (a record's `role`, ETL_STEP_ROLE). */
export const ROLES = ['step', ...HANDLERS] as const;

/** When each runs, for messages and the schema's descriptions. */
export const HANDLER_WHEN: Record<Handler, string> = {
  on_success: 'after every step succeeded (or was skipped)',
  on_failure: 'after a step failed: the error handler',
  on_cancel: "after the run was cancelled (SIGINT, SIGTERM, SIGHUP) or its sequence's timeout ran out",
  on_exit: 'last, whatever happened',
};

/** How plans title each handler's steps. */
export const HANDLER_TITLE: Record<Handler, string> = {
  on_success: 'On success',
  on_failure: 'On failure',
  on_cancel: 'On cancel',
  on_exit: 'On exit',
};
