/**
 * Judging the upstream's answer, as TIB's ProxyProvider does (docs/tib-behaviour.md §4.3), as pure functions:
 * the gates in TIB's order (status below 400, OKCode, OKResponse, OKRegex; and, ours, no redirect unless one
 * of the three is set), then the username (the Basic header's, then the JSON UsernameField's) and the access
 * token. Where TIB invents a random 12-letter user, no username is a failure here.
 */
import type { RE2JS } from 're2js';
import type { Identity } from '../../identity/identity.js';
import type { ProxyConfig } from './proxy-config.js';

/** The first gate the answer fails, or undefined. Never quotes the body (it may carry a token). */
export function failedGate(cfg: ProxyConfig, okRegex: RE2JS | undefined, status: number, body: Buffer): string | undefined {
  if (status >= 400) return `upstream answered ${status}`;
  // Unlike TIB (docs/tib-behaviour.md §4.3), a redirect is not a success by default: form logins commonly
  // answer a wrong password with 302. It passes only when the operator said what success looks like.
  if (status >= 300 && cfg.OKCode === 0 && cfg.OKResponse === '' && !okRegex) return `upstream answered ${status} (a redirect; set OKCode, OKResponse or OKRegex to accept one)`;
  if (cfg.OKCode !== 0 && status !== cfg.OKCode) return `upstream answered ${status}, OKCode is ${cfg.OKCode}`;
  if (cfg.OKResponse !== '' && body.toString('base64') !== cfg.OKResponse) return 'upstream answer body is not the one OKResponse names';
  if (okRegex && !okRegex.matcher(body.toString('utf8')).find()) return 'upstream answer body does not match OKRegex';
  return undefined;
}

/**
 * TIB's gabs v1 `Path`: dot-separated keys through JSON objects. A path through an array gives an array in
 * gabs, never a string, so it yields nothing here either.
 */
export function jsonPath(doc: unknown, path: string): unknown {
  let at = doc;
  for (const key of path.split('.')) {
    if (typeof at !== 'object' || at === null || Array.isArray(at) || !Object.hasOwn(at, key)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

export type Who = { ok: true; username: string; accessToken: string } | { ok: false; reason: string };

/** The user and access token from the Basic username (when enabled) and the JSON answer (when enabled). */
export function whoFrom(cfg: ProxyConfig, basicUsername: string | undefined, body: Buffer): Who {
  let username = cfg.ExrtactUserNameFromBasicAuthHeader && basicUsername ? basicUsername : '';
  let accessToken = '';
  let jsonProblem = '';
  if (cfg.ResponseIsJson) {
    let doc: unknown;
    try {
      doc = JSON.parse(body.toString('utf8'));
    } catch {
      jsonProblem = 'the upstream answer is not JSON';
    }
    if (!jsonProblem) {
      const token = cfg.AccessTokenField ? jsonPath(doc, cfg.AccessTokenField) : undefined;
      if (typeof token === 'string') accessToken = token;
      const name = cfg.UsernameField ? jsonPath(doc, cfg.UsernameField) : undefined;
      if (typeof name === 'string' && name !== '') username = name;
      else if (cfg.UsernameField) jsonProblem = `the upstream answer has no non-empty string at UsernameField "${cfg.UsernameField}"`;
    }
  }
  if (username !== '') return { ok: true, username, accessToken };
  const sources = [cfg.ExrtactUserNameFromBasicAuthHeader ? 'the request has no Basic username' : '', jsonProblem].filter(Boolean);
  return { ok: false, reason: `no username: ${sources.join('; ') || 'no username source configured'}` };
}

/** TIB's proxy identity: no names, no raw data; the email is the username or `<username>@soSession.com`. */
export function proxyIdentity(username: string, accessToken: string): Identity {
  return {
    userId: username,
    email: username.includes('@') ? username : `${username}@soSession.com`,
    displayName: '',
    firstName: '',
    lastName: '',
    raw: {},
    provider: 'ProxyProvider',
    ...(accessToken ? { accessToken } : {}),
  };
}
