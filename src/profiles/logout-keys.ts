/**
 * The logout keys of a profile (ours, docs/logout.md): `TykLogoutURL`, `LogoutRedirectURLs` and
 * `BackChannelLogout`, top level beside ReturnURL. Each is kept only when set, so a profile without them stays
 * TIB's on disk and on the wire.
 */
import type { FieldError, FieldReader } from './fields.js';
import type { Profile } from './profile.js';

type LogoutKeys = Pick<Profile, 'TykLogoutURL' | 'LogoutRedirectURLs' | 'BackChannelLogout'>;

/** An absolute http(s) URL with no credentials in it and no fragment, else why not. */
export function logoutUrlProblem(value: string): string | undefined {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return `must be an absolute http or https URL, got ${JSON.stringify(value)}`;
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.host === '') return `must be an absolute http or https URL, got ${JSON.stringify(value)}`;
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
