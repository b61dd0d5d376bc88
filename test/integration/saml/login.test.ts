/**
 * SAML logins end to end (issue 10) against the independent test IdP (test/support/saml-idp.ts: XML templates
 * signed and encrypted by xmlsec1, not by the broker's library) and the recording Tyk stub: SP-initiated logins
 * by the HTTP-Redirect and HTTP-POST bindings to the portal with mapped teams, for an Entra-ID-shaped and an
 * Okta-shaped IdP; an encrypted assertion; federation metadata; metadata from a local file; IdP-initiated
 * logins only when allowed and never redirecting to RelayState; a login started on one broker and finished
 * on another sharing Redis, with the replay refused on both.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { CookieJar } from '../../support/cookie-jar.js';
import { startRedis, type TestRedis } from '../../support/redis.js';
import { leaksIn, parseForm, postToAcs, samlLogin, samlToAcs } from '../../support/saml-driver.js';
import { byId, DEFAULT_USER, ENTRA_CLAIMS, makeSamlKeys, samlProfile, startTestIdp, writeMetadataFile, xmlsecVerify, type SamlKeys, type TestIdp } from '../../support/saml-idp.js';
import { freePort } from '../../support/slapd.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const CRED = 'dashboard-credential-for-saml-tests';
const ADMIN = 'dashboard-admin-secret-for-saml-tests';
const SESSION_SECRET = 'session-secret-for-saml-tests-0123456789';
const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const [G1, G2] = DEFAULT_USER.groups as [string, string];
const ENTRA_MAPPING = { [G1]: 'team-entra-devs', [G2]: 'team-entra-admins' };
const OKTA_GROUPS = ['Platform Engineering', 'Everyone', 'Portal Admins'];
const OKTA_MAPPING = { 'Platform Engineering': 'team-okta-eng', 'Portal Admins': 'team-okta-admins' };

let keys: SamlKeys;
let stub: TykStub;
let broker: TestBroker;
let base: string;
let fileDir: string;
const idps: Record<'entra' | 'okta' | 'encrypting' | 'spFirst' | 'idpFirst', TestIdp> = {} as never;

const acsOf = (b: string, id: string) => `${b}/auth/${id}/saml/callback`;
const entityOf = (b: string, id: string) => `${b}/auth/${id}/saml/metadata`;
const FAILED = () => `${stub.url}/login-failed`;

function entra(id: string, idp: TestIdp, providerConfig: Record<string, unknown> = {}, b = () => base) {
  return samlProfile({
    id,
    idp,
    baseUrl: b(),
    returnUrl: `${stub.url}/portal/sso/`,
    credential: CRED,
    profile: { CustomUserGroupField: ENTRA_CLAIMS.groups, UserGroupMapping: ENTRA_MAPPING },
    providerConfig: { FailureRedirect: FAILED(), ...providerConfig },
  });
}

function okta(id: string, idp: TestIdp, providerConfig: Record<string, unknown> = {}) {
  return samlProfile({
    id,
    idp,
    baseUrl: base,
    returnUrl: `${stub.url}/portal/sso/`,
    credential: CRED,
    profile: { CustomUserGroupField: 'groups', UserGroupMapping: OKTA_MAPPING },
    providerConfig: { SAMLEmailClaim: 'email', SAMLForenameClaim: 'firstName', SAMLSurnameClaim: 'lastName', FailureRedirect: FAILED(), ...providerConfig },
  });
}

/** The portal SSO call the broker made to the stub (the nonce request), if any. */
const ssoCall = () => stub.requests.find((r) => r.path === '/api/sso');

/** A success: a 302 to the portal with the nonce the stub issued, for the expected developer and teams. */
function expectPortalLogin(res: Response, email: string, teams: string[]) {
  expect(res.status).toBe(302);
  expect(res.headers.get('location')).toBe(`${stub.url}/portal/sso/?nonce=${stub.issuedNonces.at(-1)}`);
  expect(ssoCall()?.body).toMatchObject({ ForSection: 'portal', EmailAddress: email, GroupsIDs: teams });
}

function expectFailed(res: Response) {
  expect(res.status).toBe(302);
  expect(res.headers.get('location')).toBe(FAILED());
  expect(ssoCall()).toBeUndefined();
}

/** Responses and keys never reach a log line. */
function expectNoSecretsLogged(logs: string[], responses: string[]) {
  expect(responses.length).toBeGreaterThan(0);
  expect(leaksIn(logs, responses, keys.spKey)).toEqual([]);
}

beforeAll(async () => {
  keys = await makeSamlKeys();
  fileDir = await fs.mkdtemp(path.join(os.tmpdir(), 'saml-md-'));
  stub = await startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN });
  idps.entra = await startTestIdp({ keys, shape: 'entra' });
  idps.okta = await startTestIdp({ keys, shape: 'okta' });
  idps.encrypting = await startTestIdp({ keys, shape: 'entra' });
  idps.encrypting.overrides = { encryptTo: keys.spCert };
  idps.spFirst = await startTestIdp({ keys, federation: 'sp-first' });
  idps.idpFirst = await startTestIdp({ keys, federation: 'idp-first' });
  idps.okta.user = { ...DEFAULT_USER, email: 'grace.hopper@example.com', givenName: 'Grace', surname: 'Hopper', groups: OKTA_GROUPS };
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const metadataFile = await writeMetadataFile(idps.entra, fileDir);
  broker = await startTestBroker({
    port,
    config: { SessionSecret: SESSION_SECRET, TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } } },
    profiles: [
      entra('entra-redirect', idps.entra),
      entra('entra-post', idps.entra, { SAMLBinding: POST, ForceAuthentication: true }),
      okta('okta-redirect', idps.okta),
      okta('okta-post', idps.okta, { SAMLBinding: POST }),
      entra('encrypted', idps.encrypting),
      entra('fed-sp-first', idps.spFirst),
      entra('fed-idp-first', idps.idpFirst, { IDPEntityID: idps.idpFirst.entityId }),
      entra('file-metadata', idps.entra, { IDPMetadataURL: metadataFile }),
      entra('idp-initiated-off', idps.entra),
      entra('idp-initiated-on', idps.entra, { AllowIDPInitiated: true }),
    ],
  });
}, 60_000);

afterAll(async () => {
  await broker?.close();
  await Promise.all(Object.values(idps).map((i) => i.close()));
  await stub?.close();
  if (keys) await fs.rm(keys.dir, { recursive: true, force: true });
  if (fileDir) await fs.rm(fileDir, { recursive: true, force: true });
});

const authnRequest = (idp: TestIdp, id: string, acs: string) =>
  `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="${id}" Version="2.0" IssueInstant="2026-01-01T00:00:00Z" Destination="${idp.ssoRedirectUrl}" AssertionConsumerServiceURL="${acs}" ForceAuthn="true"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">http://sp.example/metadata</saml:Issuer></samlp:AuthnRequest>`;

describe('the test IdP (independent of the broker)', () => {
  it('answers a redirect-binding request with a form to the ACS carrying a response xmlsec1 verifies', async () => {
    const idp = idps.entra;
    const q = new URLSearchParams({ SAMLRequest: deflateRawSync(authnRequest(idp, '_req1', 'http://sp.example/acs')).toString('base64'), RelayState: 'rs1' });
    const res = await fetch(`${idp.ssoRedirectUrl}?${q}`);
    expect(res.status).toBe(200);
    const form = parseForm(await res.text(), idp.ssoRedirectUrl);
    expect(form.action).toBe('http://sp.example/acs');
    expect(form.fields.RelayState).toBe('rs1');
    const xml = Buffer.from(form.fields.SAMLResponse ?? '', 'base64').toString('utf8');
    expect(xml).toContain('InResponseTo="_req1"');
    const assertionId = /<Assertion [^>]*ID="([^"]+)"/.exec(xml)?.[1] ?? '';
    expect(await xmlsecVerify(xml, keys.idp.cert, byId(assertionId))).toBe(true);
    expect(await xmlsecVerify(xml, keys.rogue.cert, byId(assertionId))).toBe(false);
    expect(idp.requests.at(-1)).toMatchObject({ binding: 'redirect', id: '_req1', acsUrl: 'http://sp.example/acs', issuer: 'http://sp.example/metadata', forceAuthn: true });
  });

  it('takes a base64 POST-binding request and refuses a deflated one', async () => {
    const idp = idps.entra;
    const post = (b: Buffer) => fetch(idp.ssoPostUrl, { method: 'POST', body: new URLSearchParams({ SAMLRequest: b.toString('base64') }) });
    expect((await post(Buffer.from(authnRequest(idp, '_req2', 'http://sp.example/acs')))).status).toBe(200);
    expect((await post(deflateRawSync(authnRequest(idp, '_req3', 'http://sp.example/acs')))).status).toBe(400);
    expect(idp.requests.map((r) => r.id)).not.toContain('_req3');
  });

  it('serves its metadata with its signing certificate and both bindings, or garbage, or a 500, as told', async () => {
    const md = await (await fetch(idps.entra.metadataUrl)).text();
    expect(md).toContain(`entityID="${idps.entra.entityId}"`);
    expect(md).toContain(idps.entra.ssoRedirectUrl);
    expect(md).toContain(idps.entra.ssoPostUrl);
    expect(md.replace(/\s/g, '')).toContain((await fs.readFile(keys.idp.cert, 'utf8')).replace(/-----[^-]+-----|\s/g, ''));
    try {
      idps.entra.metadataMode = 'garbage';
      expect(await (await fetch(idps.entra.metadataUrl)).text()).not.toContain('EntityDescriptor');
      idps.entra.metadataMode = 500;
      expect((await fetch(idps.entra.metadataUrl)).status).toBe(500);
    } finally {
      idps.entra.metadataMode = 'ok';
    }
  });
});

describe('SP-initiated logins to the portal', () => {
  it('Entra ID shape, redirect binding: a deflated AuthnRequest for our ACS, then the developer with the mapped teams', async () => {
    stub.reset();
    const { res, start, idpRequest } = await samlLogin(base, 'entra-redirect');
    // The redirect binding: a 302 to the IdP's Redirect SSO URL with SAMLRequest (DEFLATE + base64) and RelayState.
    expect(start.status).toBe(302);
    const to = new URL(idpRequest.url);
    expect(`${to.origin}${to.pathname}`).toBe(idps.entra.ssoRedirectUrl);
    const relayState = to.searchParams.get('RelayState') ?? '';
    expect(relayState).not.toBe('');
    expect(() => new URL(relayState)).toThrow(); // an opaque key, never a URL
    const xml = inflateRawSync(Buffer.from(to.searchParams.get('SAMLRequest') ?? '', 'base64')).toString('utf8');
    const req = idps.entra.requests.at(-1);
    expect(req).toMatchObject({ binding: 'redirect', acsUrl: acsOf(base, 'entra-redirect'), issuer: entityOf(base, 'entra-redirect'), relayState, forceAuthn: false });
    expect(xml).toContain(`ID="${req?.id}"`);

    // Two GUID groups, kept as a list, mapped in IdP order.
    expectPortalLogin(res, DEFAULT_USER.email, ['team-entra-devs', 'team-entra-admins']);
    expect(stub.landings).toEqual([]); // the browser has not landed yet: the broker answered with the redirect
    expectNoSecretsLogged(broker.logs, idps.entra.issued);
  });

  it('Entra ID shape, POST binding: an auto-submitting page with a base64 (not deflated) AuthnRequest and a CSP for its one script', async () => {
    stub.reset();
    const { res, start, startHtml, idpRequest } = await samlLogin(base, 'entra-post');
    expect(start.status).toBe(200);
    expect(start.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = start.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src[^;]*('sha256-|'nonce-)/);
    expect(csp).not.toMatch(/unsafe-inline/);
    expect(startHtml).toMatch(/<script/);
    expect(idpRequest.url).toBe(idps.entra.ssoPostUrl);
    // The IdP refuses a deflated POST request (400), so reaching it at all proves the request was plain base64.
    const req = idps.entra.requests.at(-1);
    expect(req).toMatchObject({ binding: 'post', acsUrl: acsOf(base, 'entra-post'), forceAuthn: true });
    expect(Buffer.from(idpRequest.form?.fields.SAMLRequest ?? '', 'base64').toString('utf8')).toContain(`ID="${req?.id}"`);
    expectPortalLogin(res, DEFAULT_USER.email, ['team-entra-devs', 'team-entra-admins']);
  });

  it('Okta shape, redirect binding: Basic attribute names, response and assertion signed, groups with spaces kept whole', async () => {
    stub.reset();
    const { res } = await samlLogin(base, 'okta-redirect');
    // "Platform Engineering" maps only if the list is not joined and split on spaces (TIB's way).
    expectPortalLogin(res, 'grace.hopper@example.com', ['team-okta-eng', 'team-okta-admins']);
    expect(idps.okta.requests.at(-1)?.binding).toBe('redirect');
  });

  it('Okta shape, POST binding', async () => {
    stub.reset();
    const { res, start } = await samlLogin(base, 'okta-post');
    expect(start.status).toBe(200);
    expectPortalLogin(res, 'grace.hopper@example.com', ['team-okta-eng', 'team-okta-admins']);
    expect(idps.okta.requests.at(-1)?.binding).toBe('post');
    expectNoSecretsLogged(broker.logs, idps.okta.issued);
  });

  it('decrypts an encrypted assertion (xmlsec1, RSA-OAEP + AES-256-CBC to the SP certificate)', async () => {
    stub.reset();
    const at = await samlToAcs(base, 'encrypted');
    const xml = Buffer.from(at.form.fields.SAMLResponse ?? '', 'base64').toString('utf8');
    expect(xml).toContain('EncryptedAssertion');
    expect(xml).not.toContain(DEFAULT_USER.email);
    const res = await postToAcs(at.form.action, at.jar, at.form.fields.SAMLResponse ?? '', at.form.fields.RelayState);
    expectPortalLogin(res, DEFAULT_USER.email, ['team-entra-devs', 'team-entra-admins']);
    expectNoSecretsLogged(broker.logs, idps.encrypting.issued);
  });

  it('reads federation metadata: the first entity with an IdP role, or the one IDPEntityID names', async () => {
    for (const [id, idp] of [['fed-sp-first', idps.spFirst], ['fed-idp-first', idps.idpFirst]] as const) {
      stub.reset();
      const { res, idpRequest } = await samlLogin(base, id);
      expect(idpRequest.url.startsWith(idp.ssoRedirectUrl)).toBe(true);
      expectPortalLogin(res, DEFAULT_USER.email, ['team-entra-devs', 'team-entra-admins']);
    }
  });

  it('reads the IdP metadata from a local file', async () => {
    stub.reset();
    const { res } = await samlLogin(base, 'file-metadata');
    expectPortalLogin(res, DEFAULT_USER.email, ['team-entra-devs', 'team-entra-admins']);
  });

  it('serves the SP metadata with our certificate, the ACS and WantAssertionsSigned', async () => {
    const res = await fetch(entityOf(base, 'entra-redirect'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/samlmetadata\+xml/);
    const md = await res.text();
    expect(md).toContain(`entityID="${entityOf(base, 'entra-redirect')}"`);
    expect(md).toContain(acsOf(base, 'entra-redirect'));
    expect(md).toMatch(/WantAssertionsSigned="true"/);
    const certBody = (await fs.readFile(keys.spCert, 'utf8')).replace(/-----[^-]+-----|\s/g, '');
    expect(md.replace(/\s/g, '')).toContain(certBody);
    expect(md).not.toContain(keys.spKey.split('\n')[1] ?? '-');
  });
});

describe('IdP-initiated logins', () => {
  const unsolicited = (id: string) => idps.entra.response({ destination: acsOf(base, id), audience: entityOf(base, id) });

  it('are refused unless the profile sets AllowIDPInitiated', async () => {
    stub.reset();
    const res = await postToAcs(acsOf(base, 'idp-initiated-off'), new CookieJar(), await unsolicited('idp-initiated-off'), '');
    expectFailed(res);
  });

  it('with AllowIDPInitiated: accepted, and a URL in RelayState is never where the browser goes', async () => {
    stub.reset();
    const evil = 'https://evil.example/steal';
    const res = await postToAcs(acsOf(base, 'idp-initiated-on'), new CookieJar(), await unsolicited('idp-initiated-on'), evil);
    expectPortalLogin(res, DEFAULT_USER.email, ['team-entra-devs', 'team-entra-admins']);
    expect(res.headers.get('location')).not.toContain('evil.example');
    expect(await res.text()).not.toContain('evil.example');
  });

  it('with AllowIDPInitiated: an unsolicited response for another SP or ACS is still refused', async () => {
    for (const wrong of [{ audience: 'https://other-sp.example/metadata' }, { destination: 'https://other-sp.example/acs' }]) {
      stub.reset();
      const saml = await idps.entra.response({ destination: acsOf(base, 'idp-initiated-on'), audience: entityOf(base, 'idp-initiated-on'), ...wrong });
      expectFailed(await postToAcs(acsOf(base, 'idp-initiated-on'), new CookieJar(), saml));
    }
  });

  it('with AllowIDPInitiated: the same unsolicited response twice is a replay', async () => {
    stub.reset();
    const saml = await unsolicited('idp-initiated-on');
    expect((await postToAcs(acsOf(base, 'idp-initiated-on'), new CookieJar(), saml)).status).toBe(302);
    stub.reset();
    expectFailed(await postToAcs(acsOf(base, 'idp-initiated-on'), new CookieJar(), saml));
  });
});

describe('two brokers sharing Redis', () => {
  let redis: TestRedis;
  const pair: TestBroker[] = [];
  let first: string;

  beforeAll(async () => {
    redis = await startRedis();
    const port = await freePort();
    first = `http://127.0.0.1:${port}`;
    // Both replicas publish the same SAMLBaseURL (the first one's), as replicas behind one public name do.
    const profiles = [entra('shared', idps.entra, {}, () => first), entra('shared-idp-init', idps.entra, { AllowIDPInitiated: true }, () => first)];
    const config = {
      SessionSecret: SESSION_SECRET,
      BackEnd: { Name: 'redis' as const, KeyPrefix: 'saml-replicas:', IdentityBackendSettings: { Addrs: [`127.0.0.1:${redis.port}`] } },
      TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } },
    };
    pair.push(await startTestBroker({ port, profiles, config }), await startTestBroker({ profiles, config }));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(pair.map((b) => b.close()));
    await redis?.stop();
  });

  /** POSTs to the second broker what the browser would post to the public ACS, with the browser's cookies. */
  function postToSecond(id: string, jar: CookieJar, saml: string, relayState?: string) {
    const fields: Record<string, string> = { SAMLResponse: saml };
    if (relayState !== undefined) fields.RelayState = relayState;
    return fetch(acsOf(pair[1]!.url, id), {
      method: 'POST',
      redirect: 'manual',
      body: new URLSearchParams(fields),
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header(first) },
    });
  }

  it('a login started on one broker finishes on the other; the same response is then refused on both', async () => {
    stub.reset();
    const at = await samlToAcs(first, 'shared');
    expect(at.form.action).toBe(acsOf(first, 'shared'));
    const saml = at.form.fields.SAMLResponse ?? '';
    const relay = at.form.fields.RelayState;
    expectPortalLogin(await postToSecond('shared', at.jar, saml, relay), DEFAULT_USER.email, ['team-entra-devs', 'team-entra-admins']);

    stub.reset();
    expectFailed(await postToAcs(acsOf(first, 'shared'), at.jar, saml, relay));
    expectFailed(await postToSecond('shared', at.jar, saml, relay));
    for (const b of pair) expectNoSecretsLogged(b.logs, [saml]);
  });

  it('an assertion accepted by one broker is a replay on the other (assertion ids kept in Redis)', async () => {
    stub.reset();
    const saml = await idps.entra.response({ destination: acsOf(first, 'shared-idp-init'), audience: entityOf(first, 'shared-idp-init') });
    expect((await postToAcs(acsOf(first, 'shared-idp-init'), new CookieJar(), saml)).status).toBe(302);
    expect(ssoCall()).toBeDefined();
    stub.reset();
    expectFailed(await postToSecond('shared-idp-init', new CookieJar(), saml));
  });
});
