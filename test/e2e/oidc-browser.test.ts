/**
 * A person signing in through an OpenID Provider in a real browser: the broker (mounted under /tib, as the
 * portal of seed 000 serves it) sends Chromium to the OP's own login and consent pages, and the browser
 * lands on the portal signed in, in the mapped team.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../support/browser.js';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { startTestOp, type TestOp } from '../support/oidc-op.js';
import { freePort } from '../support/slapd.js';
import { startTykStub, type TykStub } from '../support/tyk-stub.js';

const CRED = 'portal-api-secret-for-oidc-browser-tests';
let op: TestOp;
let stub: TykStub;
let broker: TestBroker;
let browser: Browser;

beforeAll(async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}/tib`;
  [stub, browser] = await Promise.all([startTykStub({ dashboardCredential: CRED, adminSecret: 'x-admin' }), launchBrowser()]);
  op = await startTestOp({ redirectUris: [`${base}/auth/okta-developers/openid-connect/callback`], clients: [{ client_id: 'portal-client', client_secret: 'portal-client-secret' }] });
  broker = await startTestBroker({
    port,
    mountPath: '/tib',
    config: { SessionSecret: 'browser-test-session-secret-0123456789', TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: 'x-admin' } } },
    profiles: [
      {
        ID: 'okta-developers',
        Name: 'Developer portal via OpenID Connect',
        OrgID: '0',
        ActionType: 'GenerateOrLoginDeveloperProfile',
        ProviderName: 'SocialProvider',
        ReturnURL: `${stub.url}/portal/sso/`,
        IdentityHandlerConfig: { DashboardCredential: CRED },
        CustomUserGroupField: 'groups',
        UserGroupMapping: { admins: 'team-admins' },
        DefaultUserGroupID: 'team-default',
        ProviderConfig: {
          CallbackBaseURL: base,
          UseProviders: [{ Name: 'openid-connect', Key: 'portal-client', Secret: 'portal-client-secret', DiscoverURL: op.discoveryUrl, Scopes: ['openid', 'email', 'profile', 'groups'] }],
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
  it("a user signs in on the OP's own pages and lands on the portal", async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${broker.url}/auth/okta-developers/openid-connect`);
      expect(new URL(page.url()).origin).toBe(op.issuer);
      await page.locator('input[name=login]').fill('alice');
      await page.locator('input[name=password]').fill('whatever-the-op-accepts');
      await page.locator('button[type=submit]').click();
      // A first login for this client: the OP asks for consent.
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.waitForURL(/\/portal\/sso\/\?nonce=/);
      expect(await page.locator('h1').textContent()).toBe('Signed in');
      expect(stub.landings.at(-1)?.nonce).toBe(stub.issuedNonces.at(-1));
      const sso = stub.requests.filter((r) => r.path === '/api/sso').at(-1);
      expect(sso?.body).toMatchObject({ ForSection: 'portal', EmailAddress: 'alice@example.com', GroupsIDs: ['team-admins'] });
      expect(stub.developers.get('alice@openid-connect.com')).toMatchObject({ email: 'alice@example.com' });
    } finally {
      await page.close();
    }
  });
});
