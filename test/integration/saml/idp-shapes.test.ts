/**
 * The shapes real IdPs send (Entra ID, ADFS, Keycloak metadata and responses, hand-written and signed with
 * xmlsec1 by the test IdP's functions; Shibboleth's and ADFS's encryption), metadata hosts that stall or
 * answer too much, the Destination rule, and hostile input at the ACS. Each login starts at the broker (its AuthnRequest ID, this browser's
 * cookie and RelayState); the response is built here and POSTed to the ACS as the browser would.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import express from 'express';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { CookieJar, fetchWithJar } from '../../support/cookie-jar.js';
import { leaksIn, postToAcs } from '../../support/saml-driver.js';
import { buildResponseXml, certBody, ENTRA_CLAIMS, escapeXml, makeSamlKeys, NS, samlProfile, type KeyFiles, type ResponseOptions, type SamlKeys } from '../../support/saml-idp.js';
import { freePort } from '../../support/slapd.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const CRED = 'dashboard-credential-for-saml-idp-shapes';
const ADMIN = 'dashboard-admin-secret-for-saml-idp-shapes';
const SESSION_SECRET = 'session-secret-for-saml-idp-shapes-012345';

let keys: SamlKeys;
/** A third key: in the metadata of no IdP's SAML role. */
let stranger: KeyFiles;
let stub: TykStub;
let broker: TestBroker;
let base: string;
let mdServer: http.Server;
let mdUrl: string;
/** Metadata documents served at `${mdUrl}/<name>`, with their Content-Type. */
const documents: Record<string, { type: string; body: string | Buffer }> = {};
const posted: string[] = [];

const ENTRA_ID = 'https://sts.windows.net/0b5e2a1c-4f7d-4c1e-9a3b-6d8e2f1a7c90/';
const ADFS_ID = 'http://adfs.example.com/adfs/services/trust';
const KEYCLOAK_ID = 'http://127.0.0.1:1/realms/tyk';
const FAILED = () => `${stub.url}/login-failed`;
const acsOf = (id: string) => `${base}/auth/${id}/saml/callback`;
const ssoCall = () => stub.requests.find((r) => r.path === '/api/sso');

const keyInfo = (cert: string) => `<KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>${cert}</X509Certificate></X509Data></KeyInfo>`;
const sso = (binding: string, where: string) => `<SingleSignOnService Binding="${binding}" Location="${where}"/>`;

const XENC = 'http://www.w3.org/2001/04/xmlenc#';
const XENC11 = 'http://www.w3.org/2009/xmlenc11#';

/**
 * The Response with its (signed) Assertion encrypted to the SP by xmlsec1 with these algorithms; `sibling`
 * puts the EncryptedKey beside the EncryptedData, referenced by a RetrievalMethod, as Shibboleth does.
 */
async function encryptAssertion(xml: string, o: { data: string; session: string; key: string; sibling?: boolean; wrapper?: boolean }): Promise<string> {
  const inner = (a: string) => (o.wrapper ? `<x:Wrapper xmlns:x="urn:example:wrapper">${a}</x:Wrapper>` : a);
  const wrapped = xml.replace(/<Assertion\b[\s\S]*<\/Assertion>/, (a) => `<saml:EncryptedAssertion xmlns:saml="${NS.assertion}">${inner(a)}</saml:EncryptedAssertion>`);
  const template =
    `<xenc:EncryptedData xmlns:xenc="${XENC}" Type="${XENC}Element"><xenc:EncryptionMethod Algorithm="${o.data}"/>` +
    `<ds:KeyInfo xmlns:ds="${NS.dsig}"><xenc:EncryptedKey Id="_k1"><xenc:EncryptionMethod Algorithm="${o.key}"/>` +
    `<xenc:CipherData><xenc:CipherValue></xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>` +
    `<xenc:CipherData><xenc:CipherValue></xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>`;
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'saml-idp-shapes-enc-'));
  try {
    await fs.writeFile(path.join(dir, 'tmpl.xml'), template);
    await fs.writeFile(path.join(dir, 'data.xml'), wrapped);
    const args = ['--encrypt', '--pubkey-cert-pem', keys.spCert, '--session-key', o.session, '--xml-data', path.join(dir, 'data.xml'), '--node-xpath', `//*[local-name()='EncryptedAssertion']/*`, path.join(dir, 'tmpl.xml')];
    let out = (await promisify(execFile)('xmlsec1', args, { maxBuffer: 16 << 20 })).stdout.replace(/^<\?xml[^>]*\?>\s*/, '');
    if (o.sibling) {
      const key = /<xenc:EncryptedKey\b[\s\S]*?<\/xenc:EncryptedKey>/.exec(out)?.[0] ?? '';
      out = out.replace(key, `<ds:RetrievalMethod Type="${XENC}EncryptedKey" URI="#_k1"/>`).replace('</xenc:EncryptedData>', `</xenc:EncryptedData>${key.replace('<xenc:EncryptedKey ', `<xenc:EncryptedKey xmlns:xenc="${XENC}" `)}`);
    }
    return out;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Entra ID's federation metadata: signed, WS-Fed RoleDescriptors first, two signing certificates (rollover). */
function entraMetadata(certs: string[], roleCert: string): string {
  const signing = certs.map((c) => `<KeyDescriptor use="signing">${keyInfo(c)}</KeyDescriptor>`).join('');
  const wsfed = (type: string) =>
    `<RoleDescriptor xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:fed="http://docs.oasis-open.org/wsfed/federation/200706" xsi:type="fed:${type}" protocolSupportEnumeration="http://docs.oasis-open.org/wsfed/federation/200706">` +
    `<KeyDescriptor use="signing">${keyInfo(roleCert)}</KeyDescriptor><fed:ClaimTypesOffered><auth:ClaimType xmlns:auth="http://docs.oasis-open.org/wsfed/authorization/200706" Uri="${ENTRA_CLAIMS.name}"/></fed:ClaimTypesOffered></RoleDescriptor>`;
  return (
    `<?xml version="1.0" encoding="utf-8"?><EntityDescriptor ID="_4a2b8c1d-0e3f-4a5b-9c6d-7e8f9a0b1c2d" entityID="${ENTRA_ID}" xmlns="urn:oasis:names:tc:SAML:2.0:metadata">` +
    `<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo><CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>` +
    `<Reference URI="#_4a2b8c1d-0e3f-4a5b-9c6d-7e8f9a0b1c2d"><Transforms><Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></Transforms>` +
    `<DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue>AAAA</DigestValue></Reference></SignedInfo><SignatureValue>AAAA</SignatureValue>${keyInfo(certs[0] ?? '')}</Signature>` +
    wsfed('SecurityTokenServiceType') +
    wsfed('ApplicationServiceType') +
    `<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${signing}` +
    `<SingleLogoutService Binding="${NS.redirect}" Location="https://login.microsoftonline.com/0b5e2a1c/saml2"/>` +
    `${sso(NS.redirect, 'https://login.microsoftonline.com/0b5e2a1c/saml2')}${sso(NS.post, 'https://login.microsoftonline.com/0b5e2a1c/saml2')}</IDPSSODescriptor></EntityDescriptor>`
  );
}

/** ADFS's metadata: an SPSSODescriptor too, an encryption key first, certificates wrapped over lines with CRLF. */
function adfsMetadata(cert: string, encryptionCert: string): string {
  const wrapped = (c: string) => `\r\n            ${c.match(/.{1,64}/g)?.join('\r\n            ')}\r\n          `;
  const kd = (use: string, c: string) => `<KeyDescriptor use="${use}"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>${wrapped(c)}</X509Certificate></X509Data></KeyInfo></KeyDescriptor>`;
  return (
    `\uFEFF<?xml version="1.0" encoding="utf-8"?>\r\n<EntityDescriptor ID="_b1d2" entityID="${ADFS_ID}" xmlns="urn:oasis:names:tc:SAML:2.0:metadata">\r\n` +
    `<SPSSODescriptor WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${kd('encryption', encryptionCert)}${kd('signing', encryptionCert)}` +
    `<AssertionConsumerService Binding="${NS.post}" Location="https://adfs.example.com/adfs/ls/" index="0" isDefault="true"/></SPSSODescriptor>\r\n` +
    `<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${kd('encryption', encryptionCert)}${kd('signing', cert)}` +
    `<NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</NameIDFormat>${sso(NS.redirect, 'https://adfs.example.com/adfs/ls/')}${sso(NS.post, 'https://adfs.example.com/adfs/ls/')}</IDPSSODescriptor>\r\n</EntityDescriptor>\r\n`
  );
}

/** Keycloak's realm descriptor: md: prefixes, a KeyName, a KeyDescriptor without `use`, POST SSO only. */
function keycloakMetadata(cert: string): string {
  return (
    `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" Name="urn:keycloak"><md:EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${KEYCLOAK_ID}">` +
    `<md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor><ds:KeyInfo><ds:KeyName>kQ3v9xYz</ds:KeyName><ds:X509Data><ds:X509Certificate>${cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` +
    `<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:transient</md:NameIDFormat>` +
    `<md:SingleSignOnService Binding="${NS.post}" Location="http://127.0.0.1:1/realms/tyk/protocol/saml"/></md:IDPSSODescriptor></md:EntityDescriptor></md:EntitiesDescriptor>`
  );
}

function profile(id: string, metadata: string, p: { profile?: Record<string, unknown>; providerConfig?: Record<string, unknown> } = {}) {
  return samlProfile({
    id,
    idp: { metadataUrl: `${mdUrl}/${metadata}`, keys },
    baseUrl: base,
    returnUrl: `${stub.url}/portal/sso/`,
    credential: CRED,
    profile: p.profile,
    providerConfig: { FailureRedirect: FAILED(), ...p.providerConfig },
  });
}

/** A login started at the broker: this browser, the AuthnRequest ID and the RelayState to answer. */
async function start(id: string, jar = new CookieJar()): Promise<{ jar: CookieJar; requestId: string; relayState: string; acs: string }> {
  const res = await fetchWithJar(`${base}/auth/${id}/saml`, jar);
  let samlRequest: string;
  let relayState: string;
  if (res.status === 302) {
    const to = new URL(res.headers.get('location') ?? '');
    samlRequest = inflateRawSync(Buffer.from(to.searchParams.get('SAMLRequest') ?? '', 'base64')).toString('utf8');
    relayState = to.searchParams.get('RelayState') ?? '';
  } else {
    const page = await res.text();
    expect(res.status).toBe(200);
    samlRequest = Buffer.from(/name="SAMLRequest" value="([^"]+)"/.exec(page)?.[1] ?? '', 'base64').toString('utf8');
    relayState = /name="RelayState" value="([^"]+)"/.exec(page)?.[1] ?? '';
  }
  const requestId = / ID="([^"]+)"/.exec(samlRequest)?.[1] ?? '';
  expect(requestId).not.toBe('');
  return { jar, requestId, relayState, acs: acsOf(id) };
}

/** A correct answer to `flow` from `issuer`, signed by `key`; options override. */
function answer(flow: { requestId: string; acs: string }, id: string, issuer: string, key: KeyFiles, o: Partial<ResponseOptions> = {}): ResponseOptions {
  return {
    shape: 'entra',
    inResponseTo: flow.requestId,
    destination: flow.acs,
    audience: `${base}/auth/${id}/saml/metadata`,
    issuer,
    nameId: 'Xk3vQ9mP2rT7wY1zB5nC8dF4gH6jL0sA',
    attributes: { [ENTRA_CLAIMS.email]: 'ada.lovelace@example.com', [ENTRA_CLAIMS.givenName]: 'Ada', [ENTRA_CLAIMS.surname]: 'Lovelace', [ENTRA_CLAIMS.groups]: ['g-devs', 'g-admins'] },
    sign: 'assertion',
    key,
    ...o,
  };
}

async function post(flow: { jar: CookieJar; relayState: string; acs: string }, xml: string): Promise<Response> {
  const saml = Buffer.from(xml, 'utf8').toString('base64');
  posted.push(saml);
  return postToAcs(flow.acs, flow.jar, saml, flow.relayState);
}

function expectLogin(res: Response, teams?: string[]) {
  expect(res.status).toBe(302);
  expect(res.headers.get('location')).toBe(`${stub.url}/portal/sso/?nonce=${stub.issuedNonces.at(-1)}`);
  if (teams) expect(ssoCall()?.body).toMatchObject({ GroupsIDs: teams });
}

function expectRefused(res: Response, id: string, reason: RegExp) {
  expect(res.status).toBe(302);
  expect(res.headers.get('location')).toBe(FAILED());
  expect(ssoCall()).toBeUndefined();
  expect(broker.logs.filter((l) => l.includes('login failed') && l.includes(`profile="${id}"`)).at(-1)).toMatch(reason);
}

const GROUP_MAPPING = { CustomUserGroupField: ENTRA_CLAIMS.groups, UserGroupMapping: { 'g-devs': 'team-devs', 'g-admins': 'team-admins' } };

beforeAll(async () => {
  keys = await makeSamlKeys();
  stranger = { key: path.join(keys.dir, 'stranger-key.pem'), cert: path.join(keys.dir, 'stranger.pem') };
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=stranger', '-keyout', stranger.key, '-out', stranger.cert], { stdio: 'pipe' });
  stub = await startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN });
  const app = express();
  // Headers at once, then a byte every 200 ms, never finishing: a slow or stuck metadata host.
  app.get('/drip', (req, res) => {
    res.type('application/samlmetadata+xml').write('<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"');
    const t = setInterval(() => res.write(' '), 200);
    req.on('close', () => clearInterval(t));
  });
  // 6 MB of valid-looking metadata, chunked (no Content-Length): over the 5 MB bound.
  app.get('/huge', (_req, res) => {
    res.type('application/samlmetadata+xml').write('<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">');
    const pad = `<md:EntityDescriptor entityID="urn:pad">${' '.repeat(64 * 1024)}</md:EntityDescriptor>`;
    for (let i = 0; i < 96; i += 1) res.write(pad);
    res.end('</md:EntitiesDescriptor>');
  });
  app.get('/:name', (req, res) => {
    const doc = documents[req.params.name];
    if (!doc) return void res.status(404).end();
    res.set('content-type', doc.type).send(doc.body);
  });
  mdServer = await new Promise<http.Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  mdUrl = `http://127.0.0.1:${(mdServer.address() as AddressInfo).port}`;
  const [idpCert, rogueCert, strangerCert] = await Promise.all([certBody(keys.idp.cert), certBody(keys.rogue.cert), certBody(stranger.cert)]);
  // Rollover: the IdP's current certificate first, the next one (the "rogue" key here) second.
  documents.entra = { type: 'application/samlmetadata+xml', body: entraMetadata([idpCert, rogueCert], strangerCert) };
  documents.adfs = { type: 'text/xml; charset=utf-8', body: Buffer.from(adfsMetadata(idpCert, strangerCert), 'utf8') };
  documents.keycloak = { type: 'application/xml;charset=UTF-8', body: keycloakMetadata(idpCert) };
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  broker = await startTestBroker({
    port,
    config: { SessionSecret: SESSION_SECRET, TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } } },
    profiles: [
      profile('entra', 'entra', { profile: GROUP_MAPPING }),
      profile('adfs', 'adfs', { profile: GROUP_MAPPING }),
      profile('keycloak', 'keycloak', {
        profile: { CustomUserGroupField: 'Role', UserGroupMapping: { 'portal-admin': 'team-admins', 'portal-dev': 'team-devs' } },
        providerConfig: { SAMLEmailClaim: 'email' },
      }),
      profile('slow-metadata', 'drip'),
      profile('huge-metadata', 'huge'),
      { ID: 'not-saml', Name: 'LDAP', OrgID: 'org', ActionType: 'GenerateOrLoginUserProfile', ProviderName: 'ADProvider', ProviderConfig: { LDAPServer: '127.0.0.1', LDAPPort: '389', LDAPUserDN: 'cn=*USERNAME*,dc=example,dc=org' }, IdentityHandlerConfig: { DashboardCredential: CRED } },
    ],
  });
}, 60_000);

beforeEach(() => stub.reset());

afterAll(async () => {
  await broker?.close();
  await stub?.close();
  mdServer?.closeAllConnections();
  await new Promise((resolve) => mdServer?.close(resolve));
  if (keys) await fs.rm(keys.dir, { recursive: true, force: true });
});

describe('real IdP shapes', () => {
  it('Entra ID metadata (signed, WS-Fed RoleDescriptors first, two certificates): a response signed by either certificate logs in', async () => {
    for (const key of [keys.idp, keys.rogue]) {
      stub.reset();
      const flow = await start('entra');
      expectLogin(await post(flow, (await buildResponseXml(answer(flow, 'entra', ENTRA_ID, key))).xml), ['team-devs', 'team-admins']);
    }
  });

  it("a certificate only in Entra's WS-Fed RoleDescriptor is not a SAML signing key", async () => {
    const flow = await start('entra');
    expectRefused(await post(flow, (await buildResponseXml(answer(flow, 'entra', ENTRA_ID, stranger))).xml), 'entra', /refused/);
  });

  it('ADFS metadata (BOM, CRLF, text/xml; charset, certificates over several lines, an SPSSODescriptor and an encryption key too)', async () => {
    const flow = await start('adfs');
    expectLogin(await post(flow, (await buildResponseXml(answer(flow, 'adfs', ADFS_ID, keys.idp))).xml), ['team-devs', 'team-admins']);
  });

  it('ADFS: a response signed by its encryption key is refused', async () => {
    const flow = await start('adfs');
    expectRefused(await post(flow, (await buildResponseXml(answer(flow, 'adfs', ADFS_ID, stranger))).xml), 'adfs', /refused/);
  });

  it('Keycloak (POST SSO only, KeyDescriptor without use, Response signed with dsig:, transient NameID, one Role Attribute per role): every role is mapped', async () => {
    const flow = await start('keycloak');
    const role = (r: string) => `<saml2:Attribute Name="Role" NameFormat="${NS.basic}"><saml2:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">${r}</saml2:AttributeValue></saml2:Attribute>`;
    const { xml } = await buildResponseXml(
      answer(flow, 'keycloak', KEYCLOAK_ID, keys.idp, {
        shape: 'okta',
        sign: 'response',
        nameId: 'G-4f1c2b7e-9d3a-4e6f-8b0c-1a2d3e4f5a6b',
        nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
        attributes: { email: 'kc.user@example.com' },
        editAssertion: (x) => x.replace('</saml2:AttributeStatement>', `${role('portal-dev')}${role('offline_access')}${role('portal-admin')}</saml2:AttributeStatement>`),
        // Keycloak's prefixes: samlp:, saml:, dsig:.
        editResponse: (x) => x.replace(/\bsaml2p\b/g, 'samlp').replace(/\bsaml2\b/g, 'saml').replace(/(<\/?|xmlns:)ds\b/g, '$1dsig'),
      }),
    );
    expect(xml).toContain('<dsig:Signature');
    expectLogin(await post(flow, xml), ['team-devs', 'team-admins']);
    expect(ssoCall()?.body).toMatchObject({ EmailAddress: 'kc.user@example.com' });
  });
});

describe('a slow metadata host', () => {
  it('a metadata answer that never completes is cut off (10 s): the login fails cleanly and a WARN names the host', async () => {
    // Full collections while the answer drips, as a busy broker has: the timeout must survive them (in Node 20
    // a timeout signal held only by AbortSignal.any() is collected, and its timer with it).
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const churn = setInterval(gc, 500);
    try {
      const res = await fetch(`${base}/auth/slow-metadata/saml`, { redirect: 'manual' });
      expect(res.headers.get('location')).toBe(FAILED());
    } finally {
      clearInterval(churn);
    }
    expect(broker.logs.some((l) => l.includes('"slow-metadata"') && l.includes(`host ${new URL(mdUrl).host}`) && /could not be loaded/.test(l))).toBe(true);
  }, 30_000);
});

describe('a huge metadata document', () => {
  it('over 5 MB (chunked, no Content-Length) is not loaded: the login fails cleanly and a WARN says why', async () => {
    const res = await fetch(`${base}/auth/huge-metadata/saml`, { redirect: 'manual' });
    expect(res.headers.get('location')).toBe(FAILED());
    expect(broker.logs.some((l) => l.includes('"huge-metadata"') && /larger than 5242880 bytes/.test(l))).toBe(true);
  });
});

describe('encrypted assertions as other IdPs encrypt them', () => {
  it('Shibboleth: AES-128-GCM, RSA-OAEP, the EncryptedKey beside the EncryptedData (RetrievalMethod)', async () => {
    const flow = await start('entra');
    const xml = await encryptAssertion((await buildResponseXml(answer(flow, 'entra', ENTRA_ID, keys.idp))).xml, { data: `${XENC11}aes128-gcm`, session: 'aes-128', key: `${XENC}rsa-oaep-mgf1p`, sibling: true });
    expect(xml).toContain('RetrievalMethod');
    expect(xml).not.toContain('ada.lovelace');
    expectLogin(await post(flow, xml), ['team-devs', 'team-admins']);
  });

  it('AES-256-GCM inside the EncryptedData (as ADFS and Entra can)', async () => {
    const flow = await start('entra');
    const xml = await encryptAssertion((await buildResponseXml(answer(flow, 'entra', ENTRA_ID, keys.idp))).xml, { data: `${XENC11}aes256-gcm`, session: 'aes-256', key: `${XENC}rsa-oaep-mgf1p` });
    expectLogin(await post(flow, xml));
  });

  it('an EncryptedAssertion whose plaintext wraps the signed Assertion in another element is refused', async () => {
    const flow = await start('entra');
    const xml = await encryptAssertion((await buildResponseXml(answer(flow, 'entra', ENTRA_ID, keys.idp))).xml, { data: `${XENC}aes256-cbc`, session: 'aes-256', key: `${XENC}rsa-oaep-mgf1p`, wrapper: true });
    expectRefused(await post(flow, xml), 'entra', /does not hold an Assertion/);
  });

  it('Triple-DES content encryption (withdrawn by NIST in 2023) is refused before decryption', async () => {
    const flow = await start('entra');
    const xml = await encryptAssertion((await buildResponseXml(answer(flow, 'entra', ENTRA_ID, keys.idp))).xml, { data: `${XENC}tripledes-cbc`, session: 'des-192', key: `${XENC}rsa-oaep-mgf1p` });
    expectRefused(await post(flow, xml), 'entra', /encryption algorithm .*tripledes-cbc.* is not allowed/);
  });

  it('RSA PKCS#1 v1.5 key transport (Bleichenbacher) is refused before decryption', async () => {
    const flow = await start('entra');
    const xml = await encryptAssertion((await buildResponseXml(answer(flow, 'entra', ENTRA_ID, keys.idp))).xml, { data: `${XENC}aes256-cbc`, session: 'aes-256', key: `${XENC}rsa-1_5` });
    expectRefused(await post(flow, xml), 'entra', /encryption algorithm .*rsa-1_5.* is not allowed/);
  });
});

describe('Destination (required even where SAML profiles 4.1.4.5 would not: every major IdP sends it)', () => {
  it('a signed Response without Destination is refused', async () => {
    const flow = await start('entra');
    const { xml } = await buildResponseXml(answer(flow, 'entra', ENTRA_ID, keys.idp, { sign: 'response', editResponse: (x) => x.replace(/ Destination="[^"]*"/, '') }));
    expectRefused(await post(flow, xml), 'entra', /Destination/);
  });

  it('an unsigned Response with another Destination is refused', async () => {
    const flow = await start('entra');
    const { xml } = await buildResponseXml(answer(flow, 'entra', ENTRA_ID, keys.idp, { destination: acsOf('adfs'), recipient: flow.acs }));
    expectRefused(await post(flow, xml), 'entra', /Destination/);
  });
});

describe('hostile input', () => {
  it('deeply nested elements (a stack-depth attack) end at the FailureRedirect and the broker keeps serving', async () => {
    const flow = await start('entra');
    const depth = 25_000;
    const xml = `<samlp:Response xmlns:samlp="${NS.protocol}" ID="_x" Version="2.0"><samlp:Status><samlp:StatusCode Value="${NS.success}"/></samlp:Status>${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}</samlp:Response>`;
    expectRefused(await post(flow, xml), 'entra', /refused/);
    stub.reset();
    const next = await start('entra');
    expectLogin(await post(next, (await buildResponseXml(answer(next, 'entra', ENTRA_ID, keys.idp))).xml));
  });

  it('thousands of attribute values in a signed assertion are read (bounded by the 256 KB form limit)', async () => {
    const flow = await start('entra');
    const many = Array.from({ length: 4000 }, (_, i) => `g-${i}`);
    const { xml } = await buildResponseXml(answer(flow, 'entra', ENTRA_ID, keys.idp, { attributes: { [ENTRA_CLAIMS.email]: 'ada.lovelace@example.com', [ENTRA_CLAIMS.groups]: [...many, 'g-admins'] } }));
    expectLogin(await post(flow, xml), ['team-admins']);
  });

  it('a CDATA section inserted after signing (the digest does not change) cannot truncate the email or NameID', async () => {
    const flow = await start('entra');
    const long = 'admin@example.com.attacker.example';
    const { xml } = await buildResponseXml(answer(flow, 'entra', ENTRA_ID, keys.idp, { nameId: long, attributes: { [ENTRA_CLAIMS.email]: long } }));
    const res = await post(flow, xml.replaceAll(long, 'admin@example.com<![CDATA[]]>.attacker.example'));
    // Refused, or signed in as the whole value: never as admin@example.com.
    if (res.headers.get('location') === FAILED()) expect(ssoCall()).toBeUndefined();
    else expect(ssoCall()?.body).toMatchObject({ EmailAddress: long });
  });

  it('base64 wrapped over 76-character lines with CRLF (as some IdPs post it) is read', async () => {
    const flow = await start('entra');
    const xml = (await buildResponseXml(answer(flow, 'entra', ENTRA_ID, keys.idp))).xml;
    const wrapped = Buffer.from(xml).toString('base64').match(/.{1,76}/g)?.join('\r\n') ?? '';
    posted.push(wrapped.replace(/\r\n/g, ''));
    expectLogin(await postToAcs(flow.acs, flow.jar, wrapped, flow.relayState));
  });

  it('a GET to the ACS, even with the fields in the query, is refused', async () => {
    const flow = await start('entra');
    const saml = Buffer.from((await buildResponseXml(answer(flow, 'entra', ENTRA_ID, keys.idp))).xml).toString('base64');
    const res = await fetchWithJar(`${flow.acs}?${new URLSearchParams({ SAMLResponse: saml, RelayState: flow.relayState }).toString()}`, flow.jar);
    expectRefused(res, 'entra', /POST/);
  });

  it('Unicode in the NameID and attributes (accents, CJK, an emoji outside the BMP) reaches Tyk intact', async () => {
    const flow = await start('entra');
    const email = 'zoë.名前😀@exämple.com';
    const { xml } = await buildResponseXml(answer(flow, 'entra', ENTRA_ID, keys.idp, { nameId: escapeXml('Zoë 名前 😀'), attributes: { [ENTRA_CLAIMS.email]: email } }));
    expectLogin(await post(flow, xml));
    expect(ssoCall()?.body).toMatchObject({ EmailAddress: email });
  });

  it('two tabs of one browser: two logins started, finished in the other order, both succeed', async () => {
    const jar = new CookieJar();
    const first = await start('entra', jar);
    const second = await start('entra', jar);
    expect(second.requestId).not.toBe(first.requestId);
    expectLogin(await post(second, (await buildResponseXml(answer(second, 'entra', ENTRA_ID, keys.idp))).xml));
    stub.reset();
    expectLogin(await post(first, (await buildResponseXml(answer(first, 'entra', ENTRA_ID, keys.idp))).xml));
  });

  it("a tab's response with the other tab's RelayState is refused", async () => {
    const jar = new CookieJar();
    const first = await start('entra', jar);
    const second = await start('entra', jar);
    const res = await post({ ...first, relayState: second.relayState }, (await buildResponseXml(answer(first, 'entra', ENTRA_ID, keys.idp))).xml);
    expectRefused(res, 'entra', /InResponseTo/);
  });

  it('the SP metadata route of a profile that is not SAML is a 404', async () => {
    const res = await fetch(`${base}/auth/not-saml/saml/metadata`);
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain('EntityDescriptor');
  });

  it('nothing of any response posted here, nor the SP key, reached the logs (captured at debug level)', () => {
    expect(posted.length).toBeGreaterThan(5);
    expect(leaksIn(broker.logs, posted, keys.spKey)).toEqual([]);
    // Nor the NameIDs (pseudonymous identifiers: the user id logged is the name or email).
    expect(broker.logs.join('\n')).not.toContain('Xk3vQ9mP2rT7wY1zB5nC8dF4gH6jL0sA');
  });
});
