/**
 * SAML single logout (issue 21, item 4) through the broker's routes, against two independent IdPs: the xmlsec1
 * template IdP (test/support/saml-idp.ts: signatures made and checked by xmlsec1 and openssl) and samlify
 * (test/support/saml-samlify.ts). SP-initiated by HTTP-Redirect and HTTP-POST (the LogoutRequest signed, with
 * the login's NameID and SessionIndex; the IdP's LogoutResponse checked), IdP-initiated by both bindings
 * (answered with a signed LogoutResponse, the named session dropped); forged, unsigned, wrongly signed,
 * replayed and misdirected messages refused with nothing dropped; the SP metadata's SingleLogoutService.
 */
import fs from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { CookieJar, fetchWithJar } from '../../support/cookie-jar.js';
import { parseForm, postFormWithJar, samlLogin, type HtmlForm } from '../../support/saml-driver.js';
import { startSamlifyIdp, type SamlifyIdp } from '../../support/saml-samlify.js';
import { makeSamlKeys, samlProfile, startTestIdp, type OutgoingLogout, type SamlKeys, type TestIdp } from '../../support/saml-idp.js';
import { freePort } from '../../support/slapd.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const CRED = 'dash-cred-saml-logout';
const ADMIN = 'admin-secret-saml-logout';
const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const PARTIAL = 'urn:oasis:names:tc:SAML:2.0:status:PartialLogout';
const RESPONDER = 'urn:oasis:names:tc:SAML:2.0:status:Responder';

let keys: SamlKeys;
let idp: TestIdp;
let samlify: SamlifyIdp;
let noSloIdp: TestIdp;
let answersIdp: TestIdp;
let stub: TykStub;
let b: TestBroker;
let base: string;
const BYE = 'http://app.example/signed-out';

const slo = (id: string) => `${base}/auth/${id}/saml/slo`;
const entityOf = (id: string) => `${base}/auth/${id}/saml/metadata`;

beforeAll(async () => {
  keys = await makeSamlKeys();
  idp = await startTestIdp({ keys, slo: ['redirect', 'post'] });
  noSloIdp = await startTestIdp({ keys });
  answersIdp = await startTestIdp({ keys, slo: ['redirect', 'post'], sloResponseLocation: true });
  samlify = await startSamlifyIdp({ key: keys.idp.key, cert: keys.idp.cert });
  stub = await startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const p = (id: string, i: { metadataUrl: string }, providerConfig: Record<string, unknown> = {}, logout = true) =>
    samlProfile({ id, idp: { metadataUrl: i.metadataUrl, keys }, baseUrl: `${base}/`, returnUrl: `${stub.url}/portal/sso/`, credential: CRED, providerConfig, profile: logout ? { LogoutRedirectURLs: [BYE] } : {} });
  b = await startTestBroker({
    port,
    profiles: [
      p('slo-redirect', idp),
      p('slo-post', idp, { SAMLBinding: POST }),
      p('slo-samlify', samlify),
      p('slo-samlify-post', samlify, { SAMLBinding: POST }),
      p('slo-none-at-idp', noSloIdp),
      p('slo-answers', answersIdp),
      p('slo-off', idp, {}, false),
    ].map((x) => JSON.parse(JSON.stringify(x)) as unknown),
    config: {
      SessionSecret: 'a-long-random-session-secret-for-the-saml-logout-tests',
      TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN }, Timeout: 2 },
    },
  });
}, 60_000);

afterAll(async () => {
  await b?.close();
  await Promise.all([idp?.close(), noSloIdp?.close(), answersIdp?.close(), samlify?.close(), stub?.close()]);
  if (keys) await fs.rm(keys.dir, { recursive: true, force: true });
});

/** A browser signed in through the profile's IdP (the login must reach the portal). */
async function signedIn(id: string): Promise<CookieJar> {
  const jar = new CookieJar();
  const { res } = await samlLogin(base, id, jar);
  expect(res.status).toBe(302);
  expect(res.headers.get('location')).toContain(`${stub.url}/portal/sso/?nonce=`);
  return jar;
}

/** What the browser is sent on with: a redirect's URL, or the auto-submitting form of a 200 page. */
async function next(res: Response, at: string): Promise<{ url?: string; form?: HtmlForm }> {
  if (res.status === 302) return { url: new URL(res.headers.get('location') ?? '', at).toString() };
  if (res.status === 200) return { form: parseForm(await res.text(), at) };
  throw new Error(`expected a redirect or a form page, got ${res.status}: ${(await res.text()).slice(0, 300)}`);
}

const go = (step: { url?: string; form?: HtmlForm }, jar: CookieJar): Promise<Response> => (step.form ? postFormWithJar(step.form, jar) : fetchWithJar(step.url ?? '', jar));

const logoutUrl = (id: string) => `${base}/auth/${id}/logout?return_to=${encodeURIComponent(BYE)}`;

/** The broker's first answer to a sign-out: where it sends the browser (the IdP, or straight on). */
async function startLogout(id: string, jar: CookieJar): Promise<{ url?: string; form?: HtmlForm }> {
  return next(await fetchWithJar(logoutUrl(id), jar), logoutUrl(id));
}

/** The LogoutRequest the broker sent, from its redirect URL (inflated) or its form (base64). */
function sentRequest(step: { url?: string; form?: HtmlForm }): { xml: string; relayState: string } {
  if (step.url) {
    const q = new URL(step.url).searchParams;
    return { xml: inflateRawSync(Buffer.from(q.get('SAMLRequest') ?? '', 'base64')).toString('utf8'), relayState: q.get('RelayState') ?? '' };
  }
  return { xml: Buffer.from(step.form?.fields.SAMLRequest ?? '', 'base64').toString('utf8'), relayState: step.form?.fields.RelayState ?? '' };
}

const attrOf = (xml: string, name: string) => new RegExp(`\\s${name}="([^"]*)"`).exec(xml)?.[1];
/** The SessionIndex of the last assertion the xmlsec1 IdP issued (its template uses the assertion ID). */
const lastSessionIndex = () => /SessionIndex="([^"]+)"/.exec(Buffer.from(idp.issued.at(-1) ?? '', 'base64').toString('utf8'))?.[1] ?? '';

/** A refused logout message: the failure page, not the way on to return_to. */
function expectRefused(res: Response) {
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.headers.get('location')).toBeNull();
}

/** The browser's message from the IdP to the broker's SLO endpoint. */
const deliver = (m: OutgoingLogout, jar: CookieJar) => go(m.form ? { form: m.form } : { url: m.url }, jar);

describe('SP metadata', () => {
  it('advertises SingleLogoutService (HTTP-Redirect and HTTP-POST at .../saml/slo) only when the profile has logout on', async () => {
    const on = await (await fetch(entityOf('slo-redirect'))).text();
    expect(on).toContain(`<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${slo('slo-redirect')}"/>`);
    expect(on).toContain(`<md:SingleLogoutService Binding="${POST}" Location="${slo('slo-redirect')}"/>`);
    const off = await (await fetch(entityOf('slo-off'))).text();
    expect(off).not.toContain('SingleLogoutService');
  });
});

describe('SP-initiated single logout, xmlsec1 IdP', () => {
  it.each([
    ['slo-redirect', 'redirect'],
    ['slo-post', 'post'],
  ] as const)('%s: a signed LogoutRequest by %s with the login\'s NameID and SessionIndex; the signed answer ends on return_to', async (id, binding) => {
    const jar = await signedIn(id);
    const sessionIndex = lastSessionIndex();
    const before = idp.logouts.length;
    const toIdp = await startLogout(id, jar);
    expect(binding === 'redirect' ? toIdp.url : toIdp.form?.action).toContain(binding === 'redirect' ? idp.sloRedirectUrl : idp.sloPostUrl);
    const answer = await next(await go(toIdp, jar), toIdp.url ?? toIdp.form?.action ?? '');
    const got = idp.logouts[before];
    expect(got).toMatchObject({ kind: 'LogoutRequest', binding, signatureValid: true, issuer: entityOf(id), nameId: idp.user.nameId, sessionIndex, destination: binding === 'redirect' ? idp.sloRedirectUrl : idp.sloPostUrl });
    expect(got?.relayState).toMatch(/^[\w-]{20,}$/);
    expect(got?.xml).toMatch(/NotOnOrAfter="/);
    const end = await go(answer, jar);
    expect(end.status).toBe(302);
    expect(end.headers.get('location')).toBe(BYE);
    // The session is gone: a second sign-out goes straight on, without the IdP.
    expect((await startLogout(id, jar)).url).toBe(BYE);
  });

  it('the IdP answering by the other binding (POST to a redirect request) is accepted', async () => {
    const jar = await signedIn('slo-redirect');
    idp.sloAnswer = 'post';
    try {
      const toIdp = await startLogout('slo-redirect', jar);
      const answer = await next(await go(toIdp, jar), toIdp.url ?? '');
      expect(answer.form?.action).toBe(slo('slo-redirect'));
      const end = await go(answer, jar);
      expect(end.headers.get('location')).toBe(BYE);
    } finally {
      idp.sloAnswer = undefined;
    }
  });

  it('a PartialLogout answer still ends on return_to', async () => {
    const jar = await signedIn('slo-redirect');
    idp.sloOverrides = { statusCode: RESPONDER, subStatusCode: PARTIAL };
    try {
      const toIdp = await startLogout('slo-redirect', jar);
      const end = await go(await next(await go(toIdp, jar), toIdp.url ?? ''), jar);
      expect(end.headers.get('location')).toBe(BYE);
    } finally {
      idp.sloOverrides = {};
    }
  });

  it('forged, unsigned, wrongly signed, misdirected, mismatched and replayed LogoutResponses are refused', async () => {
    const jar = await signedIn('slo-redirect');
    const toIdp = await startLogout('slo-redirect', jar);
    const { xml, relayState } = sentRequest(toIdp);
    const requestId = attrOf(xml, 'ID') ?? '';
    const destination = slo('slo-redirect');
    const answer = (o: Parameters<TestIdp['logoutResponse']>[0]) => idp.logoutResponse(o);
    const bad: Array<[string, Promise<OutgoingLogout>]> = [
      ['unsigned (redirect)', answer({ destination, inResponseTo: requestId, binding: 'redirect', relayState, key: null })],
      ['unsigned (POST)', answer({ destination, inResponseTo: requestId, binding: 'post', relayState, key: null })],
      ['signed by a key not in the metadata (redirect)', answer({ destination, inResponseTo: requestId, binding: 'redirect', relayState, key: keys.rogue })],
      ['signed by a key not in the metadata (POST)', answer({ destination, inResponseTo: requestId, binding: 'post', relayState, key: keys.rogue })],
      ['another request', answer({ destination, inResponseTo: '_another-request', binding: 'redirect', relayState })],
      ['another Destination', answer({ destination: slo('slo-post'), inResponseTo: requestId, binding: 'redirect', relayState })],
      ['another Issuer', answer({ destination, inResponseTo: requestId, binding: 'post', relayState, issuer: 'http://evil.example/idp' })],
      ['an error status', answer({ destination, inResponseTo: requestId, binding: 'redirect', relayState, statusCode: RESPONDER })],
      ['no RelayState', answer({ destination, inResponseTo: requestId, binding: 'redirect' })],
    ];
    for (const [what, m] of bad) {
      // Every one is delivered to this profile's SLO endpoint (the misdirected one names another in its Destination).
      const msg = await m;
      if (msg.url) msg.url = destination + msg.url.slice(msg.url.indexOf('?'));
      if (msg.form) msg.form.action = destination;
      const res = await deliver(msg, jar);
      expect([what, res.status >= 400 && res.headers.get('location') === null]).toEqual([what, true]);
    }
    // A signed answer whose query was changed after signing (RelayState swapped) fails its signature.
    const good = await answer({ destination, inResponseTo: requestId, binding: 'redirect', relayState });
    expectRefused(await fetchWithJar((good.url ?? '').replace(`RelayState=${encodeURIComponent(relayState)}`, 'RelayState=other'), jar));
    // The genuine one still works (nothing above used it up), once.
    const ok = await deliver(good, jar);
    expect(ok.headers.get('location')).toBe(BYE);
    expectRefused(await deliver(good, jar));
  });

  it('another browser cannot finish this browser\'s logout with its answer', async () => {
    const jar = await signedIn('slo-redirect');
    const toIdp = await startLogout('slo-redirect', jar);
    const { xml, relayState } = sentRequest(toIdp);
    const good = await idp.logoutResponse({ destination: slo('slo-redirect'), inResponseTo: attrOf(xml, 'ID') ?? '', binding: 'redirect', relayState });
    expectRefused(await deliver(good, new CookieJar()));
  });

  it('an IdP without SingleLogoutService in its metadata: straight on to return_to', async () => {
    const jar = await signedIn('slo-none-at-idp');
    expect((await startLogout('slo-none-at-idp', jar)).url).toBe(BYE);
  });
});

describe('IdP-initiated single logout, xmlsec1 IdP', () => {
  it.each(['redirect', 'post'] as const)('by %s: forged ones refused with nothing dropped; the signed one drops that session and is answered, signed; its replay refused', async (binding) => {
    const a = await signedIn('slo-redirect');
    const aIndex = lastSessionIndex();
    const other = await signedIn('slo-redirect');
    const otherIndex = lastSessionIndex();
    const destination = slo('slo-redirect');
    const request = (o: Partial<Parameters<TestIdp['logoutRequest']>[0]> = {}) => idp.logoutRequest({ destination, binding, sessionIndex: otherIndex, relayState: 'idp-state-1', ...o });
    const forged: Array<[string, Promise<OutgoingLogout>]> = [
      ['unsigned', request({ key: null })],
      ['signed by a key not in the metadata', request({ key: keys.rogue })],
      ['for another Destination', request({ destination: slo('slo-post') })],
      ['from another Issuer', request({ issuer: 'http://evil.example/idp' })],
      ['expired', request({ issueInstant: new Date(Date.now() - 30 * 60_000), notOnOrAfter: new Date(Date.now() - 20 * 60_000) })],
    ];
    for (const [what, m] of forged) {
      // Every one is delivered to this profile's SLO endpoint (the misdirected one names another in its Destination).
      const msg = await m;
      if (msg.url) msg.url = destination + msg.url.slice(msg.url.indexOf('?'));
      if (msg.form) msg.form.action = destination;
      const res = await deliver(msg, new CookieJar());
      expect([what, res.status >= 400 && res.headers.get('location') === null]).toEqual([what, true]);
    }
    const genuine = await idp.logoutRequest({ destination, binding, sessionIndex: aIndex, relayState: 'idp-state-2' });
    const before = idp.logouts.length;
    const answer = await next(await deliver(genuine, new CookieJar()), destination);
    await go(answer, new CookieJar());
    expect(idp.logouts[before]).toMatchObject({ kind: 'LogoutResponse', binding, signatureValid: true, inResponseTo: genuine.id, issuer: entityOf('slo-redirect'), status: 'urn:oasis:names:tc:SAML:2.0:status:Success', relayState: 'idp-state-2', destination: binding === 'redirect' ? idp.sloRedirectUrl : idp.sloPostUrl });
    expectRefused(await deliver(genuine, new CookieJar()));
    // Session a was dropped (its sign-out goes straight on); the other, named by every forgery, was not.
    expect((await startLogout('slo-redirect', a)).url).toBe(BYE);
    expect((await startLogout('slo-redirect', other)).url).toContain(idp.sloRedirectUrl);
  });
});

describe('IdP metadata with a ResponseLocation', () => {
  it.each(['redirect', 'post'] as const)('our answer to an IdP-initiated request (%s) goes to the ResponseLocation, our LogoutRequest to the Location', async (binding) => {
    const jar = await signedIn('slo-answers');
    const m = await answersIdp.logoutRequest({ destination: slo('slo-answers'), binding });
    const before = answersIdp.logouts.length;
    await go(await next(await deliver(m, new CookieJar()), slo('slo-answers')), new CookieJar());
    expect(answersIdp.logouts[before]).toMatchObject({ kind: 'LogoutResponse', path: `/slo/answers/${binding}`, signatureValid: true, inResponseTo: m.id, destination: `${answersIdp.url}/slo/answers/${binding}` });
    // That login was dropped; a new one signs out through the Location.
    expect((await startLogout('slo-answers', jar)).url).toBe(BYE);
    const again = await signedIn('slo-answers');
    expect((await startLogout('slo-answers', again)).url).toContain(`${answersIdp.url}/slo/redirect?`);
  });
});

describe('samlify IdP', () => {
  it.each([
    ['slo-samlify', 'redirect'],
    ['slo-samlify-post', 'post'],
  ] as const)('%s: samlify verifies our signed LogoutRequest (%s) and its signed LogoutResponse ends on return_to', async (id, binding) => {
    samlify.user = { nameId: `samlify-${binding}@example.com`, attributes: { email: `samlify-${binding}@example.com` } };
    const jar = await signedIn(id);
    const before = samlify.logouts.length;
    const toIdp = await startLogout(id, jar);
    const answer = await next(await go(toIdp, jar), toIdp.url ?? toIdp.form?.action ?? '');
    expect(samlify.logoutErrors).toEqual([]);
    expect(samlify.logouts[before]).toMatchObject({ kind: 'LogoutRequest', binding, nameId: samlify.user.nameId, issuer: entityOf(id) });
    const end = await go(answer, jar);
    expect(end.headers.get('location')).toBe(BYE);
  });

  it.each(['redirect', 'post'] as const)('a samlify IdP-initiated LogoutRequest (%s) drops the session and samlify verifies our signed answer', async (binding) => {
    samlify.user = { nameId: `samlify-idp-${binding}@example.com`, attributes: { email: `samlify-idp-${binding}@example.com` } };
    const jar = await signedIn('slo-samlify');
    const m = await samlify.logoutRequest(entityOf('slo-samlify'), binding, 'samlify-state');
    const before = samlify.logouts.length;
    const answer = await next(await go(m.form ? { form: m.form } : { url: m.url }, new CookieJar()), slo('slo-samlify'));
    const done = await go(answer, new CookieJar());
    expect(done.status).toBe(200);
    expect(samlify.logoutErrors).toEqual([]);
    expect(samlify.logouts[before]).toMatchObject({ kind: 'LogoutResponse', binding, inResponseTo: m.id });
    expect((await startLogout('slo-samlify', jar)).url).toBe(BYE);
  });
});
