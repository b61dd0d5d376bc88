/**
 * The logout keys of a profile (ours, docs/logout.md): `TykLogoutURL`, `LogoutRedirectURLs` and
 * `BackChannelLogout`, top level beside ReturnURL. Each is kept only when set, so a profile without them stays
 * TIB's on disk and on the wire.
 */
import { isHttpUrl, type FieldError, type FieldReader } from './fields.js';
import type { Profile } from './profile.js';

type LogoutKeys = Pick<Profile, 'TykLogoutURL' | 'LogoutRedirectURLs' | 'BackChannelLogout'>;

/** An absolute http(s) URL with no credentials in it and no fragment, else why not. */
export function logoutUrlProblem(value: string): string | undefined {
  if (!isHttpUrl(value)) return `must be an absolute http or https URL, got ${JSON.stringify(value)}`;
  const u = new URL(value);
  if (u.username !== '' || u.password !== '') return `must not carry a user name or password, got ${JSON.stringify(value)}`;
  // WHATWG URL takes "*" in a host; an allow-list entry is an exact URL, so a "*" is a mistaken wildcard.
  if (value.includes('*')) return `must be an exact URL (no "*" wildcards), got ${JSON.stringify(value)}`;
  if (u.hash !== '') return `must not have a fragment ("#..."), got ${JSON.stringify(value)}`;
  return undefined;
}

export function readLogoutKeys(r: FieldReader): LogoutKeys {
  const out: LogoutKeys = {};
  if (r.has('TykLogoutURL')) {
    out.TykLogoutURL = r.string('TykLogoutURL');
    const problem = out.TykLogoutURL === '' ? undefined : logoutUrlProblem(out.TykLogoutURL);
    if (problem) r.error('TykLogoutURL', `${problem} (the Tyk side's own logout page, e.g. "https://portal.example.com/auth/password/logout")`);
  }
  if (r.has('LogoutRedirectURLs')) {
    const list = r.stringList('LogoutRedirectURLs');
    list.forEach((v, i) => {
      const problem = logoutUrlProblem(v);
      if (problem) r.error(`LogoutRedirectURLs[${i}]`, `${problem} (exact URLs only, no wildcards)`);
    });
    out.LogoutRedirectURLs = Object.freeze([...list]) as string[];
  }
  if (r.has('BackChannelLogout')) out.BackChannelLogout = r.bool('BackChannelLogout');
  return out;
}

/** Is logout on for this profile, given that its provider offers logout (Provider.logout)? */
export function logoutOn(p: LogoutKeys): boolean {
  return Boolean(p.TykLogoutURL) || (p.LogoutRedirectURLs?.length ?? 0) > 0 || p.BackChannelLogout === true;
}

/** The keys against what the profile's provider offers (ProviderModule.logout). */
export function checkLogoutKeys(p: LogoutKeys, providerName: string, offered: { backChannel: boolean } | undefined, errors: FieldError[], warnings: FieldError[]): void {
  if (p.BackChannelLogout === true && !offered?.backChannel) {
    errors.push({ field: 'BackChannelLogout', message: `is for OpenID Connect profiles only (an openid-connect entry in UseProviders); ${providerName} with this ProviderConfig has no back-channel logout: remove it` });
  }
  if (!offered && logoutOn(p)) {
    for (const k of ['TykLogoutURL', 'LogoutRedirectURLs'] as const) {
      if (p[k] !== undefined) warnings.push({ field: k, message: `${providerName} with this ProviderConfig has no logout (docs/logout.md): ignored, /auth/{id}/logout answers 404` });
    }
  }
}

/** The URLs `return_to` may name: LogoutRedirectURLs, else the origin root of ReturnURL, else none. */
export function logoutTargets(p: Pick<Profile, 'LogoutRedirectURLs' | 'ReturnURL'>): string[] {
  if (p.LogoutRedirectURLs && p.LogoutRedirectURLs.length > 0) return p.LogoutRedirectURLs.map((u) => new URL(u).href);
  if (!URL.canParse(p.ReturnURL)) return [];
  const origin = new URL(p.ReturnURL).origin;
  return origin === 'null' ? [] : [`${origin}/`];
}

const MAX_RETURN_TO = 2048;

/**
 * Where a logout may end: `returnTo` as the client sent it (absent: the first allowed URL), or undefined
 * when it is not one of the allowed URLs. Never an open redirect: the answer is always the allow-list's own
 * entry (normalised by the URL parser), never the client's string; anything a parser could read two ways
 * (backslashes, control characters or spaces, credentials, a fragment, no http(s) scheme) is refused first.
 * `null`: the profile allows no URL at all and the client named none (the broker's own "signed out" page).
 */
export function allowedReturnTo(p: Pick<Profile, 'LogoutRedirectURLs' | 'ReturnURL'>, returnTo: unknown): string | null | undefined {
  const targets = logoutTargets(p);
  if (returnTo === undefined || returnTo === '') return targets[0] ?? null;
  if (typeof returnTo !== 'string' || returnTo.length > MAX_RETURN_TO) return undefined;
  // eslint-disable-next-line no-control-regex -- control characters are what is refused here
  if (/[\\\s\x00-\x1f\x7f]/.test(returnTo) || logoutUrlProblem(returnTo) !== undefined) return undefined;
  const href = new URL(returnTo).href;
  return targets.find((t) => t === href);
}
