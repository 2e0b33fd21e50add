/**
 * A Git source URL may carry credentials (`https://user:token@host/repo.git`, as `git clone`
 * accepts). They are never stored in the URL, which viewers can read and audit events record:
 * they are taken out into the source's encrypted credentials. This is the one place that
 * splits them, for `POST /v1/sources`, `STEPGATE_SOURCE_URL` and rows stored before.
 */
export interface SplitSourceUrl {
  /** The URL without user info. */
  url: string;
  /** The user info, percent-decoded; undefined when the URL had none. */
  credentials?: { username: string; password: string };
}

export function splitCredentials(url: string): SplitSourceUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url };
  }
  if (parsed.username === '' && parsed.password === '') return { url };
  const credentials = {
    username: safeDecode(parsed.username),
    password: safeDecode(parsed.password),
  };
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), credentials };
}

/** The URL as shown to people: without user info, whatever is stored. */
export function shownUrl(url: string | null): string | null {
  return url === null ? null : splitCredentials(url).url;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
