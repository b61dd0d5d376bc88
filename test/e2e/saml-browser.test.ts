/**
 * A person signing in through the SAML test IdP in a real browser (Chromium): the broker over HTTPS, the IdP
 * on another site (http://localhost vs https://127.0.0.1), so the IdP's form POST to the ACS is a cross-site
 * request and the login cookie must be SameSite=None; Secure to come back with it. By the redirect binding,
 * and by the POST binding, whose auto-submitting page must run under its own Content-Security-Policy.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Response } from 'playwright-core';
import { launchBrowser } from '../support/browser.js';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { DEFAULT_USER, ENTRA_CLAIMS, makeSamlKeys, samlProfile, startTestIdp, type SamlKeys, type TestIdp } from '../support/saml-idp.js';
import { freePort } from '../support/slapd.js';
import { makeTestCa } from '../support/test-ca.js';
import { startTykStub, type TykStub } from '../support/tyk-stub.js';

const CRED = 'portal-api-secret-for-saml-browser-tests';
const [G1, G2] = DEFAULT_USER.groups as [string, string];
let keys: SamlKeys;
let caDir: string;
let idp: TestIdp;
let stub: TykStub;
let broker: TestBroker;
let browser: Browser;

beforeAll(async () => {
  keys = await makeSamlKeys();
  caDir = await fs.mkdtemp(path.join(os.tmpdir(), 'saml-browser-ca-'));
  const ca = makeTestCa(caDir, 'saml-browser');
  const port = await freePort();
  const base = `https://127.0.0.1:${port}`;
  [stub, browser, idp] = await Promise.all([startTykStub({ dashboardCredential: CRED, adminSecret: 'x-admin' }), launchBrowser(), startTestIdp({ keys, host: 'localhost' })]);
  const profile = (id: string, providerConfig: Record<string, unknown>) =>
    samlProfile({
      id,
      idp,
      baseUrl: base,
      returnUrl: `${stub.url}/portal/sso/`,
      credential: CRED,
      profile: { CustomUserGroupField: ENTRA_CLAIMS.groups, UserGroupMapping: { [G1]: 'team-devs', [G2]: 'team-admins' } },
      providerConfig: { FailureRedirect: `${stub.url}/login-failed`, ...providerConfig },
    });
  broker = await startTestBroker({
    port,
    config: {
      SessionSecret: 'saml-browser-test-session-secret-0123456789',
      HttpServerOptions: { UseSSL: true, CertFile: ca.serverCert, KeyFile: ca.serverKey },
      TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: 'x-admin' } },
    },
    profiles: [profile('entra-redirect', {}), profile('entra-post', { SAMLBinding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST' })],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await broker?.close();
  await idp?.close();
  await stub?.close();
  if (keys) await fs.rm(keys.dir, { recursive: true, force: true });
  if (caDir) await fs.rm(caDir, { recursive: true, force: true });
});

describe('in Chromium', () => {
  for (const [id, binding] of [['entra-redirect', 'redirect'], ['entra-post', 'post']] as const) {
    it(`the ${binding} binding: the browser goes to the IdP on another site and lands on the portal signed in`, async () => {
      stub.reset();
      // The test CA is not in Chromium's store; the broker's certificate is what the other HTTPS tests check.
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const page = await context.newPage();
      const cspViolations: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
      });
      // The start's answer, whose login cookie must come back with the IdP's cross-site POST.
      const starts: Response[] = [];
      page.on('response', (r) => {
        if (r.url() === `${broker.url}/auth/${id}/saml`) starts.push(r);
      });
      try {
        await page.goto(`${broker.url}/auth/${id}/saml`);
        await page.waitForURL(/\/portal\/sso\/\?nonce=|\/login-failed/, { timeout: 15_000 });
        expect(page.url()).toMatch(/\/portal\/sso\/\?nonce=/);
        expect(await page.locator('h1').textContent()).toBe('Signed in');
        expect(idp.requests.at(-1)?.binding).toBe(binding);
        expect(stub.landings.at(-1)?.nonce).toBe(stub.issuedNonces.at(-1));
        const sso = stub.requests.filter((r) => r.path === '/api/sso').at(-1);
        expect(sso?.body).toMatchObject({ ForSection: 'portal', EmailAddress: DEFAULT_USER.email, GroupsIDs: ['team-devs', 'team-admins'] });
        expect(cspViolations).toEqual([]);
        // The login cookie crossed sites with the IdP's POST (the login succeeded): SameSite=None and Secure,
        // HttpOnly. The ACS cleared it: the browser keeps no flow cookie after the login.
        expect(starts).toHaveLength(1);
        expect((await starts[0]?.headerValue('set-cookie')) ?? '').toMatch(/^tib_flow_[\w-]{16}=[\w-]+; Max-Age=600; Path=\/auth\/; Expires=[^;]+; HttpOnly; Secure; SameSite=None$/);
        const cookies = (await context.cookies()).filter((c) => c.domain === '127.0.0.1' && c.name.startsWith('tib_flow_'));
        expect(cookies).toEqual([]);
      } finally {
        await context.close();
      }
    });
  }
});
