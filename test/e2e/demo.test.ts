/**
 * `npm run demo` as a newcomer runs it: the command itself (build, then the real broker with the demo OpenID
 * Provider and the demo portal) on free ports, then Chromium from the landing page through the OP's sign-in
 * as the demo developer to the portal, which shows the teams it received and the nonce exchange. A screenshot
 * of that page is saved to .tmp/demo.png. Ctrl-C (SIGINT to the process group, as a terminal sends it) stops
 * everything and removes the run's files.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../support/browser.js';
import { freePort } from '../support/slapd.js';

const root = path.resolve(import.meta.dirname, '../..');
const screenshot = path.join(root, '.tmp', 'demo.png');

let demo: ChildProcess;
let output = '';
/** How npm ended: npm itself ends by the SIGINT it forwarded, as after a Ctrl-C in a terminal. */
let closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
let landing: string;
let profilesFile: string;
let browser: Browser;

async function until<T>(what: string, fn: () => T | undefined, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (demo.exitCode !== null) throw new Error(`the demo exited (${demo.exitCode}) before ${what}:\n${output}`);
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  const [brokerPort, opPort, portalPort] = [await freePort(), await freePort(), await freePort()];
  // Exactly the newcomer's command; its own process group, so a "Ctrl-C" reaches npm and the demo alike.
  demo = spawn('npm', ['run', 'demo'], {
    cwd: root,
    detached: true,
    env: { ...process.env, DEMO_PORT: String(brokerPort), DEMO_OP_PORT: String(opPort), DEMO_PORTAL_PORT: String(portalPort) },
  });
  // 'close': every process holding the output pipes (npm, its shell, the demo) has ended.
  closed = new Promise((resolve) => demo.on('close', (code, signal) => resolve({ code, signal })));
  demo.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  demo.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  browser = await launchBrowser();
  // The start log names the URL to open.
  landing = await until('the URL to open', () => /demo ready: open (http:\/\/\S+\/)/.exec(output)?.[1], 120_000);
  profilesFile = await until('the profiles file', () => /loaded 2 profile\(s\) from (\S+)/.exec(output)?.[1], 1000);
}, 150_000);

afterAll(async () => {
  await browser?.close();
  if (demo?.pid && demo.exitCode === null && demo.signalCode === null) process.kill(-demo.pid, 'SIGKILL');
});

describe('npm run demo', () => {
  it('starts on the given ports, with its generated files private to the user', () => {
    expect(landing).toMatch(/^http:\/\/localhost:\d+\/$/);
    expect(fs.statSync(profilesFile).mode & 0o077).toBe(0);
    expect(fs.statSync(path.dirname(profilesFile)).mode & 0o077).toBe(0);
  });

  it('a person signs in as the demo developer in Chromium and the portal shows the teams it received', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(landing);
      expect(await page.locator('body').textContent()).toMatch(/Stand-in for your identity provider/);
      await page.locator('[data-profile=demo-developers] a.button').click();

      // The demo OP's own sign-in page: a stand-in, listing its users.
      await page.waitForURL(/\/interaction\//);
      expect(await page.locator('.standin').textContent()).toMatch(/stand-in for your organisation's identity provider/);
      await page.getByRole('button', { name: 'Sign in as Dana Developer' }).click();

      // Broker callback, nonce from the portal, developer created, browser lands on the portal with the nonce.
      await page.waitForURL(/\/sso\?nonce=[0-9a-f]{32}$/);
      expect(await page.locator('h1').textContent()).toBe('Signed in to the demo Developer Portal');
      expect(await page.locator('[data-test=email]').textContent()).toBe('dana@example.com');
      expect(await page.locator('[data-test=display-name]').textContent()).toBe('Dana Developer');
      expect(await page.locator('[data-test=teams] li').allTextContents()).toEqual(['team-api-developers']);
      const steps = (await page.locator('[data-test=exchange] li').allTextContents()).map((s) => s.replace(/\s+/g, ' '));
      expect(steps).toHaveLength(3);
      expect(steps[0]).toMatch(/called \/api\/sso with the profile's DashboardCredential .*issued the one-time nonce/);
      expect(steps[1]).toMatch(/created the developer record with this nonce/);
      expect(steps[2]).toMatch(/redeemed the nonce/);
      fs.mkdirSync(path.dirname(screenshot), { recursive: true });
      await page.screenshot({ path: screenshot, fullPage: true });

      // The nonce was single-use: the same landing again signs nobody in.
      await page.reload();
      expect(await page.locator('h1').textContent()).toBe('Not signed in');
      expect(await page.locator('[data-test=problem]').textContent()).toMatch(/already used/);
    } finally {
      await page.close();
    }
    expect(fs.statSync(screenshot).size).toBeGreaterThan(0);
  });

  it('Ctrl-C stops everything cleanly and removes the files of the run', async () => {
    process.kill(-(demo.pid as number), 'SIGINT');
    const end = await closed;
    expect(end.code === 0 || end.signal === 'SIGINT').toBe(true);
    // Logged once every server, the broker and the files are gone; nothing failed on the way.
    expect(output).toMatch(/SIGINT: stopping the demo[\s\S]*demo stopped\s*$/);
    expect(output).not.toMatch(/\[ERROR\]|\n\s+at /);
    expect(fs.existsSync(path.dirname(profilesFile))).toBe(false);
  });
});
