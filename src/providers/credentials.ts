/**
 * Where a password login's credentials come from: the POST form (`username`, `password`; urlencoded or
 * multipart, parsed by the http layer) or, with GetAuthFromBAHeader, the Basic header. A password in the
 * query string is refused: URLs end up in access logs and browser history (TIB accepts it).
 */
import type { LoginRequest } from './provider.js';

export type Credentials = { kind: 'none' } | { kind: 'refused'; reason: string } | { kind: 'given'; username: string; password: string };

function field(source: unknown, name: string): string | undefined {
  if (typeof source !== 'object' || source === null) return undefined;
  const v = (source as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : undefined;
}

/**
 * The credentials of a Basic Authorization header; undefined when it is not Basic, "refused" when it is
 * Basic but malformed. Split on the first colon only: a password may contain ':' (TIB rejects it).
 */
export function basicCredentials(header: string): Credentials | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return { kind: 'refused', reason: 'Basic credentials without a colon' };
  return { kind: 'given', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function readCredentials(req: LoginRequest, fromBasicHeader: boolean): Credentials {
  if (field(req.query, 'password') !== undefined) return { kind: 'refused', reason: 'password sent in the query string (refused: URLs are logged)' };
  if (fromBasicHeader) {
    const header = req.header('Authorization');
    if (!header) return { kind: 'none' };
    return basicCredentials(header) ?? { kind: 'refused', reason: 'Authorization header is not Basic credentials' };
  }
  const username = field(req.body, 'username');
  const password = field(req.body, 'password');
  if (username === undefined && password === undefined) return { kind: 'none' };
  return { kind: 'given', username: username ?? '', password: password ?? '' };
}
