// A push that could not move HEAD (local changes to files the remote changed) delivers the
// ledger commits beside it: what the user is told of their branch then. No imports, so that
// the CLI can say it without loading git's code.

/** How the local branch relates to the remote after a delivery that left HEAD where it was. */
export interface KeptAside {
  /** The local changes (staged or not) to files the remote changed too. */
  files: string[];
  /** The branch checked out ('' when HEAD is detached) and the remote branch, as `origin/main`. */
  local: string;
  remote: string;
  /** Commits HEAD has that the remote branch lacks (ledger commits it holds as copies, and the user's own). */
  ahead: number;
  /** Commits the remote branch has that HEAD lacks. */
  behind: number;
}

/** What a delivery that left HEAD aside means for the user, in one sentence. */
export function describeKeptAside(kept: KeptAside): string {
  const local = kept.local || 'HEAD';
  const commits = (n: number) => `${n} commit${n === 1 ? '' : 's'}`;
  const ahead = kept.ahead
    ? ` and ${commits(kept.ahead)} ahead (ledger commits ${kept.remote} now holds as copies)`
    : '';
  return `your uncommitted changes to ${kept.files.join(', ')} overlap what ${kept.remote} changed, so the ledger commits were delivered on top of ${kept.remote} without touching your working tree or index; ${local} is now ${commits(kept.behind)} behind ${kept.remote}${ahead}: commit or stash your changes, then "git pull --rebase" to catch up`;
}
