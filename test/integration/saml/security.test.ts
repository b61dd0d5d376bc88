/**
 * SAML responses the broker must refuse (issue 10, reference/peers-and-security.md 3.3), each built by the
 * independent test IdP (xmlsec1) so that the signature is valid wherever the attack needs it to be: every
 * refusal ends at the profile's FailureRedirect, the Tyk stub is never called, a "login failed" line says so,
 * and no response text or key reaches the logs. Each attack starts from a real SP-initiated flow (the
 * broker's AuthnRequest ID, this browser's cookie and RelayState), and the untouched response built the same
 * way logs in (the control), so a refusal is caused by the attack and nothing else.
 */
import fs from 'node:fs/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { CookieJar } from '../../support/cookie-jar.js';
import { EVIL_ASSERTION_ID, signedParts, wrap, XSW, type XswVariant } from '../../support/saml-attacks.js';
import { leaksIn, postToAcs, samlToAcs, type AtAcs } from '../../support/saml-driver.js';
import {
  attributesFor,
  buildResponseXml,
  byId,
  DEFAULT_USER,
  ENTRA_CLAIMS,
  escapeXml,
  makeSamlKeys,
  samlProfile,
  startTestIdp,
  xmlsecVerify,
  type ResponseOptions,
  type SamlKeys,
  type TestIdp,
} from '../../support/saml-idp.js';
import { freePort } from '../../support/slapd.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const CRED = 'dashboard-credential-for-saml-security';
const ADMIN = 'dashboard-admin-secret-for-saml-security';
const SESSION_SECRET = 'session-secret-for-saml-security-0123456789';
const [G1, G2] = DEFAULT_USER.groups as [string, string];
const VICTIM = { email: 'admin@example.com', nameId: 'victim-admin-persistent-id' };

let keys: SamlKeys;
let stub: TykStub;
let idp: TestIdp;
let broker: TestBroker;
let base: string;
/** Every SAMLResponse posted, to look for in the logs at the end. */
const posted: string[] = [];

const acsOf = (id: string) => `${base}/auth/${id}/saml/callback`;
const entityOf = (id: string) => `${base}/auth/${id}/saml/metadata`;
const FAILED = () => `${stub.url}/login-failed`;
const b64 = (xml: string) => Buffer.from(xml, 'utf8').toString('base64');

/** The signed-in user becomes the victim, in the NameID and the email attribute. */
const evil = (xml: string) => xml.replaceAll(DEFAULT_USER.email, VICTIM.email).replaceAll(DEFAULT_USER.nameId, VICTIM.nameId);

function profile(id: string, providerConfig: Record<string, unknown> = {}) {
  return samlProfile({
    id,
    idp,
    baseUrl: base,
    returnUrl: `${stub.url}/portal/sso/`,
    credential: CRED,
    profile: { CustomUserGroupField: ENTRA_CLAIMS.groups, UserGroupMapping: { [G1]: 'team-devs', [G2]: 'team-admins' } },
    providerConfig: { FailureRedirect: FAILED(), ...providerConfig },
  });
}

/** A started login: this browser's flow at the ACS and the response options that answer it correctly. */
interface Flow {
  at: AtAcs;
  acs: string;
  relayState: string | undefined;
  /** A correct response for this flow (Entra shape, assertion signed, SHA-256). */
  options: ResponseOptions;
}

async function startFlow(id = 'strict', jar = new CookieJar()): Promise<Flow> {
  const at = await samlToAcs(base, id, jar);
  const req = idp.requests.at(-1);
  if (!req) throw new Error('the IdP saw no AuthnRequest');
  return {
    at,
    acs: acsOf(id),
    relayState: at.form.fields.RelayState,
    options: {
      shape: 'entra',
      inResponseTo: req.id,
      destination: acsOf(id),
      audience: entityOf(id),
      issuer: idp.entityId,
      nameId: escapeXml(DEFAULT_USER.nameId),
      attributes: attributesFor('entra', DEFAULT_USER),
      sign: 'assertion',
      key: keys.idp,
    },
  };
}

async function post(flow: Flow, xml: string, relayState = flow.relayState): Promise<Response> {
  const saml = b64(xml);
  posted.push(saml);
  return postToAcs(flow.acs, flow.at.jar, saml, relayState);
}

function expectAccepted(res: Response, email = DEFAULT_USER.email) {
  expect(leaksIn(broker.logs, posted, keys.spKey)).toEqual([]);
  expect(res.status).toBe(302);
  expect(res.headers.get('location')).toBe(`${stub.url}/portal/sso/?nonce=${stub.issuedNonces.at(-1)}`);
  expect(stub.requests.find((r) => r.path === '/api/sso')?.body).toMatchObject({ EmailAddress: email });
}

/**
 * Refused: the FailureRedirect, Tyk untouched, a "login failed" line for the profile (matching `reason`), and
 * nothing of any response posted so far, nor of the SP key, in the logs.
 */
function expectRefused(res: Response, reason?: RegExp, id = 'strict') {
  expect(res.status).toBe(302);
  expect(res.headers.get('location')).toBe(FAILED());
  expect(stub.requests).toEqual([]);
  const line = broker.logs.filter((l) => l.includes('login failed') && l.includes(`profile="${id}"`)).at(-1) ?? '';
  expect(line).not.toBe('');
  if (reason) expect(line).toMatch(reason);
  expect(leaksIn(broker.logs, [...posted, ...idp.issued], keys.spKey)).toEqual([]);
}

beforeAll(async () => {
  keys = await makeSamlKeys();
  stub = await startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN });
  idp = await startTestIdp({ keys, shape: 'entra' });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  broker = await startTestBroker({
    port,
    config: { SessionSecret: SESSION_SECRET, TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } } },
    profiles: [profile('strict'), profile('sha1-allowed', { AllowSHA1: true })],
  });
}, 60_000);

beforeEach(() => stub.reset());

afterAll(async () => {
  await broker?.close();
  await idp?.close();
  await stub?.close();
  if (keys) await fs.rm(keys.dir, { recursive: true, force: true });
});

describe('controls (the same construction without the attack logs in)', () => {
  it.each(['assertion', 'response', 'both'] as const)('a response signed on the %s is accepted', async (sign) => {
    const flow = await startFlow();
    expectAccepted(await post(flow, (await buildResponseXml({ ...flow.options, sign })).xml));
  });
});

describe('signatures', () => {
  it('an unsigned response is refused', async () => {
    const flow = await startFlow();
    expectRefused(await post(flow, (await buildResponseXml({ ...flow.options, sign: 'none' })).xml));
  });

  it('a value changed after signing (tampered assertion) is refused', async () => {
    const flow = await startFlow();
    const { xml } = await buildResponseXml(flow.options);
    expectRefused(await post(flow, evil(xml)));
  });

  it('a valid signature by a key that is not in the IdP metadata is refused (KeyInfo is not trusted)', async () => {
    const flow = await startFlow();
    const { xml, assertionId } = await buildResponseXml({ ...flow.options, key: keys.rogue });
    expect(await xmlsecVerify(xml, keys.rogue.cert, byId(assertionId))).toBe(true);
    expectRefused(await post(flow, xml));
  });

  it('a response signed by the key but the assertion by a rogue key is refused', async () => {
    const flow = await startFlow();
    const { xml } = await buildResponseXml({ ...flow.options, sign: 'assertion', key: keys.rogue });
    // Sign the whole response with the IdP's key around the rogue-signed assertion: the assertion's own
    // signature is still wrong, and a broker must not ignore a bad signature because another one is good.
    const rogueInside = await buildResponseXml({ ...flow.options, sign: 'response', key: keys.idp, editAssertion: () => /<Assertion\b[\s\S]*<\/Assertion>/.exec(xml)?.[0] ?? '' });
    expectRefused(await post(flow, rogueInside.xml));
  });

  it("an HMAC signature keyed with the IdP's public certificate is refused (GHSA-c27r-x354-4m68)", async () => {
    const flow = await startFlow();
    const hmacKey = { key: keys.idp.cert, cert: keys.idp.cert, hmac: true };
    const { xml, assertionId } = await buildResponseXml({ ...flow.options, alg: 'hmac-sha256', key: hmacKey });
    expect(await xmlsecVerify(xml, { hmacKey: keys.idp.cert }, byId(assertionId))).toBe(true);
    expect(await xmlsecVerify(xml, { hmacKey: keys.rogue.cert }, byId(assertionId))).toBe(false);
    expectRefused(await post(flow, xml));
  });

  for (const [what, o] of [
    ['a SHA-1 signature (rsa-sha1, SHA-256 digest)', { alg: 'sha1', digest: 'sha256' }],
    ['a SHA-1 digest (rsa-sha256 signature)', { alg: 'sha256', digest: 'sha1' }],
  ] as const) {
    it(`${what} is refused, and accepted where the profile sets AllowSHA1`, async () => {
      const flow = await startFlow();
      const { xml, assertionId } = await buildResponseXml({ ...flow.options, ...o });
      expect(await xmlsecVerify(xml, keys.idp.cert, byId(assertionId))).toBe(true);
      expectRefused(await post(flow, xml), /sha-?1/i);

      const allowed = await startFlow('sha1-allowed');
      expectAccepted(await post(allowed, (await buildResponseXml({ ...allowed.options, ...o })).xml));
    });
  }
});

describe('XML signature wrapping', () => {
  for (const variant of Object.keys(XSW) as XswVariant[]) {
    const { signs, what } = XSW[variant];
    it(`${variant}: ${what}`, async () => {
      const flow = await startFlow();
      const { xml, responseId, assertionId } = await buildResponseXml({ ...flow.options, sign: signs });
      const wrapped = wrap(variant, xml, evil);
      expect(wrapped).toContain(VICTIM.email);
      // The signature the attack carries is valid over the element it references (xmlsec1 verifies that
      // part), so a broker that checks it and then reads another element would log the victim in.
      const verified = await Promise.all(signedParts(wrapped, signs === 'response' ? responseId : assertionId).map((p) => xmlsecVerify(p, keys.idp.cert)));
      expect(verified).toContain(true);
      // ...and that check can fail: with the signed user's email changed in every copy, no part verifies.
      const tampered = await Promise.all(signedParts(wrapped.replaceAll(DEFAULT_USER.email, 'mallory@example.com'), signs === 'response' ? responseId : assertionId).map((p) => xmlsecVerify(p, keys.idp.cert)));
      expect(tampered).not.toContain(true);
      expectRefused(await post(flow, wrapped));
    });
  }

  it('two assertions, each validly signed by the IdP, are refused', async () => {
    const flow = await startFlow();
    const first = await buildResponseXml(flow.options);
    const second = await buildResponseXml({ ...flow.options, assertionId: EVIL_ASSERTION_ID, nameId: VICTIM.nameId, attributes: { ...flow.options.attributes, [ENTRA_CLAIMS.email]: VICTIM.email } });
    const assertionOf = (x: string) => /<Assertion\b[\s\S]*<\/Assertion>/.exec(x)?.[0] ?? '';
    const both = first.xml.replace('</samlp:Response>', `${assertionOf(second.xml)}</samlp:Response>`);
    expect(await xmlsecVerify(both, keys.idp.cert, byId(first.assertionId))).toBe(true);
    expect(await xmlsecVerify(both, keys.idp.cert, byId(EVIL_ASSERTION_ID))).toBe(true);
    expectRefused(await post(flow, both));
  });
});

describe('bindings of the response to this SP, this IdP, this time', () => {
  const cases: Array<[string, (f: Flow) => Partial<ResponseOptions>]> = [
    ['a wrong Audience', () => ({ audience: 'https://other-sp.example/metadata' })],
    ['a wrong Destination', (f) => ({ destination: 'https://other-sp.example/acs', recipient: f.acs })],
    ['a wrong Recipient', () => ({ recipient: 'https://other-sp.example/acs' })],
    ['a wrong Issuer on the Response', () => ({ issuer: 'https://evil-idp.example/', assertionIssuer: idp.entityId })],
    ['a wrong Issuer on the Assertion', () => ({ assertionIssuer: 'https://evil-idp.example/' })],
    ['an expired assertion', () => ({ notBefore: new Date(Date.now() - 60 * 60_000), notOnOrAfter: new Date(Date.now() - 30 * 60_000) })],
    ['an expired subject confirmation', () => ({ subjectNotOnOrAfter: new Date(Date.now() - 30 * 60_000) })],
    ['a not-yet-valid assertion', () => ({ notBefore: new Date(Date.now() + 30 * 60_000), notOnOrAfter: new Date(Date.now() + 60 * 60_000) })],
    ['a non-Success status', () => ({ statusCode: 'urn:oasis:names:tc:SAML:2.0:status:Requester' })],
  ];
  for (const [what, over] of cases) {
    it(`${what}, validly signed, is refused`, async () => {
      const flow = await startFlow();
      // Signed on both levels, so the wrong value is covered by a valid signature wherever it sits.
      const { xml, responseId } = await buildResponseXml({ ...flow.options, sign: 'both', ...over(flow) });
      expect(await xmlsecVerify(xml, keys.idp.cert, byId(responseId))).toBe(true);
      expectRefused(await post(flow, xml));
    });
  }
});

describe('XML comments and DTDs (CVE-2017-11427 family)', () => {
  it('a comment in the NameID, inserted after signing (the digest does not change), is refused', async () => {
    const flow = await startFlow();
    const { xml, assertionId } = await buildResponseXml({ ...flow.options, nameId: 'admin@example.com.attacker.example' });
    const commented = xml.replace('admin@example.com.attacker.example', 'admin@example.com<!---->.attacker.example');
    expect(commented).not.toBe(xml);
    expect(await xmlsecVerify(commented, keys.idp.cert, byId(assertionId))).toBe(true);
    expectRefused(await post(flow, commented));
  });

  it('a comment in an attribute value (the email) is refused', async () => {
    const flow = await startFlow();
    const attributes = { ...flow.options.attributes, [ENTRA_CLAIMS.email]: 'admin@example.com.attacker.example' };
    const { xml, assertionId } = await buildResponseXml({ ...flow.options, attributes });
    const commented = xml.replace('admin@example.com.attacker.example', 'admin@example.com<!-- -->.attacker.example');
    expect(await xmlsecVerify(commented, keys.idp.cert, byId(assertionId))).toBe(true);
    expectRefused(await post(flow, commented));
  });

  it('a DOCTYPE with an entity is refused', async () => {
    const flow = await startFlow();
    const { xml } = await buildResponseXml(flow.options);
    expectRefused(await post(flow, `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY who "${VICTIM.email}">]>${xml}`));
  });
});

describe('InResponseTo, replay and solicitation', () => {
  it('a replayed response is refused (same browser, same RelayState)', async () => {
    const flow = await startFlow();
    const { xml } = await buildResponseXml(flow.options);
    expectAccepted(await post(flow, xml));
    stub.reset();
    expectRefused(await post(flow, xml));
  });

  it('two tabs in one browser, answered in the other order, both log in (a sealed cookie per RelayState)', async () => {
    const jar = new CookieJar();
    const first = await startFlow('strict', jar);
    const second = await startFlow('strict', jar);
    expect(jar.header(first.acs).split('; ').filter((c) => c.startsWith('tib_flow_'))).toHaveLength(2);
    expectAccepted(await post(second, (await buildResponseXml(second.options)).xml));
    stub.reset();
    expectAccepted(await post(first, (await buildResponseXml(first.options)).xml));
  });

  it('a second, validly signed response to the same request with the cookie the browser held: refused by the request\'s replay mark', async () => {
    const flow = await startFlow();
    const cookie = flow.at.jar.header(flow.acs);
    expectAccepted(await post(flow, (await buildResponseXml(flow.options)).xml));
    stub.reset();
    // A new assertion ID, so only the mark written for the request id (after the first response verified) refuses it.
    const again = b64((await buildResponseXml(flow.options)).xml);
    posted.push(again);
    const res = await fetch(flow.acs, { method: 'POST', body: new URLSearchParams({ SAMLResponse: again, RelayState: flow.relayState ?? '' }), headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });
    expectRefused(res, /the login request was already answered/);
  });

  it("a response to another browser's request is refused, with either browser's RelayState", async () => {
    const victim = await startFlow();
    const attacker = await startFlow();
    const { xml } = await buildResponseXml(victim.options); // InResponseTo = the victim's request
    expectRefused(await post(attacker, xml)); // the attacker's cookie and RelayState
    expectRefused(await post(attacker, xml, victim.relayState)); // the attacker's cookie, the victim's RelayState
    // The victim's flow is untouched by the attacker's attempts... or consumed; either way no login for the attacker.
  });

  it("another browser's signed assertion in a response whose (unsigned) InResponseTo is this browser's is refused", async () => {
    const victim = await startFlow();
    const attacker = await startFlow();
    const { xml } = await buildResponseXml(victim.options); // only the assertion is signed
    const swapped = xml.replace(`InResponseTo="${victim.options.inResponseTo}"`, `InResponseTo="${attacker.options.inResponseTo}"`);
    expect(swapped).not.toBe(xml);
    expect(swapped.indexOf(`InResponseTo="${attacker.options.inResponseTo}"`)).toBeLessThan(swapped.indexOf('<Assertion'));
    expectRefused(await post(attacker, swapped));
  });

  it('a response whose InResponseTo is a request the broker never issued is refused', async () => {
    const flow = await startFlow();
    expectRefused(await post(flow, (await buildResponseXml({ ...flow.options, inResponseTo: '_never_issued_0123456789' })).xml));
  });

  it('an unsolicited response (no InResponseTo) is refused while AllowIDPInitiated is off', async () => {
    const flow = await startFlow();
    const { inResponseTo: _omit, ...unsolicited } = flow.options;
    expectRefused(await post(flow, (await buildResponseXml(unsolicited)).xml));
    expectRefused(await post(flow, (await buildResponseXml(unsolicited)).xml, ''));
  });
});

describe('the request itself', () => {
  it('an oversized POST body is refused at the FailureRedirect and the broker keeps serving', async () => {
    const flow = await startFlow();
    const huge = 'A'.repeat(4 * 1024 * 1024);
    const res = await postToAcs(flow.acs, flow.at.jar, huge, flow.relayState);
    expectRefused(res);
    const next = await startFlow();
    expectAccepted(await post(next, (await buildResponseXml(next.options)).xml));
  });

  it('no SAMLResponse, base64 garbage, or non-XML is refused', async () => {
    for (const body of ['', '!!!not base64!!!', b64('not xml at all'), b64('<a><b></a>')]) {
      const flow = await startFlow();
      const res = await postToAcs(flow.acs, flow.at.jar, body, flow.relayState);
      expectRefused(res);
    }
  });
});
