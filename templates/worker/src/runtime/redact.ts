// URLs from the environment may carry credentials (`http://user:password@host`, `redis://:secret@redis`):
// every URL the worker prints, in an error sentence or a log line, goes through here first.

/** A URL's scheme, then its userinfo up to the last `@` before the host (as URL parsers read it). */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#"'\\]*@/gi;

/** `text` with the user name and password of every URL in it replaced by `***`. */
export function redactUrls(text: string): string {
  return text.includes('@') ? text.replace(USERINFO, '$1***@') : text;
}
