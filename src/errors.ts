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
    readonly code: ErrorCode,
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
  /** A run failed (or could not be recorded). */
  failed: 1,
  /** Invalid definitions, or a usage error: the user's input is at fault. */
  invalid: 2,
  /** Another run of the sequence holds its lock. */
  locked: 3,
  /** git or GitHub failed (a remote, a push, the API): the user's input was fine. */
  remote: 4,
  hangup: 129,
  interrupted: 130,
  terminated: 143,
} as const;

type ExitKind = 'failed' | 'invalid' | 'locked' | 'remote';

/**
 * Every EtlError code, and what it means at the command line. Only the CLI boundary turns
 * these into exit codes; adding a code without saying its exit does not compile.
 */
export const ERROR_EXITS = {
  // The user's input or usage.
  usage: 'invalid',
  'unknown-sequence': 'invalid',
  'invalid-sequence-name': 'invalid',
  'unknown-module': 'invalid',
  'unknown-step': 'invalid',
  'ambiguous-step': 'invalid',
  'unknown-run': 'invalid',
  'ambiguous-run': 'invalid',
  'unreadable-run': 'invalid',
  'unknown-commit': 'invalid',
  'no-repository': 'invalid',
  'not-a-repository': 'invalid',
  'unknown-remote': 'invalid',
  'detached-head': 'invalid',
  'runs-outside-repository': 'invalid',
  'init-not-a-folder': 'invalid',
  'invalid-cmd': 'invalid',
  'missing-command': 'invalid',
  'not-executable': 'invalid',
  'crlf-shebang': 'invalid',
  'missing-conf': 'invalid',
  'github-token-missing': 'invalid',
  'github-repository': 'invalid',
  'resume-changed': 'invalid',
  // A run that cannot be recorded failed.
  'ledger-write': 'failed',
  'not-started': 'failed',
  'report-write': 'failed',
  locked: 'locked',
  // git and GitHub: the input was fine, the tool or the remote was not.
  'git-failed': 'remote',
  'git-missing': 'remote',
  'git-too-old': 'remote',
  'git-busy': 'remote',
  'index-locked': 'remote',
  'commit-failed': 'remote',
  'push-failed': 'remote',
  'claim-failed': 'remote',
  'rebase-conflict': 'remote',
  'ledger-branch': 'remote',
  'github-token': 'remote',
  'github-permission': 'remote',
  'github-not-found': 'remote',
  'github-rate-limit': 'remote',
  'github-unreachable': 'remote',
  'github-failed': 'remote',
  'dispatch-lost': 'remote',
} as const satisfies Record<string, ExitKind>;

export type ErrorCode = keyof typeof ERROR_EXITS;

/** The exit code for an error a user can act on. */
export function exitCodeFor(error: EtlError): number {
  return ExitCode[ERROR_EXITS[error.code]];
}
