// Who may drive `be-worker ui`: only the holder of the printed URL (its random token is the first
// segment of every path), and, for what changes queues, only the page itself: a request another
// web page's script makes (CSRF) is refused by its Origin and Sec-Fetch-Site headers.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';

/** 128 bits, URL-safe: the secret of one run of `be-worker ui`. */
export function newToken(): string {
  return randomBytes(16).toString('base64url');
}

export interface Request {
  method: string;
  /** The request's path and query, as the server received it. */
  url: string;
  headers: IncomingHttpHeaders;
}

export type Verdict = { allowed: true; path: string } | { allowed: false; status: 403 | 404; reason: string };

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/**
 * Whether `request` may be served, and the path under the token when it may. `hosts` are the
 * host:port a browser reaches the server at ('any' when bound beyond loopback, where the machine's
 * names are not known): on loopback a name rebound to 127.0.0.1 (DNS rebinding) gets nothing.
 */
export function judge(request: Request, token: string, hosts: readonly string[] | 'any'): Verdict {
  const host = request.headers.host?.toLowerCase();
  if (!host || (hosts !== 'any' && !hosts.includes(host))) {
    return { allowed: false, status: 403, reason: `Host "${host ?? ''}" is not this server` };
  }
  const { pathname } = new URL(request.url, 'http://placeholder');
  const [, first = '', ...rest] = pathname.split('/');
  if (!sameSecret(first, token)) return { allowed: false, status: 404, reason: 'no token, or not this one' };
  if (!SAFE_METHODS.has(request.method)) {
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== `http://${host}`) {
      return { allowed: false, status: 403, reason: `a request from another origin (${origin})` };
    }
    const site = request.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin') {
      return { allowed: false, status: 403, reason: `a request from another site (Sec-Fetch-Site: ${site})` };
    }
    // A form or a no-cors fetch of another page cannot send JSON; the page always does.
    if (!request.headers['content-type']?.startsWith('application/json')) {
      return { allowed: false, status: 403, reason: 'a change must be asked for with a JSON body' };
    }
  }
  return { allowed: true, path: `/${rest.join('/')}` };
}

function sameSecret(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Whether binding `host` keeps the server on this machine. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/** The host:port a browser reaches a server bound to `host` at; 'any' beyond loopback. */
export function hostsOf(host: string, port: number): string[] | 'any' {
  if (!isLoopback(host)) return 'any';
  const names = host === '::1' ? ['[::1]', 'localhost'] : [host, 'localhost'];
  return [...new Set(names)].map((name) => `${name}:${port}`);
}
