/** Where a problem is, 1-based, as editors and GitHub annotations count. */
export interface Location {
  file: string;
  line: number;
  column: number;
}

export type Severity = 'error' | 'warning';

/** One finding of validation: every check reports these instead of throwing. */
export interface Issue extends Location {
  severity: Severity;
  code: string;
  message: string;
}

/**
 * The one error a user sees: a mistake they can fix, with a stable code and, when it
 * comes from a file, where. Anything thrown that is not an EtlError is our bug.
 */
export class EtlError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly where?: Location,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'EtlError';
  }
}

/** Exit codes shared by every command (README "Exit codes"). */
export const ExitCode = {
  ok: 0,
  failed: 1,
  invalid: 2,
  locked: 3,
  hangup: 129,
  interrupted: 130,
  terminated: 143,
} as const;
