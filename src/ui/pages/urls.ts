// Where the pages are: served by `etl ui`, or a static report's files under any path.

export const meta = (name: string): string | undefined =>
  document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content;

/** Set on the pages of a static report: the way back to its root ("../../"). */
export const reportRoot = meta('etl-report-root');
export const STATIC = reportRoot !== undefined;

/** The URL of a page: "" (overview), "board", "sequences/NAME", "runs/ID". */
export const page = (path: string): string => (STATIC ? `${reportRoot}${path}${path ? '/' : ''}` : `/${path}`);
