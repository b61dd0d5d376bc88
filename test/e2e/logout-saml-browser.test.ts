/**
 * SAML single logout in a real browser (issue 21, item 4; docs/logout.md#saml-single-logout): Chromium signs in to
 * the portal through the xmlsec1 template IdP (test/support/saml-idp.ts) by the HTTP-POST binding, then follows
 * the logout link: the broker's auto-submitting LogoutRequest page (its one script allowed by the page's CSP),
 * the IdP's signed LogoutResponse posted back, the Tyk step page with the portal's logout in a hidden iframe, and
 * on to return_to.
 */
import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../support/browser.js';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { makeSamlKeys, samlProfile, startTestIdp, type SamlKeys, type TestIdp } from '../support/saml-idp.js';
import { freePort } from '../support/slapd.js';
import { startTykStub, type TykStub } from '../support/tyk-stub.js';

const CRED = 'portal-api-secret-for-saml-logout-browser';
const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
let keys: SamlKeys;
let idp: TestIdp;
let stub: TykStub;
let broker: TestBroker;
let browser: Browser;

beforeAll(async () => {
  const port = await freePort();
  keys = await makeSamlKeys();
  [stub, browser, idp] = await Promise.all([startTykStub({ dashboardCredential: CRED, adminSecret: 'x-admin' }), launchBrowser(), startTestIdp({ keys, slo: ['post'] })]);
  const profile = samlProfile({
    id: 'portal-saml',
    idp,
    baseUrl: `http://127.0.0.1:${port}/`,
    returnUrl: `${stub.url}/portal/sso/`,
    credential: CRED,
    profile: { TykLogoutURL: `${stub.url}/auth/password/logout`, LogoutRedirectURLs: [`${stub.url}/tap`] },
    providerConfig: { SAMLBinding: POST },
  });
  broker = await startTestBroker({
    port,
    config: { SessionSecret: 'saml-logout-browser-session-secret-0123456789', TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: 'x-admin' } } },
    profiles: [JSON.parse(JSON.stringify(profile)) as unknown],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await broker?.close();
  await Promise.all([idp?.close(), stub?.close()]);
  if (keys) await fs.rm(keys.dir, { recursive: true, force: true });
});

describe('in Chromium', () => {
  it('sign in by SAML, sign out at the broker (a signed LogoutRequest by POST, the IdP\'s answer, the portal\'s logout), land on return_to', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${broker.url}/auth/portal-saml/saml`);
      await page.waitForURL(/\/portal\/sso\/\?nonce=/);

      stub.reset();
      await page.goto(`${broker.url}/auth/portal-saml/logout?return_to=${encodeURIComponent(`${stub.url}/tap`)}`);
      await page.waitForURL(`${stub.url}/tap`);
      expect(idp.logouts.map((l) => [l.kind, l.binding, l.signatureValid, l.nameId])).toEqual([['LogoutRequest', 'post', true, idp.user.nameId]]);
      expect(stub.requests.map((r) => `${r.method} ${r.path}`)).toContain('GET /auth/password/logout');

      // The login is no longer kept: a second sign-out goes straight on, without the IdP.
      await page.goto(`${broker.url}/auth/portal-saml/logout?return_to=${encodeURIComponent(`${stub.url}/tap`)}`);
      await page.waitForURL(`${stub.url}/tap`);
      expect(idp.logouts).toHaveLength(1);
    } finally {
      await page.close();
    }
  });
});
