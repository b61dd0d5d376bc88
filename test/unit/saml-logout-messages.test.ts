/**
 * SAML single logout's own checks (pure, src/providers/saml/logout-messages.ts and slo.ts), on hand-written XML:
 * the LogoutResponse and LogoutRequest fields (Version, Destination, Issuer, status and PartialLogout, IssueInstant
 * and NotOnOrAfter, NameID), what is refused before any signature is verified (unsigned, a parameter twice, both
 * messages, SHA-1 without AllowSHA1), and which SingleLogoutService is used. Signatures themselves are tested end
 * to end against two IdPs in test/integration/logout/saml.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { checkLogoutRequest, checkLogoutResponse, LogoutRejected, logoutRequestXml, MAX_REQUEST_AGE_MS, STATUS, verifyPost, verifyRedirect } from '../../src/providers/saml/logout-messages.js';
import { chooseSlo } from '../../src/providers/saml/slo.js';
import { parseXml } from '../../src/providers/saml/xml-dom.js';

const P = 'urn:oasis:names:tc:SAML:2.0:protocol';
const A = 'urn:oasis:names:tc:SAML:2.0:assertion';
const SLO = 'https://sso.example.com/auth/p/saml/slo';
const IDP = 'https://idp.example/';
const NOW = Date.parse('2026-12-06T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const E = { idpEntityId: IDP, slo: SLO, now: NOW };
const root = (xml: string) => parseXml(xml, 'test').documentElement;

function response(o: { destination?: string; issuer?: string; status?: string; sub?: string; inResponseTo?: string; version?: string } = {}): Element {
  const sub = o.sub ? `<samlp:StatusCode Value="${o.sub}"/>` : '';
  return root(
    `<samlp:LogoutResponse xmlns:samlp="${P}" xmlns:saml="${A}" ID="_r1" Version="${o.version ?? '2.0'}" IssueInstant="${iso(NOW)}" Destination="${o.destination ?? SLO}" InResponseTo="${o.inResponseTo ?? '_q1'}">` +
      `<saml:Issuer>${o.issuer ?? IDP}</saml:Issuer><samlp:Status><samlp:StatusCode Value="${o.status ?? STATUS.success}">${sub}</samlp:StatusCode></samlp:Status></samlp:LogoutResponse>`,
  );
}

function request(o: { issueInstant?: number; notOnOrAfter?: number | null; nameId?: string | null; sessionIndexes?: string[]; destination?: string } = {}): Element {
  const nooa = o.notOnOrAfter === null ? '' : ` NotOnOrAfter="${iso(o.notOnOrAfter ?? NOW + 300_000)}"`;
  const nameId = o.nameId === null ? '' : `<saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" NameQualifier="${IDP}" SPNameQualifier="sp">${o.nameId ?? 'user-1'}</saml:NameID>`;
  const indexes = (o.sessionIndexes ?? ['_s1']).map((s) => `<samlp:SessionIndex>${s}</samlp:SessionIndex>`).join('');
  return root(
    `<samlp:LogoutRequest xmlns:samlp="${P}" xmlns:saml="${A}" ID="_i1" Version="2.0" IssueInstant="${iso(o.issueInstant ?? NOW)}" Destination="${o.destination ?? SLO}"${nooa}>` +
      `<saml:Issuer>${IDP}</saml:Issuer>${nameId}${indexes}</samlp:LogoutRequest>`,
  );
}

describe('checkLogoutResponse', () => {
  it('reads a Success answer, and notes PartialLogout', () => {
    expect(checkLogoutResponse(response(), E)).toEqual({ id: '_r1', inResponseTo: '_q1', partial: false });
    expect(checkLogoutResponse(response({ status: 'urn:oasis:names:tc:SAML:2.0:status:Responder', sub: STATUS.partialLogout }), E).partial).toBe(true);
  });

  it.each([
    ['another Destination', { destination: 'https://sso.example.com/auth/other/saml/slo' }, /Destination/],
    ['another Issuer', { issuer: 'https://evil.example/' }, /Issuer/],
    ['an error status', { status: 'urn:oasis:names:tc:SAML:2.0:status:Requester' }, /status/],
    ['no InResponseTo', { inResponseTo: '' }, /InResponseTo/],
    ['SAML 1.1', { version: '1.1' }, /Version/],
  ])('refuses %s', (_what, o, reason) => {
    expect(() => checkLogoutResponse(response(o), E)).toThrow(reason);
  });

  it('refuses a LogoutRequest where a LogoutResponse is expected', () => {
    expect(() => checkLogoutResponse(request(), E)).toThrow(LogoutRejected);
  });
});

describe('checkLogoutRequest', () => {
  it('reads the NameID with its qualifiers and the SessionIndexes', () => {
    const f = checkLogoutRequest(request({ sessionIndexes: ['_s1', '_s2'] }), E);
    expect(f).toMatchObject({ id: '_i1', nameId: { value: 'user-1', format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent', nameQualifier: IDP, spNameQualifier: 'sp' }, sessionIndexes: ['_s1', '_s2'] });
    expect(f.usableUntil).toBeLessThanOrEqual(NOW + MAX_REQUEST_AGE_MS + 120_000);
  });

  it.each([
    ['expired (NotOnOrAfter)', { notOnOrAfter: NOW - 10 * 60_000 }, /expired/],
    ['too old (IssueInstant), without NotOnOrAfter', { issueInstant: NOW - 20 * 60_000, notOnOrAfter: null }, /older/],
    ['from the future', { issueInstant: NOW + 10 * 60_000 }, /future/],
    ['without NameID', { nameId: null }, /NameID/],
    ['for another Destination', { destination: 'https://sso.example.com/auth/other/saml/slo' }, /Destination/],
  ])('refuses a request %s', (_what, o, reason) => {
    expect(() => checkLogoutRequest(request(o), E)).toThrow(reason);
  });
});

describe('before any signature is checked', () => {
  const xml = logoutRequestXml({ id: '_x', now: NOW, destination: SLO, issuer: IDP, nameId: { value: 'u' }, validForMs: 60_000 });
  const msg = encodeURIComponent(Buffer.from(xml).toString('base64'));
  it.each([
    ['unsigned (no SigAlg, no Signature)', `SAMLRequest=${msg}&RelayState=s`, /not signed/],
    ['SAMLRequest twice', `SAMLRequest=${msg}&SAMLRequest=${msg}&SigAlg=x&Signature=AA%3D%3D`, /twice/],
    ['both SAMLRequest and SAMLResponse', `SAMLRequest=${msg}&SAMLResponse=${msg}&SigAlg=x&Signature=AA%3D%3D`, /both/],
    ['SHA-1 without AllowSHA1', `SAMLRequest=${msg}&SigAlg=${encodeURIComponent('http://www.w3.org/2000/09/xmldsig#rsa-sha1')}&Signature=AA%3D%3D`, /SHA-1/],
    ['an unknown SigAlg', `SAMLRequest=${msg}&SigAlg=${encodeURIComponent('http://www.w3.org/2001/04/xmldsig-more#hmac-sha256')}&Signature=AA%3D%3D`, /not allowed/],
  ])('the redirect binding refuses %s', (_what, query, reason) => {
    expect(() => verifyRedirect(query, [], { allowSha1: false })).toThrow(reason);
  });

  it('the POST binding refuses an unsigned message', () => {
    expect(() => verifyPost({ SAMLRequest: Buffer.from(xml).toString('base64') }, [], { allowSha1: false })).toThrow(/not signed/);
  });
});

describe('chooseSlo', () => {
  const redirect = { location: 'https://idp.example/slo/r' };
  const post = { location: 'https://idp.example/slo/p', responseLocation: 'https://idp.example/slo/p/answer' };
  it('prefers HTTP-Redirect unless the profile asks for HTTP-POST, and falls back to what the IdP offers', () => {
    expect(chooseSlo('', { redirect, post })).toEqual({ post: false, endpoint: redirect });
    expect(chooseSlo('urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', { redirect, post })).toEqual({ post: true, endpoint: post });
    expect(chooseSlo('', { post })).toEqual({ post: true, endpoint: post });
    expect(chooseSlo('urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', { redirect })).toEqual({ post: false, endpoint: redirect });
    expect(chooseSlo('', {})).toBeUndefined();
  });
});
