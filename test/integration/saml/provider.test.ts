/**
 * The SAMLProvider's own surface (issue 10 item 2) against the independent test IdP (test/support/saml-idp.ts):
 * the SP metadata route, the AuthnRequest of each binding (redirect deflated, POST not), the IdP metadata
 * cache (fetched once, refreshed, last good kept, local file, IdP down at start then up). End-to-end logins
 * and the attack matrix are in saml-login.test.ts and saml-security.test.ts.
 */
import { createHash, X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DOMParser } from '@xmldom/xmldom';
import { getLogger } from '../../../src/log.js';
import { MetadataCache } from '../../../src/providers/saml/metadata-cache.js';
import { createIdpTransport } from '../../../src/providers/social/idp-fetch.js';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { CookieJar } from '../../support/cookie-jar.js';
import { startRedis, type TestRedis } from '../../support/redis.js';
import { postToAcs, samlLogin, samlToAcs } from '../../support/saml-driver.js';
import { makeSamlKeys, samlProfile, startTestIdp, writeMetadataFile, type SamlKeys, type TestIdp } from '../../support/saml-idp.js';
import { freePort } from '../../support/slapd.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const CRED = 'dash-cred-saml-provider';
const ADMIN = 'admin-secret-saml-provider';
const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';

let keys: SamlKeys;
let idp: TestIdp;
let postIdp: TestIdp;
let downIdp: TestIdp;
let stub: TykStub;
let b: TestBroker;
let base: string;

async function until(cond: () => boolean | Promise<boolean>, what: string, tries = 200): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

beforeAll(async () => {
  keys = await makeSamlKeys();
  idp = await startTestIdp({ keys });
  postIdp = await startTestIdp({ keys, bindings: ['post'] });
  downIdp = await startTestIdp({ keys });
  downIdp.metadataMode = 500;
  stub = await startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const p = (id: string, i: TestIdp, providerConfig: Record<string, unknown> = {}) =>
    samlProfile({ id, idp: i, baseUrl: `${base}/`, returnUrl: `${stub.url}/portal/sso/`, credential: CRED, providerConfig });
  const file = await writeMetadataFile(idp, keys.dir);
  b = await startTestBroker({
    port,
    profiles: [
      p('saml-redirect', idp),
      p('saml-post', idp, { SAMLBinding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST' }),
      p('saml-post-only-idp', postIdp),
      p('saml-file', idp, { IDPMetadataURL: file }),
      p('saml-file-url', idp, { IDPMetaDataURL: `file://${file}`, IDPMetadataURL: undefined }),
      p('saml-entity', idp, { EntityId: 'urn:example:sp', ForceAuthentication: true }),
      p('saml-down', downIdp),
      p('saml-down-redirect', downIdp, { FailureRedirect: 'http://app.example/failed' }),
      p('saml-missing-file', idp, { IDPMetadataURL: '/nonexistent/idp-metadata.xml' }),
    ].map((x) => JSON.parse(JSON.stringify(x)) as unknown),
    config: {
      SessionSecret: 'a-long-random-session-secret-for-the-saml-tests',
      TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN }, Timeout: 2 },
    },
  });
}, 60_000);

afterAll(async () => {
  await b?.close();
  await Promise.all([idp?.close(), postIdp?.close(), downIdp?.close(), stub?.close()]);
  if (keys) await fs.rm(keys.dir, { recursive: true, force: true });
});

describe('SP metadata (GET /auth/{id}/saml/metadata)', () => {
  it('publishes our entity, certificate, ACS and WantAssertionsSigned as application/samlmetadata+xml', async () => {
    const res = await fetch(`${base}/auth/saml-redirect/saml/metadata`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/samlmetadata\+xml/);
    const doc = new DOMParser().parseFromString(await res.text(), 'text/xml');
    const ed = doc.documentElement;
    expect(ed.localName).toBe('EntityDescriptor');
    expect(ed.namespaceURI).toBe(MD);
    expect(ed.getAttribute('entityID')).toBe(`${base}/auth/saml-redirect/saml/metadata`);
    const validFor = Date.parse(ed.getAttribute('validUntil') ?? '') - Date.now();
    expect(validFor).toBeGreaterThan(47 * 3600_000);
    expect(validFor).toBeLessThanOrEqual(48 * 3600_000);
    const sp = doc.getElementsByTagNameNS(MD, 'SPSSODescriptor')[0];
    expect(sp?.getAttribute('WantAssertionsSigned')).toBe('true');
    expect(sp?.getAttribute('AuthnRequestsSigned')).toBe('false');
    const spCert = new X509Certificate(await fs.readFile(keys.spCert));
    const kds = Array.from(doc.getElementsByTagNameNS(MD, 'KeyDescriptor'));
    expect(kds.map((k) => k.getAttribute('use')).sort()).toEqual(['encryption', 'signing']);
    for (const kd of kds) {
      const b64 = kd.getElementsByTagNameNS(DS, 'X509Certificate')[0]?.textContent ?? '';
      expect(new X509Certificate(Buffer.from(b64, 'base64')).fingerprint256).toBe(spCert.fingerprint256);
    }
    const acs = Array.from(doc.getElementsByTagNameNS(MD, 'AssertionConsumerService'));
    expect(acs.map((a) => [a.getAttribute('Binding'), a.getAttribute('Location')])).toEqual([
      ['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', `${base}/auth/saml-redirect/saml/callback`],
    ]);
    expect(doc.getElementsByTagNameNS(MD, 'SingleLogoutService').length).toBe(0);
    expect(doc.getElementsByTagNameNS(MD, 'NameIDFormat').length).toBeGreaterThan(0);
  });

  it('uses EntityId when set', async () => {
    const text = await (await fetch(`${base}/auth/saml-entity/saml/metadata`)).text();
    expect(text).toContain('entityID="urn:example:sp"');
  });

  it('is a 404 for an unknown profile', async () => {
    expect((await fetch(`${base}/auth/nope/saml/metadata`)).status).toBe(404);
  });
});

describe('the AuthnRequest', () => {
  it('goes by HTTP-Redirect, DEFLATEd, with our ACS, issuer and an opaque RelayState; sets the login\'s own sealed flow cookie', async () => {
    const at = await samlToAcs(base, 'saml-redirect');
    expect(at.start.status).toBe(302);
    expect(at.start.headers.get('cache-control')).toContain('no-store');
    const u = new URL(at.idpRequest.url);
    expect(`${u.origin}${u.pathname}`).toBe(idp.ssoRedirectUrl);
    const xml = inflateRawSync(Buffer.from(u.searchParams.get('SAMLRequest') ?? '', 'base64')).toString('utf8');
    expect(xml).toContain('AuthnRequest');
    const req = idp.requests.at(-1);
    expect(req).toMatchObject({ binding: 'redirect', acsUrl: `${base}/auth/saml-redirect/saml/callback`, issuer: `${base}/auth/saml-redirect/saml/metadata`, destination: idp.ssoRedirectUrl });
    expect(req?.forceAuthn).toBe(false);
    expect(req?.relayState).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(at.jar.header(`${base}/auth/saml-redirect/saml/callback`)).toMatch(/^tib_flow_[\w-]{16}=[\w-]{100,}$/);
  });

  it('goes by HTTP-POST when SAMLBinding says so: base64 of the XML, not deflated, in a page whose CSP allows only its script', async () => {
    const at = await samlToAcs(base, 'saml-post');
    expect(at.start.status).toBe(200);
    const form = at.idpRequest.form;
    expect(form?.action).toBe(idp.ssoPostUrl);
    const raw = Buffer.from(form?.fields.SAMLRequest ?? '', 'base64').toString('utf8');
    expect(raw.trimStart().startsWith('<')).toBe(true);
    expect(raw).toContain('AuthnRequest');
    expect(idp.requests.at(-1)?.binding).toBe('post');
    const script = /<script>([^<]*)<\/script>/.exec(at.startHtml ?? '')?.[1] ?? '';
    const hash = createHash('sha256').update(script).digest('base64');
    const csp = at.start.headers.get('content-security-policy') ?? '';
    expect(csp).toContain(`script-src 'sha256-${hash}'`);
    expect(csp).toContain("default-src 'none'");
  });

  it('falls back to HTTP-POST when the IdP offers only that (SAMLBinding "")', async () => {
    const at = await samlToAcs(base, 'saml-post-only-idp');
    expect(at.start.status).toBe(200);
    expect(postIdp.requests.at(-1)?.binding).toBe('post');
  });

  it('sends ForceAuthn and the configured EntityId', async () => {
    await samlToAcs(base, 'saml-entity');
    expect(idp.requests.at(-1)).toMatchObject({ issuer: 'urn:example:sp', forceAuthn: true });
  });
});

describe('the IdP metadata', () => {
  it('is fetched once for many logins, not per request', async () => {
    const before = idp.metadataFetches;
    for (let i = 0; i < 3; i++) expect((await samlLogin(base, 'saml-redirect')).res.status).toBe(302);
    expect(idp.metadataFetches).toBe(before);
  });

  it('may be a local file (absolute path or file:// URL, IDPMetaDataURL spelling)', async () => {
    for (const id of ['saml-file', 'saml-file-url']) {
      const { res } = await samlLogin(base, id);
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toContain('/portal/sso/');
    }
  });

  it('down at start: logins fail cleanly (503, or the FailureRedirect), a WARN names the host; once up, logins work', async () => {
    const res = await fetch(`${base}/auth/saml-down/saml`, { redirect: 'manual' });
    expect(res.status).toBe(503);
    const r2 = await fetch(`${base}/auth/saml-down-redirect/saml`, { redirect: 'manual' });
    expect(r2.status).toBe(302);
    expect(r2.headers.get('location')).toBe('http://app.example/failed');
    const host = new URL(downIdp.url).host;
    expect(b.logs.some((l) => l.includes('saml-down') && l.includes(`host ${host}`) && /could not be loaded/.test(l))).toBe(true);
    downIdp.metadataMode = 'ok';
    await until(async () => (await fetch(`${base}/auth/saml-down/saml`, { redirect: 'manual' })).status === 302, 'the metadata to load');
    expect((await samlLogin(base, 'saml-down')).res.status).toBe(302);
  });

  it('a local metadata file that cannot be read is a setup error naming profile and field', async () => {
    expect(b.logs.some((l) => l.includes('saml-missing-file') && l.includes('ProviderConfig.IDPMetadataURL /nonexistent/idp-metadata.xml cannot be read: ENOENT'))).toBe(true);
    const res = await fetch(`${base}/auth/saml-missing-file/saml`, { redirect: 'manual' });
    expect(res.status).toBe(500);
  });
});

describe('MetadataCache', () => {
  const log = getLogger('SAML TEST');

  it('refreshes on schedule and keeps the last good copy when a refresh fails', async () => {
    const other = await startTestIdp({ keys });
    const transport = createIdpTransport({ insecureSkipVerify: false });
    // The profile's minimum is 60 s; the class takes any period, so the test need not wait a minute.
    const cache = new MetadataCache({ source: { kind: 'url', url: other.metadataUrl }, refreshSeconds: 0.05, fetch: transport.fetch, log, profileId: 'p' });
    try {
      cache.start();
      expect((await cache.get())?.entityId).toBe(other.entityId);
      await until(() => other.metadataFetches >= 3, 'refreshes');
      other.metadataMode = 500;
      const n = other.metadataFetches;
      await until(() => other.metadataFetches >= n + 2, 'failed refreshes');
      expect((await cache.get())?.entityId).toBe(other.entityId);
      other.metadataMode = 'garbage';
      const m = other.metadataFetches;
      await until(() => other.metadataFetches >= m + 2, 'refreshes of garbage');
      expect((await cache.get())?.sso.redirect).toBe(other.ssoRedirectUrl);
    } finally {
      await cache.close();
      await transport.close();
      await other.close();
    }
  });

  it('a first load that fails leaves nothing to use (no login on unverifiable metadata)', async () => {
    const other = await startTestIdp({ keys });
    other.metadataMode = 'garbage';
    const transport = createIdpTransport({ insecureSkipVerify: false });
    const cache = new MetadataCache({ source: { kind: 'url', url: other.metadataUrl }, refreshSeconds: 3600, fetch: transport.fetch, log, profileId: 'p' });
    try {
      cache.start();
      expect(await cache.get()).toBeUndefined();
    } finally {
      await cache.close();
      await transport.close();
      await other.close();
    }
  });
});

describe('the assertion consumer', () => {
  it('decrypts an EncryptedAssertion with the SP key (signed inside, or by the Response)', async () => {
    for (const sign of ['assertion', 'response'] as const) {
      const at = await samlToAcs(base, 'saml-redirect');
      const req = idp.requests.at(-1);
      const saml = await idp.response({ inResponseTo: req?.id, destination: req?.acsUrl ?? '', audience: req?.issuer ?? '', encryptTo: keys.spCert, sign });
      expect(Buffer.from(saml, 'base64').toString('utf8')).toContain('EncryptedAssertion');
      const res = await postToAcs(at.form.action, at.jar, saml, at.form.fields.RelayState);
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toContain('/portal/sso/?nonce=');
    }
  });
});

describe('replicas sharing Redis', () => {
  let redis: TestRedis;
  const replicas: TestBroker[] = [];

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.close()));
    await redis?.stop();
  });

  it('a replayed assertion is refused by another replica (SET NX PX under <prefix>saml:assertion:<profile>:<id>)', async () => {
    redis = await startRedis();
    const port = await freePort();
    const publicBase = `http://127.0.0.1:${port}`;
    const profile = samlProfile({ id: 'saml-idp-init', idp, baseUrl: `${publicBase}/`, returnUrl: `${stub.url}/portal/sso/`, credential: CRED, providerConfig: { AllowIDPInitiated: true } });
    const config = {
      SessionSecret: 'a-long-random-session-secret-for-the-saml-tests',
      BackEnd: { Name: 'redis' as const, IdentityBackendSettings: { Addrs: [`127.0.0.1:${redis.port}`] } },
      TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN }, Timeout: 2 },
    };
    replicas.push(await startTestBroker({ port, profiles: [profile], config }));
    replicas.push(await startTestBroker({ profiles: [profile], config }));
    const [one, two] = replicas as [TestBroker, TestBroker];
    const acs = `${publicBase}/auth/saml-idp-init/saml/callback`;
    // IdP-initiated: no InResponseTo, so nothing but the replay cache stops a second use.
    const saml = await idp.response({ destination: acs, audience: `${publicBase}/auth/saml-idp-init/saml/metadata` });
    const assertionId = /<Assertion [^>]*ID="([^"]+)"/.exec(Buffer.from(saml, 'base64').toString('utf8'))?.[1] ?? '';
    const first = await postToAcs(`${one.url}/auth/saml-idp-init/saml/callback`, new CookieJar(), saml, 'https://evil.example/next');
    expect(first.status).toBe(302);
    // RelayState is never a redirect target, even for an IdP-initiated login.
    expect(first.headers.get('location')).toContain('/portal/sso/?nonce=');
    const pttl = Number(await redis.cli('PTTL', `tib:saml:assertion:saml-idp-init:${assertionId}`));
    expect(pttl).toBeGreaterThan(0);
    const again = await postToAcs(`${two.url}/auth/saml-idp-init/saml/callback`, new CookieJar(), saml);
    expect(again.status).toBe(400);
    expect(two.logs.some((l) => l.includes('already used (replay)'))).toBe(true);
  }, 30_000);
});
