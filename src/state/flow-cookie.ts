/**
 * The browser binding of a login in flight: a random id in a signed, HttpOnly, SameSite=Lax cookie (TIB's
 * name `_gothic_session`, for parity). The server-side flow state stores only a hash of it, so a `state`
 * value is useless in another browser (login CSRF). Signed with TYK_IB_SESSION_SECRET.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const FLOW_COOKIE = '_gothic_session';

function sign(value: string, secret: string): string {
  return createHmac('sha256', secret).update(value).digest('base64url');
}

/** Every value of cookie `name` (a browser may send several, e.g. TIB's own `_gothic_session` at Path=/). */
function readCookies(header: string, name: string): string[] {
  const values: string[] = [];
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) values.push(part.slice(i + 1).trim());
  }
  return values;
}

/** The id a cookie value carries when its signature verifies. Our values are base64url, never percent-encoded. */
function verified(raw: string, secret: string): string | undefined {
  const dot = raw.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const id = raw.slice(0, dot);
  const given = Buffer.from(raw.slice(dot + 1));
  const expected = Buffer.from(sign(id, secret));
  return given.length === expected.length && timingSafeEqual(given, expected) ? id : undefined;
}

/**
 * The verified browser id from the cookie, or undefined (missing, malformed, tampered, or signed with another
 * secret): a bad cookie is ignored, never an error.
 */
export function browserId(cookieHeader: string | undefined, secret: string): string | undefined {
  for (const raw of readCookies(cookieHeader ?? '', FLOW_COOKIE)) {
    const id = verified(raw, secret);
    if (id) return id;
  }
  return undefined;
}

/**
 * Reuses this browser's id (so logins in two tabs both work) or sets a new one. `sameSiteNone` (with
 * `secure` only) is for flows that come back by a cross-site POST, as SAML's: Lax cookies are not sent then.
 */
export function ensureBrowserId(
  cookieHeader: string | undefined,
  setCookie: (name: string, value: string, o: { httpOnly: boolean; sameSite: 'lax' | 'none'; secure: boolean; path: string; maxAgeSeconds: number }) => void,
  opts: { secret: string; secure: boolean; path: string; maxAgeSeconds: number; sameSiteNone?: boolean },
): string {
  const id = browserId(cookieHeader, opts.secret) ?? randomBytes(32).toString('base64url');
  setCookie(FLOW_COOKIE, `${id}.${sign(id, opts.secret)}`, {
    httpOnly: true,
    sameSite: opts.sameSiteNone && opts.secure ? 'none' : 'lax',
    secure: opts.secure,
    path: opts.path,
    maxAgeSeconds: opts.maxAgeSeconds,
  });
  return id;
}

/** What the flow state keeps: a hash, so a leaked store does not reveal cookies. */
export function bindingOf(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

export function sameBinding(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
