/**
 * Interoperability with a second, independent SAML implementation (issue 10): samlify as the IdP, with its
 * own metadata, request parsing, response template, signing (xml-crypto) and encryption (xml-encryption).
 * SP-initiated logins by both bindings through to the Tyk stub with mapped teams, for a signed assertion, a
 * signed Response, both, and an encrypted assertion; and the same refusals as for any IdP.
 */
import fs from 'node:fs/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { leaksIn, postToAcs, samlLogin, samlToAcs } from '../../support/saml-driver.js';
import { makeSamlKeys, samlProfile, type SamlKeys } from '../../support/saml-idp.js';
import { startSamlifyIdp, type SamlifyIdp } from '../../support/saml-samlify.js';
import { freePort } from '../../support/slapd.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const CRED = 'dashboard-credential-for-saml-interop';
const ADMIN = 'dashboard-admin-secret-for-saml-interop';
const SESSION_SECRET = 'session-secret-for-saml-interop-0123456789';
const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const GROUPS = ['Platform Engineering', 'Everyone', 'Portal Admins'];
const MAPPING = { 'Platform Engineering': 'team-eng', 'Portal Admins': 'team-admins' };

let keys: SamlKeys;
let stub: TykStub;
let idp: SamlifyIdp;
let broker: TestBroker;
let base: string;

const FAILED = () => `${stub.url}/login-failed`;
const ssoCall = () => stub.requests.find((r) => r.path === '/api/sso');

function profile(id: string, providerConfig: Record<string, unknown> = {}) {
  return samlProfile({
    id,
    idp: { metadataUrl: idp.metadataUrl, keys },
    baseUrl: base,
    returnUrl: `${stub.url}/portal/sso/`,
    credential: CRED,
    profile: { CustomUserGroupField: 'groups', UserGroupMapping: MAPPING },
    providerConfig: { SAMLEmailClaim: 'email', SAMLForenameClaim: 'firstName', SAMLSurnameClaim: 'lastName', FailureRedirect: FAILED(), ...providerConfig },
  });
}

beforeAll(async () => {
  keys = await makeSamlKeys();
  stub = await startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN });
  idp = await startSamlifyIdp(keys.idp);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  broker = await startTestBroker({
    port,
    config: { SessionSecret: SESSION_SECRET, TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } } },
    profiles: [profile('samlify-redirect'), profile('samlify-post', { SAMLBinding: POST })],
  });
}, 60_000);

beforeEach(() => {
  stub.reset();
  idp.signing = 'assertion';
  idp.encrypt = false;
  idp.user = { nameId: 'grace.hopper', attributes: { email: 'grace.hopper@example.com', firstName: 'Grace', lastName: 'Hopper', groups: GROUPS } };
});

afterAll(async () => {
  await broker?.close();
  await idp?.close();
  await stub?.close();
  if (keys) await fs.rm(keys.dir, { recursive: true, force: true });
});

describe('samlify as the IdP', () => {
  const cases: Array<[string, 'samlify-redirect' | 'samlify-post', SamlifyIdp['signing'], boolean]> = [
    ['redirect binding, assertion signed', 'samlify-redirect', 'assertion', false],
    ['POST binding, assertion signed', 'samlify-post', 'assertion', false],
    ['redirect binding, Response signed (assertion unsigned)', 'samlify-redirect', 'response', false],
    ['POST binding, Response and assertion signed', 'samlify-post', 'both', false],
    ['redirect binding, assertion signed then encrypted (AES-256-CBC, RSA-OAEP)', 'samlify-redirect', 'assertion', true],
  ];
  it.each(cases)('%s: the developer reaches the portal with the mapped teams', async (_what, id, signing, encrypt) => {
    idp.signing = signing;
    idp.encrypt = encrypt;
    const { res, form } = await samlLogin(base, id);
    const xml = Buffer.from(form.fields.SAMLResponse ?? '', 'base64').toString('utf8');
    // What samlify really sent: the signatures and encryption asked for, nothing else.
    expect(xml.includes('EncryptedAssertion')).toBe(encrypt);
    if (!encrypt) expect((xml.match(/<ds:Signature\b/g) ?? []).length).toBe(signing === 'both' ? 2 : 1);
    expect(idp.requestIds.at(-1)).toMatch(/^_[0-9a-f]{40}$/);
    expect(xml).toContain(`InResponseTo="${idp.requestIds.at(-1)}"`);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`${stub.url}/portal/sso/?nonce=${stub.issuedNonces.at(-1)}`);
    expect(ssoCall()?.body).toMatchObject({ ForSection: 'portal', EmailAddress: 'grace.hopper@example.com', GroupsIDs: ['team-eng', 'team-admins'] });
    expect(leaksIn(broker.logs, idp.issued, keys.spKey)).toEqual([]);
  });

  it("refuses samlify's response posted to another profile's ACS, and the same response twice", async () => {
    const at = await samlToAcs(base, 'samlify-redirect');
    const other = await postToAcs(`${base}/auth/samlify-post/saml/callback`, at.jar, at.form.fields.SAMLResponse ?? '', at.form.fields.RelayState);
    expect(other.headers.get('location')).toBe(FAILED());
    // The RelayState was spent by the refused attempt: the real ACS refuses it now too.
    const again = await postToAcs(at.form.action, at.jar, at.form.fields.SAMLResponse ?? '', at.form.fields.RelayState);
    expect(again.headers.get('location')).toBe(FAILED());
    expect(ssoCall()).toBeUndefined();
  });
});
