/**
 * SAML single logout (issue 21, docs/logout.md#saml-single-logout) on `/auth/{id}/saml/slo`, both bindings:
 * - SP-initiated: begin() sends a signed LogoutRequest (the NameID and SessionIndex kept from the login) to the
 *   IdP's SingleLogoutService, by the binding the login prefers (SAMLBinding), RelayState = the broker's logout
 *   `state`. The request ID is an HMAC of that state, so nothing is stored: the IdP's LogoutResponse must be
 *   signed, for our Destination, from the IdP's Issuer, and its InResponseTo must be the ID of its RelayState;
 *   the http layer then opens this browser's own logout flow cookie under that state (http/logout-routes.ts).
 * - IdP-initiated: a signed LogoutRequest, checked the same way plus its time and its ID against replay; the
 *   broker drops the sessions of its NameID (and SessionIndex) and respond() sends a signed LogoutResponse.
 * Signatures are ours to check (logout-messages.ts): node-saml 5 accepts unsigned HTTP-Redirect messages.
 */
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { Identity, IdpSession } from '../../identity/identity.js';
import type { Logger } from '../../log.js';
import { ReplayCacheFull, type ReplayCache } from '../../state/replay-cache.js';
import type { LoginSession } from '../../state/login-sessions.js';
import type { LoginRequest, LogoutReceived, ProviderLogout, ProviderOutcome } from '../provider.js';
import { postPage } from './authn-request.js';
import type { IdpMetadata, SloEndpoint } from './idp-metadata.js';
import { checkLogoutRequest, checkLogoutResponse, idMark, logoutRequestXml, logoutResponseXml, MAX_RELAY_STATE, signedPostValue, signedRedirectUrl, verifyPost, verifyRedirect, type VerifiedMessage } from './logout-messages.js';
import { POST_BINDING, type SamlConfig } from './saml-config.js';
import { attr, child, NS, parseXml } from './xml-dom.js';

/** How long the IdP may act on our LogoutRequest, and how long its answer's request ID is remembered. */
const REQUEST_VALID_MS = 10 * 60_000;

/** The segment of the `{provider}` URL for SAML (IdpSession.segment). */
export const SAML_SEGMENT = 'saml';

/** Where single logout lands: `.../saml/slo`, beside the ACS `.../saml/callback`. */
export const sloUrl = (acs: string): string => new URL('slo', acs).toString();

/**
 * What the logout needs of a login, from the signed assertion: its NameID (node-saml's reading, which covers
 * an EncryptedID), the AuthnStatement's SessionIndex and SessionNotOnOrAfter.
 */
export function samlSession(assertionXml: string, signed: { nameID?: string; nameIDFormat?: string; nameQualifier?: string; spNameQualifier?: string; sessionIndex?: string }): IdpSession | undefined {
  if (!signed.nameID) return undefined;
  const nameId: NonNullable<IdpSession['nameId']> = { value: signed.nameID };
  if (signed.nameIDFormat) nameId.format = signed.nameIDFormat;
  if (signed.nameQualifier) nameId.nameQualifier = signed.nameQualifier;
  if (signed.spNameQualifier) nameId.spNameQualifier = signed.spNameQualifier;
  const session: IdpSession = { segment: SAML_SEGMENT, nameId };
  if (signed.sessionIndex) session.sessionIndex = signed.sessionIndex;
  const until = Date.parse(attr(child(parseXml(assertionXml, 'the signed assertion').documentElement, NS.saml, 'AuthnStatement'), 'SessionNotOnOrAfter'));
  if (!Number.isNaN(until)) session.expiresAt = until;
  return session;
}

/** The identity with its session for logout (the http layer keeps it only when logout is on). */
export const withSession = (identity: Identity, session: IdpSession | undefined): Identity => (session ? { ...identity, session } : identity);

/** Which SingleLogoutService to use: as the login (SAMLBinding "" or Redirect prefers HTTP-Redirect), else the other. */
export function chooseSlo(binding: string, slo: IdpMetadata['slo']): { post: boolean; endpoint: SloEndpoint } | undefined {
  if (binding === POST_BINDING && slo.post) return { post: true, endpoint: slo.post };
  if (slo.redirect) return { post: false, endpoint: slo.redirect };
  return slo.post ? { post: true, endpoint: slo.post } : undefined;
}

export interface SamlLogoutDeps {
  profileId: string;
  cfg: Pick<SamlConfig, 'SAMLBinding' | 'AllowSHA1'>;
  entityId: string;
  acs: string;
  keyPem: string;
  /** TYK_IB_SESSION_SECRET: the request IDs are derived from it. */
  secret: string;
  idp(): Promise<IdpMetadata | ProviderOutcome>;
  replay: ReplayCache;
  log: Logger;
}

function failed(reason: string, status = 400): LogoutReceived {
  return { kind: 'failure', failure: { reason, status, message: 'Logout failed' } };
}

export function createSamlLogout(d: SamlLogoutDeps): ProviderLogout {
  const slo = sloUrl(d.acs);
  const idKey = Buffer.from(hkdfSync('sha256', d.secret, d.profileId, 'tib saml logout request id v1', 32));
  /** Our LogoutRequest's ID for a logout `state`: only who holds the secret can make it, nothing is stored. */
  const requestIdFor = (state: string) => `_${createHmac('sha256', idKey).update(state).digest('hex')}`;

  /** The signed message to `url` by its binding: a 302, or the auto-submitting form page. */
  const send = (post: boolean, url: string, kind: 'SAMLRequest' | 'SAMLResponse', xml: string, relayState: string): ProviderOutcome => {
    if (!post) return { kind: 'redirect', url: signedRedirectUrl(url, kind, xml, relayState || undefined, d.keyPem) };
    const fields: Record<string, string> = { [kind]: signedPostValue(xml, d.keyPem) };
    if (relayState) fields.RelayState = relayState;
    return postPage(url, fields, 'Signing out');
  };

  const begin = async (session: LoginSession | undefined, ctx: { state: string; returnUrl: string }): Promise<ProviderOutcome | undefined> => {
    // Without the NameID of the login no LogoutRequest can be made (core §3.7.1): straight on to the Tyk step.
    if (!session?.nameId || session.segment !== SAML_SEGMENT) return undefined;
    const md = await d.idp();
    if ('kind' in md) {
      d.log.warn(`profile "${d.profileId}": no IdP metadata, so no SAML LogoutRequest: the browser may still be signed in at the IdP`);
      return undefined;
    }
    const chosen = chooseSlo(d.cfg.SAMLBinding, md.slo);
    if (!chosen) return undefined;
    const xml = logoutRequestXml({ id: requestIdFor(ctx.state), now: Date.now(), destination: chosen.endpoint.location, issuer: d.entityId, nameId: session.nameId, sessionIndex: session.sessionIndex, validForMs: REQUEST_VALID_MS });
    return send(chosen.post, chosen.endpoint.location, 'SAMLRequest', xml, ctx.state);
  };

  const receive = async (req: LoginRequest): Promise<LogoutReceived> => {
    const md = await d.idp();
    if ('kind' in md) return md.kind === 'failure' ? { kind: 'failure', failure: md.failure } : failed('no IdP metadata', 503);
    let message: VerifiedMessage;
    try {
      if (req.method === 'GET') {
        const at = req.url.indexOf('?');
        message = verifyRedirect(at < 0 ? '' : req.url.slice(at + 1), md.signingCerts, { allowSha1: d.cfg.AllowSHA1 });
      } else if (req.method === 'POST') {
        message = verifyPost((req.body ?? {}) as Record<string, unknown>, md.signingCerts, { allowSha1: d.cfg.AllowSHA1 });
      } else {
        return failed(`${req.method} is not a SAML binding (GET for HTTP-Redirect, POST for HTTP-POST)`, 405);
      }
      if (message.relayState.length > MAX_RELAY_STATE) return failed('RelayState is too long');
      return message.kind === 'SAMLResponse' ? await ourAnswer(message, md) : await idpRequest(message, md);
    } catch (err) {
      if (err instanceof ReplayCacheFull) return failed(err.message, 503);
      // LogoutRejected, XmlError, ResponseRejected (checkAlgorithms) and the rest alike: refused with their reason.
      return failed(`SAML logout message refused: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  /** The IdP's LogoutResponse to the request this browser's logout made (its RelayState is our state). */
  const ourAnswer = async (m: VerifiedMessage, md: IdpMetadata): Promise<LogoutReceived> => {
    const facts = checkLogoutResponse(m.root, { idpEntityId: md.entityId, slo });
    if (!m.relayState) return failed('a LogoutResponse without RelayState cannot be matched to a logout started here');
    if (facts.inResponseTo !== requestIdFor(m.relayState)) return failed('InResponseTo is not the LogoutRequest of this RelayState');
    if (!(await d.replay.firstUse(d.profileId, idMark('slo-request', facts.inResponseTo), REQUEST_VALID_MS))) return failed('the LogoutRequest was already answered (replay)');
    // The local session has ended already; the IdP could not end all of its own (core §3.7.3.2).
    if (facts.partial) d.log.warn(`profile "${d.profileId}": the IdP answered the SAML LogoutRequest with PartialLogout: some of the user's sessions at the IdP may remain`);
    return { kind: 'finished', state: m.relayState };
  };

  /** The IdP's own LogoutRequest: checked, its ID used once, answered with a signed LogoutResponse. */
  const idpRequest = async (m: VerifiedMessage, md: IdpMetadata): Promise<LogoutReceived> => {
    const facts = checkLogoutRequest(m.root, { idpEntityId: md.entityId, slo, now: Date.now() });
    if (!(await d.replay.firstUse(d.profileId, idMark('slo-idp-request', facts.id), facts.usableUntil - Date.now()))) return failed(`LogoutRequest ${JSON.stringify(facts.id.slice(0, 80))} was already received (replay)`);
    // One SessionIndex names that session; several (or none) end every session of the NameID (more, never less).
    const sid = facts.sessionIndexes.length === 1 ? facts.sessionIndexes[0] : undefined;
    const respond = async (): Promise<ProviderOutcome> => {
      // The answer goes back by the binding the request came by when the IdP offers it (bindings §3.4.3: RelayState echoed).
      const chosen = chooseSlo(m.binding === 'post' ? POST_BINDING : '', md.slo);
      if (!chosen) return { kind: 'page', status: 200, html: '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Signed out</title></head><body><p>Signed out.</p></body></html>', headers: { 'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'" } };
      const to = chosen.endpoint.responseLocation ?? chosen.endpoint.location;
      const xml = logoutResponseXml({ id: `_${randomBytes(20).toString('hex')}`, now: Date.now(), destination: to, issuer: d.entityId, inResponseTo: facts.id });
      return send(chosen.post, to, 'SAMLResponse', xml, m.relayState);
    };
    return { kind: 'idp-request', match: sid ? { sub: facts.nameId.value, sid } : { sub: facts.nameId.value }, respond };
  };

  // SAMLBaseURL as resolved (with any path): the logout cookies are Secure when it is https.
  return { baseUrl: d.acs.slice(0, d.acs.lastIndexOf('/auth/')), begin, receive };
}
