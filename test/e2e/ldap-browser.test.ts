/**
 * A person logging in with a real browser: the built-in login page (and its error message), and the
 * customer's own HTML form from seed 000 served from another origin (listed in LDAPAllowedOrigins), both
 * landing on the portal signed in; the same form from an origin not listed is refused (login CSRF).
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../support/browser.js';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { SERVICE_DN, SERVICE_PW, startSlapd, SUFFIX, type Slapd } from '../support/slapd.js';
import { startTykStub, type TykStub } from '../support/tyk-stub.js';

const CRED = 'portal-api-secret-for-browser-tests';
let slapd: Slapd;
let stub: TykStub;
let broker: TestBroker;
let browser: Browser;
let formSite: http.Server;
let formUrl: string;

/** Seed 000's login page, verbatim but for the action URL. */
const seedForm = (action: string) => `<html>
    <head>
      <title>Tyk Developer portal login</title>
    </head>
    <body>
      <b> Login to the Developer portal</b>
      <form method="post" action="${action}">
        username: <input type="text" name="username"/> <br/>
        password: <input type="text" name="password"/> <br/>
        <button type="submit">Login</button>
      </form>
    </body>
</html>`;

beforeAll(async () => {
  [slapd, stub, browser] = await Promise.all([startSlapd(), startTykStub({ dashboardCredential: CRED, adminSecret: 'x-admin' }), launchBrowser()]);
  // The customer's form site first: the profile lists its origin (a cross-origin post is refused by default).
  const site = express();
  site.get('/login.html', (_req, res) => {
    res.type('html').send(seedForm(`${broker.url}/auth/ldap-developers/ldap`));
  });
  formSite = await new Promise((resolve) => {
    const s = site.listen(0, '127.0.0.1', () => resolve(s));
  });
  // "localhost" vs "127.0.0.1": a different origin from the broker's.
  const formOrigin = `http://localhost:${(formSite.address() as AddressInfo).port}`;
  formUrl = `${formOrigin}/login.html`;
  broker = await startTestBroker({
    mountPath: '/tib',
    config: { TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: 'x-admin' } } },
    profiles: [
      {
        ID: 'ldap-developers',
        Name: 'Developer portal',
        OrgID: '0',
        ActionType: 'GenerateOrLoginDeveloperProfile',
        ProviderName: 'ADProvider',
        ReturnURL: `${stub.url}/portal/sso/`,
        IdentityHandlerConfig: { DashboardCredential: CRED },
        CustomUserGroupField: 'memberOf',
        UserGroupMapping: { [`cn=developers,ou=groups,${SUFFIX}`]: '2' },
        DefaultUserGroupID: '1',
        ProviderConfig: {
          LDAPServer: '127.0.0.1',
          LDAPPort: String(slapd.port),
          LDAPAdminUser: SERVICE_DN,
          LDAPAdminPassword: SERVICE_PW,
          LDAPBaseDN: `ou=people,${SUFFIX}`,
          LDAPFilter: '(uid=*USERNAME*)',
          LDAPSearchScope: 2,
          LDAPAllowedOrigins: [formOrigin],
        },
      },
    ],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  formSite?.closeAllConnections();
  await new Promise((r) => formSite?.close(r));
  await broker?.close();
  await stub?.close();
  await slapd?.stop();
});

describe('in Chromium', () => {
  it('the built-in login page shows an error, then logs the user in and lands on the portal', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${broker.url}/auth/ldap-developers/ldap`);
      expect(await page.title()).toBe('Sign in - Developer portal');
      await page.getByLabel('Username').fill('bob');
      await page.getByLabel('Password').fill('wrong password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect(page.getByRole('alert').textContent()).resolves.toContain('Sign-in failed');
      expect(await page.getByLabel('Username').inputValue()).toBe('bob');

      await page.getByLabel('Password').fill('bob-pass');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(/\/portal\/sso\/\?nonce=/);
      expect(await page.locator('h1').textContent()).toBe('Signed in');
      const landing = stub.landings.at(-1);
      expect(landing?.nonce).toBe(stub.issuedNonces.at(-1));
      const sso = stub.requests.filter((r) => r.path === '/api/sso').at(-1);
      expect(sso?.body).toMatchObject({ EmailAddress: 'bob@example.org', GroupsIDs: ['2'] });
    } finally {
      await page.close();
    }
  });

  it('the built-in login page logs a user in on the first try (its CSP lets the redirect to the portal through)', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${broker.url}/auth/ldap-developers/ldap`);
      await page.getByLabel('Username').fill('alice');
      await page.getByLabel('Password').fill('alice-pass');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(/\/portal\/sso\/\?nonce=/);
      expect(await page.locator('h1').textContent()).toBe('Signed in');
      expect(stub.landings.at(-1)?.nonce).toBe(stub.issuedNonces.at(-1));
    } finally {
      await page.close();
    }
  });

  it("the seed's own HTML form, served from another origin listed in LDAPAllowedOrigins, logs the user in too", async () => {
    const page = await browser.newPage();
    try {
      await page.goto(formUrl);
      await page.locator('input[name=username]').fill('alice');
      await page.locator('input[name=password]').fill('alice-pass');
      await page.getByRole('button', { name: 'Login' }).click();
      await page.waitForURL(/\/portal\/sso\/\?nonce=/);
      expect(await page.locator('h1').textContent()).toBe('Signed in');
      expect(stub.landings.at(-1)?.nonce).toBe(stub.issuedNonces.at(-1));
    } finally {
      await page.close();
    }
  });

  it('the same form from an origin not listed (127.0.0.1 on another port) is refused: 403 and the login page again', async () => {
    const page = await browser.newPage();
    try {
      const landings = stub.landings.length;
      await page.goto(formUrl.replace('localhost', '127.0.0.1'));
      await page.locator('input[name=username]').fill('alice');
      await page.locator('input[name=password]').fill('alice-pass');
      const [answer] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/auth/ldap-developers/ldap')), page.getByRole('button', { name: 'Login' }).click()]);
      expect(answer.status()).toBe(403);
      await expect(page.getByRole('button', { name: 'Sign in' }).count()).resolves.toBe(1);
      expect(stub.landings.length).toBe(landings);
    } finally {
      await page.close();
    }
  });
});
