/**
 * The built-in LDAP login page on a 320-px phone (issue 11, item 8), in Chromium with a phone's viewport and
 * touch: no horizontal scrolling, the fields and the button inside the screen and usable, also when the
 * page comes back with its error message after a wrong password (against a real slapd) and with a long
 * profile name.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser } from '../support/browser.js';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { ldapProfile, startSlapd, type Slapd } from '../support/slapd.js';

const CRED = 'dashboard-credential-for-mobile-page';
let slapd: Slapd;
let broker: TestBroker;
let browser: Browser;
let phone: BrowserContext;

beforeAll(async () => {
  [slapd, browser] = await Promise.all([startSlapd(), launchBrowser()]);
  broker = await startTestBroker({
    profiles: [
      {
        ...ldapProfile(slapd, { id: 'mobile', returnUrl: 'http://127.0.0.1:9/tap', credential: CRED }),
        Name: 'Acme Developer Portal (AcmeCorporation_Extranet_Partner_Access_Directory)',
      },
    ],
  });
  phone = await browser.newContext({ viewport: { width: 320, height: 568 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
}, 60_000);

afterAll(async () => {
  await phone?.close();
  await browser?.close();
  await broker?.close();
  await slapd?.stop();
});

/** Everything that matters about fitting the screen, measured by the browser itself. */
async function layout(page: Page) {
  return page.evaluate(() => {
    const box = (sel: string) => {
      const r = (document.querySelector(sel) as HTMLElement).getBoundingClientRect();
      return { left: r.left, right: r.right, width: r.width, height: r.height };
    };
    return {
      viewport: window.innerWidth,
      scrollWidth: document.documentElement.scrollWidth,
      username: box('#username'),
      password: box('#password'),
      button: box('button[type="submit"]'),
    };
  });
}

function expectFits(l: Awaited<ReturnType<typeof layout>>) {
  expect(l.viewport).toBe(320);
  expect(l.scrollWidth).toBeLessThanOrEqual(l.viewport);
  for (const el of [l.username, l.password, l.button]) {
    expect(el.left).toBeGreaterThanOrEqual(0);
    expect(el.right).toBeLessThanOrEqual(l.viewport);
    // Wide and tall enough to hit with a thumb.
    expect(el.width).toBeGreaterThanOrEqual(200);
    expect(el.height).toBeGreaterThanOrEqual(32);
  }
}

describe('the LDAP login page on a 320-px phone', () => {
  it('fits the screen without horizontal scrolling, fields visible', async () => {
    const page = await phone.newPage();
    await page.goto(`${broker.url}/auth/mobile/ldap`);
    expect(await page.evaluate(() => document.querySelector('meta[name="viewport"]')?.getAttribute('content'))).toContain('width=device-width');
    expectFits(await layout(page));
    await expect(page.locator('#username').isVisible()).resolves.toBe(true);
    await expect(page.locator('#password').isVisible()).resolves.toBe(true);
    await page.close();
  });

  it('still fits when it comes back with the error message', async () => {
    const page = await phone.newPage();
    await page.goto(`${broker.url}/auth/mobile/ldap`);
    await page.locator('#username').fill('alice');
    await page.locator('#password').fill('not-her-password');
    await Promise.all([page.waitForNavigation(), page.locator('button[type="submit"]').tap()]);
    await expect(page.locator('#login-error').isVisible()).resolves.toBe(true);
    expectFits(await layout(page));
    await page.close();
  });
});
