/**
 * Logout through to the IdP in a real browser (issue 21, docs/logout.md): Chromium signs in to the portal through
 * the OP (the broker mounted under /tib), then follows the portal theme's logout link to the broker: the OP's
 * end_session page, back to the broker, the Tyk step page that requests the portal's own logout in a hidden
 * iframe, and on to return_to. The next sign-in asks for credentials again.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../support/browser.js';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { startTestOp, type TestOp } from '../support/oidc-op.js';
import { freePort } from '../support/slapd.js';
import { startTykStub, type TykStub } from '../support/tyk-stub.js';

const CRED = 'portal-api-secret-for-logout-browser-tests';
let op: TestOp;
let stub: TykStub;
let broker: TestBroker;
let browser: Browser;

beforeAll(async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}/tib`;
  [stub, browser] = await Promise.all([startTykStub({ dashboardCredential: CRED, adminSecret: 'x-admin' }), launchBrowser()]);
  op = await startTestOp({
    redirectUris: [`${base}/auth/portal-oidc/openid-connect/callback`],
    clients: [{ client_id: 'portal-client', client_secret: 'portal-client-secret', postLogoutRedirectUris: [`${base}/auth/portal-oidc/logout/callback`] }],
  });
  broker = await startTestBroker({
    port,
    mountPath: '/tib',
    config: { SessionSecret: 'logout-browser-session-secret-0123456789', TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: 'x-admin' } } },
    profiles: [
      {
        ID: 'portal-oidc',
        Name: 'Developer portal',
        OrgID: '0',
        ActionType: 'GenerateOrLoginDeveloperProfile',
        ProviderName: 'SocialProvider',
        ReturnURL: `${stub.url}/portal/sso/`,
        TykLogoutURL: `${stub.url}/auth/password/logout`,
        LogoutRedirectURLs: [`${stub.url}/tap`],
        IdentityHandlerConfig: { DashboardCredential: CRED },
        ProviderConfig: {
          CallbackBaseURL: base,
          UseProviders: [{ Name: 'openid-connect', Key: 'portal-client', Secret: 'portal-client-secret', DiscoverURL: op.discoveryUrl, Scopes: ['openid', 'email', 'profile'] }],
        },
      },
    ],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await broker?.close();
  await op?.close();
  await stub?.close();
});

describe('in Chromium', () => {
  it('sign in, sign out at the broker (OP, then the portal\'s logout), land on return_to; the next sign-in asks for credentials', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${broker.url}/auth/portal-oidc/openid-connect`);
      await page.locator('input[name=login]').fill('alice');
      await page.locator('input[name=password]').fill('whatever-the-op-accepts');
      await page.locator('button[type=submit]').click();
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.waitForURL(/\/portal\/sso\/\?nonce=/);

      // The portal theme's logout link.
      stub.reset();
      await page.goto(`${broker.url}/auth/portal-oidc/logout?return_to=${encodeURIComponent(`${stub.url}/tap`)}`);
      expect(new URL(page.url()).origin).toBe(op.issuer);
      await page.getByRole('button', { name: /sign me out/i }).click();
      await page.waitForURL(`${stub.url}/tap`);
      expect(stub.requests.map((r) => `${r.method} ${r.path}`)).toContain('GET /auth/password/logout');

      // Signed out at the OP: its login form again, not straight back to the portal.
      await page.goto(`${broker.url}/auth/portal-oidc/openid-connect`);
      expect(new URL(page.url()).origin).toBe(op.issuer);
      await expect(page.locator('input[name=login]').count()).resolves.toBe(1);
    } finally {
      await page.close();
    }
  });
});
