/**
 * A profile's IdentityHandlerConfig, typed: what the actions and --check read (docs/tib-behaviour.md §3.1, §5).
 * Read once per profile version: by validation, which reports its problems (validate.ts), and by everyone else
 * through handlerConfig(), memoised on the frozen object.
 */
import { didYouMean } from '../config/suggest.js';
import { FieldReader, type FieldError } from './fields.js';
import type { Profile } from './profile.js';

export interface HandlerConfig {
  /** A Dashboard user's API key ("" when unset). */
  DashboardCredential: string;
  DisableOneTokenPerAPI: boolean;
  OAuth: { APIListenPath: string; RedirectURI: string; ResponseType: string; ClientId: string; Secret: string; BaseAPIID: string; NoRedirect: boolean };
  /** Expires: seconds, 3600 when unset. */
  TokenAuth: { BaseAPIID: string; Expires: number };
}

const read = new WeakMap<object, HandlerConfig>();

const IHC_KEYS = ['DashboardCredential', 'DisableOneTokenPerAPI', 'OAuth', 'TokenAuth'];

/** IdentityHandlerConfig is read by exact-case map lookups in TIB: a near-miss key silently does nothing. */
export function readHandlerConfig(raw: Record<string, unknown>, errors: FieldError[], warnings: FieldError[]): HandlerConfig {
  const at = 'IdentityHandlerConfig';
  for (const key of Object.keys(raw)) {
    if (IHC_KEYS.includes(key)) continue;
    const right = IHC_KEYS.find((k) => k.toLowerCase() === key.toLowerCase());
    if (right) errors.push({ field: `${at}.${key}`, message: `keys are case-sensitive here: write ${right}` });
    else warnings.push({ field: `${at}.${key}`, message: `unknown key, ignored${didYouMean(key, IHC_KEYS)}` });
  }
  const exact = new FieldReader(raw, at, errors, false);
  const DashboardCredential = exact.string('DashboardCredential');
  const DisableOneTokenPerAPI = exact.bool('DisableOneTokenPerAPI');
  const oauth = exact.object('OAuth');
  const OAuth = {
    APIListenPath: oauth.string('APIListenPath'),
    RedirectURI: oauth.string('RedirectURI'),
    ResponseType: oauth.string('ResponseType'),
    ClientId: oauth.string('ClientId'),
    Secret: oauth.string('Secret'),
    BaseAPIID: oauth.string('BaseAPIID'),
    NoRedirect: oauth.bool('NoRedirect'),
  };
  const tokenAuth = exact.object('TokenAuth');
  const TokenAuth = { BaseAPIID: tokenAuth.string('BaseAPIID'), Expires: tokenAuth.number('Expires', 3600) };
  if (TokenAuth.Expires < 1) tokenAuth.error('Expires', 'must be a number of seconds, at least 1');
  const out = { DashboardCredential, DisableOneTokenPerAPI, OAuth, TokenAuth };
  // Validation reads the frozen copy a profile keeps: its reading is the one the actions use.
  if (Object.isFrozen(raw)) read.set(raw, out);
  return out;
}

/** The profile's IdentityHandlerConfig as validation read it (an absent one reads as all defaults). */
export function handlerConfig(profile: Pick<Profile, 'IdentityHandlerConfig'>): HandlerConfig {
  const raw = profile.IdentityHandlerConfig ?? {};
  const hit = read.get(raw);
  return hit ?? readHandlerConfig(raw, [], []);
}
