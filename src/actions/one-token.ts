/**
 * "One token per user" for both token actions (`DisableOneTokenPerAPI` false, docs/tib-behaviour.md §5.6-5.7): before a new
 * token is issued, every token recorded for this user and profile is deleted through the Dashboard
 * (`DELETE /api/apis/<api>/keys/<token>` with the DashboardCredential); the new token is then recorded with
 * its lifetime. TIB meant to do this, but read back its raw records as JSON, so it never did (docs/tib-behaviour.md §9.2 #1).
 *
 * Two logins of one user at once: recording swaps atomically, and a replaced token that this login did not
 * delete itself (the other login's) is deleted too, so no token escapes its successor.
 */
import type { Logger } from '../log.js';
import type { IdentityCache, TokenRecord } from '../state/identity-cache.js';
import { pathSegment, type TykApi } from '../tyk/client.js';
import type { ActionDeps, ActionResult } from './action.js';
import { callFailure, statusHint, tykTarget, type TykTarget } from './failures.js';

export interface OneToken {
  tyk: TykApi;
  cache: IdentityCache;
  log: Logger;
  profileId: string;
  /** TIB's `UserID@Provider.com`. */
  user: string;
  /** The API of the token being issued (and of TIB's records, which do not say). */
  apiId: string;
  credential: string;
  /** false when `DisableOneTokenPerAPI` is set: nothing is deleted, the new token is still recorded. */
  enabled: boolean;
  /** What the client sees when the deletion fails (TIB's text for the action). */
  message: string;
  /** What the client sees when the Dashboard refuses the credential. */
  unauthorisedMessage: string;
  /** The Dashboard, as failures name it. */
  dashboard?: TykTarget;
}


/** What differs between the two token actions. */
type OneTokenSettings = Pick<OneToken, 'apiId' | 'credential' | 'enabled' | 'message' | 'unauthorisedMessage'>;

/** The per-profile part, built once by the action; the returned function adds a login's user. */
export function oneTokenFor(profileId: string, deps: ActionDeps, settings: OneTokenSettings): (user: string) => OneToken {
  const base = { ...settings, tyk: deps.tyk, cache: deps.identityCache, log: deps.log, profileId, dashboard: tykTarget(deps.config, 'DashboardCredential') };
  return (user) => ({ ...base, user });
}

/** A 2xx the Dashboard and Gateway answer on success (TIB checks 200 and 201). */
export const issued = (status: number): boolean => status === 200 || status === 201;

const failure = (reason: string, status: number, message: string, t?: TykTarget): ActionResult => ({
  kind: 'failure',
  failure: { reason, status, message, ...(t && { target: `DELETE ${t.base}/api/apis/<api>/keys/<previous token>`, hint: statusHint(t, 401) }) },
});

/**
 * Delete one token: `gone` after a 2xx or a 404 (already gone: expired, or deleted by an admin). A refused
 * credential or no answer ends the login (the new token could not be made either); any other answer is
 * logged and the login goes on, so a Dashboard quirk cannot lock a user out until the record expires.
 */
async function deleteToken(o: OneToken, record: TokenRecord): Promise<{ gone: boolean } | { failure: ActionResult }> {
  const path = `/api/apis/${pathSegment(record.apiId || o.apiId)}/keys/${pathSegment(record.token)}`;
  // Never the real path in a message: it holds the token.
  const what = 'DELETE /api/apis/<api>/keys/<previous token>';
  let status: number;
  try {
    status = (await o.tyk.dashboard(path, { method: 'DELETE', credential: o.credential, label: '/api/apis/<api>/keys/<previous token>' })).status;
  } catch (err) {
    return { failure: callFailure(err, o.message, o.dashboard) };
  }
  if ((status >= 200 && status < 300) || status === 404) return { gone: true };
  if (status === 401 || status === 403) return { failure: failure(`${what} answered ${status}: the Dashboard refused DashboardCredential`, 502, o.unauthorisedMessage, o.dashboard) };
  o.log.warn(`${what} answered ${status}: the previous token of this user may still be valid`, { profile: o.profileId, user: o.user, status });
  return { gone: false };
}

/** Before issuing: delete the user's recorded tokens. Resolves with the tokens it dealt with, or a failure. */
export async function revokePrevious(o: OneToken): Promise<{ handled: string[] } | { failure: ActionResult }> {
  if (!o.enabled) return { handled: [] };
  let previous: TokenRecord[];
  try {
    previous = await o.cache.lookup(o.profileId, o.user);
  } catch (err) {
    return { failure: failure(`identity cache unavailable: ${err instanceof Error ? err.message : String(err)}`, 503, o.message) };
  }
  const handled: string[] = [];
  for (const record of previous) {
    const r = await deleteToken(o, record);
    if ('failure' in r) return r;
    handled.push(record.token);
    if (!r.gone) continue;
    o.log.info('one token per user: the previous token was deleted', { profile: o.profileId, user: o.user, record: record.legacy ? 'TIB' : 'ours' });
    if (record.legacy) {
      await o.cache.forgetLegacy(o.profileId, o.user).catch((err: unknown) => {
        o.log.warn("TIB's identity-cache record could not be removed", { profile: o.profileId, reason: err instanceof Error ? err.message : String(err) });
      });
    }
  }
  return { handled };
}

/**
 * After issuing: record the new token for `ttlSeconds`. The login has its token already, so a failure here
 * is logged, never returned (the token will just not be deleted at the next login).
 */
export async function recordIssued(o: OneToken, token: string, ttlSeconds: number, handled: readonly string[]): Promise<void> {
  let replaced: TokenRecord | undefined;
  try {
    replaced = await o.cache.swap(o.profileId, o.user, { token, apiId: o.apiId }, ttlSeconds);
  } catch (err) {
    o.log.warn('the new token could not be recorded; it will not be deleted at the next login', { profile: o.profileId, user: o.user, reason: err instanceof Error ? err.message : String(err) });
    return;
  }
  if (!o.enabled || !replaced || replaced.token === token || handled.includes(replaced.token)) return;
  // Another login of the same user recorded its token since our lookup: it is a previous token too.
  const r = await deleteToken(o, replaced);
  if ('failure' in r && r.failure.kind === 'failure') o.log.warn("a concurrent login's token could not be deleted", { profile: o.profileId, user: o.user, reason: r.failure.failure.reason });
}

/**
 * At logout (docs/logout.md: back-channel, RP- or IdP-initiated): the user's recorded tokens deleted through the
 * Dashboard by the same path as a login's revokePrevious (only with one token per user), then our records of
 * them forgotten. A token the Dashboard did not delete keeps its record, so the next login deletes it.
 */
export async function revokeAtLogout(o: OneToken): Promise<{ revoked: number } | { failure: string }> {
  let records: TokenRecord[];
  try {
    records = await o.cache.lookup(o.profileId, o.user);
  } catch (err) {
    return { failure: `identity cache unavailable: ${err instanceof Error ? err.message : String(err)}` };
  }
  let revoked = 0;
  for (const record of records) {
    if (o.enabled) {
      const r = await deleteToken(o, record);
      if ('failure' in r) return { failure: r.failure.kind === 'failure' ? r.failure.failure.reason : 'the Dashboard did not delete the token' };
      if (!r.gone) continue;
      revoked++;
    }
    try {
      if (record.legacy) await o.cache.forgetLegacy(o.profileId, o.user);
      else await o.cache.forget(o.profileId, o.user, record.token);
    } catch (err) {
      o.log.warn('the identity-cache record could not be removed at logout', { profile: o.profileId, reason: err instanceof Error ? err.message : String(err) });
    }
  }
  if (revoked > 0) o.log.info('logout: the user\'s token was deleted', { profile: o.profileId, user: o.user });
  return { revoked };
}
