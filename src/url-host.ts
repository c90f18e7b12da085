// A URL often holds a token (a webhook's path, a query): what is said about one names its host only.

/** The message with the URL (as given and as parsed) replaced by its host. */
export function withoutUrl(message: string, url: string): string {
  let host = '';
  let href = url;
  try {
    ({ host, href } = new URL(url));
  } catch {
    // not a URL: nothing but the given text to take out
  }
  return message.split(url).join(host).split(href).join(host);
}

/** Why a value is not an http(s) URL that may be sent to and named by its host. */
export type HttpUrlProblem =
  | { kind: 'no-scheme' }
  | { kind: 'not-a-url' }
  | { kind: 'not-http'; protocol: string; host: string }
  | { kind: 'credentials'; host: string };

/**
 * An http(s) URL without a user name or password (fetch refuses to send those, and they would
 * be printed with it), or what is wrong with it. "host:5000" has no scheme, though a URL
 * parser reads "host:" as one.
 */
export function parseHttpUrl(value: string): URL | HttpUrlProblem {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return { kind: 'no-scheme' };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { kind: 'not-a-url' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return { kind: 'not-http', protocol: url.protocol, host: url.host || 'no host' };
  if (url.username || url.password) return { kind: 'credentials', host: url.host };
  return url;
}
