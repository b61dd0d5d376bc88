/**
 * Where a password login's credentials come from: the POST form (`username`, `password`; urlencoded or
 * multipart, parsed by the http layer) or, with GetAuthFromBAHeader, the Basic header. A password in the
 * query string is refused: URLs end up in access logs and browser history (TIB accepts it).
 */
import type { Request } from 'express';

export type Credentials = { kind: 'none' } | { kind: 'refused'; reason: string } | { kind: 'given'; username: string; password: string };

function field(source: unknown, name: string): string | undefined {
  if (typeof source !== 'object' || source === null) return undefined;
  const v = (source as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : undefined;
}

export function readCredentials(req: Request, fromBasicHeader: boolean): Credentials {
  if (field(req.query, 'password') !== undefined) return { kind: 'refused', reason: 'password sent in the query string (refused: URLs are logged)' };
  if (fromBasicHeader) {
    const header = req.get('Authorization');
    if (!header) return { kind: 'none' };
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (!m) return { kind: 'refused', reason: 'Authorization header is not Basic credentials' };
    const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    // Split on the first colon only: a password may contain ':' (TIB rejects it).
    if (colon < 0) return { kind: 'refused', reason: 'Basic credentials without a colon' };
    return { kind: 'given', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  const username = field(req.body, 'username');
  const password = field(req.body, 'password');
  if (username === undefined && password === undefined) return { kind: 'none' };
  return { kind: 'given', username: username ?? '', password: password ?? '' };
}
