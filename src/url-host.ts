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
