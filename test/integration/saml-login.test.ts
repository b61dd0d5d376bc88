/**
 * SAML logins end to end (issue 10) against the independent test IdP (test/support/saml-idp.ts: XML templates
 * signed and encrypted by xmlsec1) and the recording Tyk stub.
 */
import fs from 'node:fs/promises';
import { deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseForm } from '../support/saml-driver.js';
import { byId, makeSamlKeys, startTestIdp, xmlsecVerify, type SamlKeys, type TestIdp } from '../support/saml-idp.js';

let keys: SamlKeys;
let idp: TestIdp;

beforeAll(async () => {
  keys = await makeSamlKeys();
  idp = await startTestIdp({ keys });
}, 30_000);

afterAll(async () => {
  await idp?.close();
  if (keys) await fs.rm(keys.dir, { recursive: true, force: true });
});

const authnRequest = (id: string, acs: string) =>
  `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="${id}" Version="2.0" IssueInstant="2026-01-01T00:00:00Z" Destination="${idp.ssoRedirectUrl}" AssertionConsumerServiceURL="${acs}" ForceAuthn="true"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">http://sp.example/metadata</saml:Issuer></samlp:AuthnRequest>`;

describe('the test IdP (independent of the broker)', () => {
  it('answers a redirect-binding request with a form to the ACS carrying a response xmlsec1 verifies', async () => {
    const q = new URLSearchParams({ SAMLRequest: deflateRawSync(authnRequest('_req1', 'http://sp.example/acs')).toString('base64'), RelayState: 'rs1' });
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
    const post = (b: Buffer) => fetch(idp.ssoPostUrl, { method: 'POST', body: new URLSearchParams({ SAMLRequest: b.toString('base64') }) });
    expect((await post(Buffer.from(authnRequest('_req2', 'http://sp.example/acs')))).status).toBe(200);
    expect((await post(deflateRawSync(authnRequest('_req3', 'http://sp.example/acs')))).status).toBe(400);
    expect(idp.requests.map((r) => r.id)).not.toContain('_req3');
  });

  it('serves its metadata with its signing certificate and both bindings', async () => {
    const md = await (await fetch(idp.metadataUrl)).text();
    expect(md).toContain(`entityID="${idp.entityId}"`);
    expect(md).toContain(idp.ssoRedirectUrl);
    expect(md).toContain(idp.ssoPostUrl);
  });
});
