/**
 * `npm run demo` as a newcomer runs it: the command itself (build, then the real broker with the demo OpenID
 * Provider and the demo portal) on free ports, then Chromium from the landing page through the OP's sign-in
 * as the demo developer to the portal, which shows the teams it received and the nonce exchange. A screenshot
 * of that page is saved to .tmp/demo.png. Ctrl-C (SIGINT to the process group, as a terminal sends it) stops
 * everything and removes the run's files.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express, { type NextFunction, type Request as ExpressRequest, type Response as ExpressResponse } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import type { OpenAPIV3 } from 'express-openapi-validator/dist/framework/types.js';
import type { Browser, BrowserContext } from 'playwright-core';
import { parse } from 'yaml';
import { createPortalApp } from '../../demo/portal-app.js';
import { NONCE_TTL_MS, PortalStore, type SsoRequest } from '../../demo/portal-store.js';
import { launchBrowser } from '../support/browser.js';
import { PORTAL_CONTRACT } from '../support/portal-stub.js';
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
/** Standalone portals started by the tests, killed at the end if a test left one running. */
const portals: ChildProcess[] = [];
/** One browser profile for the whole visit: the OP's session cookie carries from one sign-in to the next. */
let context: BrowserContext;

/** The promise's value, or a failure (not a hung suite) when it takes longer than `ms`. */
function within<T>(what: string, promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Polls `fn` until it gives a value; fails early when `proc` ends first. */
async function until<T>(what: string, fn: () => T | undefined, ms: number, proc: ChildProcess, log: () => string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`the process ended before ${what}:\n${log()}`);
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}:\n${log()}`);
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
  context = await browser.newContext();
  // The start log names the URL to open.
  landing = await until('the URL to open', () => /demo ready: open (http:\/\/\S+\/)/.exec(output)?.[1], 120_000, demo, () => output);
  profilesFile = await until('the profiles file', () => /loaded 2 profile\(s\) from (\S+)/.exec(output)?.[1], 1000, demo, () => output);
}, 150_000);

afterAll(async () => {
  await browser?.close();
  if (demo?.pid && demo.exitCode === null && demo.signalCode === null) process.kill(-demo.pid, 'SIGKILL');
  for (const p of portals) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

describe('npm run demo', () => {
  it('starts on the given ports, with its generated files private to the user', () => {
    expect(landing).toMatch(/^http:\/\/localhost:\d+\/$/);
    expect(fs.statSync(profilesFile).mode & 0o077).toBe(0);
    expect(fs.statSync(path.dirname(profilesFile)).mode & 0o077).toBe(0);
  });

  it('a person signs in as the demo developer in Chromium and the portal shows the teams it received', async () => {
    const page = await context.newPage();
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
      // The profile maps Dana's `developers` to the team named Acme/Internal; the broker sends its portal ID.
      expect(await page.locator('[data-test=teams] li').allTextContents()).toEqual(['2']);
      expect(await page.locator('[data-test=organisation]').textContent()).toBe('Acme');
      expect(await page.locator('[data-test=account-teams] li').allTextContents()).toEqual(['Acme/Internal']);
      const steps = (await page.locator('[data-test=exchange] li').allTextContents()).map((s) => s.replace(/\s+/g, ' '));
      expect(steps).toHaveLength(3);
      expect(steps[0]).toMatch(/called \/api\/sso with the profile's DashboardCredential .*issued the one-time nonce/);
      expect(steps[1]).toMatch(/created the developer record with this nonce/);
      // The key looks like an email address: the page says it is TIB's form, and of what.
      expect(await page.locator('[data-test=sso-key]').textContent()).toMatch(/^TIB's form of the key, <user id>@<provider>\.com: the user id dana and the provider openid-connect\. It is not an email address/);
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

  it('the next sign-in may be another user, and one in no group gets the default team', async () => {
    const page = await context.newPage();
    try {
      await page.goto(landing);
      await page.locator('[data-profile=demo-developers] a.button').click();
      // The OP has a session for Dana from the test above, and still asks who signs in.
      await page.getByRole('button', { name: 'Sign in as Gus Guest' }).click();
      await page.waitForURL(/\/sso\?nonce=/);
      expect(await page.locator('[data-test=email]').textContent()).toBe('gus@example.com');
      // DefaultUserGroupID: the team named Acme/Partners.
      expect(await page.locator('[data-test=teams] li').allTextContents()).toEqual(['1']);
      expect(await page.locator('[data-test=account-teams] li').allTextContents()).toEqual(['Acme/Partners']);
    } finally {
      await page.close();
    }
  });

  it('a person moves Dana to other groups on the landing page, signs in again, and the portal account follows ("idp" membership)', async () => {
    const page = await context.newPage();
    const signInAsDana = async () => {
      await page.locator('[data-profile=demo-developers] a.button').click();
      await page.getByRole('button', { name: 'Sign in as Dana Developer' }).click();
      await page.waitForURL(/\/sso\?nonce=/);
    };
    try {
      await page.goto(landing);
      expect(await page.locator('[data-test=membership]').textContent()).toMatch(/Membership\.Authority: "idp"/);
      await signInAsDana();
      expect(await page.locator('[data-test=organisation]').textContent()).toBe('Acme');
      expect(await page.locator('[data-test=account-teams] li').allTextContents()).toEqual(['Acme/Internal']);
      expect(await page.locator('[data-test=role]').textContent()).toBe('consumer-team-member');

      // At the demo OP: out of `developers`, into `globex` and `admins` (as an administrator moves her in the IdP).
      await page.goto(landing);
      const dana = page.locator('[data-user=dana]');
      await dana.locator('input[value=developers]').uncheck();
      await dana.locator('input[value=globex]').check();
      await dana.locator('input[value=admins]').check();
      await dana.getByRole('button', { name: 'Save groups' }).click();
      await page.waitForURL(/\/\?changed=dana$/);
      expect(await page.locator('[data-test=groups-changed]').textContent()).toMatch(/Dana Developer is now in globex admins/);
      expect(await page.locator('[data-user=dana] input:checked').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value))).toEqual(['globex', 'admins']);

      // The next sign-in carries the new groups; the broker moves the account before the nonce.
      await signInAsDana();
      expect(await page.locator('[data-test=teams] li').allTextContents()).toEqual(['3']);
      expect(await page.locator('[data-test=organisation]').textContent()).toBe('Globex');
      expect(await page.locator('[data-test=account-teams] li').allTextContents()).toEqual(['Globex/Developers']);
      expect(await page.locator('[data-test=role]').textContent()).toBe('consumer-admin');
      const change = (await page.locator('[data-test=account-changes] li').first().textContent())?.replace(/\s+/g, ' ');
      expect(change).toMatch(/PUT \/portal-api\/users\/\d+ .*Organisation: Acme → Globex; Teams: Acme\/Internal → Globex\/Developers; Role: consumer-team-member → consumer-admin/);
    } finally {
      await page.close();
    }
  });

  it('the groups form accepts only posts from the landing page itself', async () => {
    const moved = await fetch(new URL('/demo/users/gus/groups', landing), { method: 'POST', redirect: 'manual', headers: { 'sec-fetch-site': 'cross-site', 'content-type': 'application/x-www-form-urlencoded' }, body: 'group=admins' });
    expect(moved.status).toBe(403);
    const unknown = await fetch(new URL('/demo/users/nobody/groups', landing), { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'group=admins' });
    expect(unknown.status).toBe(404);
  });

  it('the landing page puts the sign-in buttons before the jargon, and wraps its URLs only after a slash, on a phone', async () => {
    const page = await browser.newPage({ viewport: { width: 360, height: 800 } });
    try {
      await page.goto(landing);
      const order = await page.evaluate(() => {
        const buttons = [...document.querySelectorAll('a.button')];
        const firstJargon = document.querySelector('code, table');
        return { buttons: buttons.length, beforeJargon: buttons.filter((b) => firstJargon && b.compareDocumentPosition(firstJargon) & Node.DOCUMENT_POSITION_FOLLOWING).length };
      });
      expect(order).toEqual({ buttons: 2, beforeJargon: 2 });

      // Where each URL on the page wraps: the text before every line break, which must end with a slash.
      const breaks = await page.evaluate(() => {
        const found: Array<{ url: string; before: string }> = [];
        for (const code of document.querySelectorAll('code')) {
          const text = code.textContent ?? '';
          if (!/^(https?:\/\/|\/)/.test(text)) continue;
          const range = document.createRange();
          let top: number | undefined;
          let seen = '';
          const walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            for (let i = 0; i < (node.textContent ?? '').length; i++) {
              range.setStart(node, i);
              range.setEnd(node, i + 1);
              const rect = range.getClientRects()[0];
              if (rect && top !== undefined && rect.top > top + 1) found.push({ url: text, before: seen });
              if (rect) top = rect.top;
              seen += (node.textContent ?? '')[i];
            }
          }
        }
        return found;
      });
      expect(breaks.filter((b) => !b.before.endsWith('/'))).toEqual([]);
      // The page fits the phone's width: nothing scrolls sideways.
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    } finally {
      await page.close();
    }
  });

  it("a sign-in cancelled at the OpenID Provider ends at the portal's failure page, which shows the reason the broker logged", async () => {
    const page = await context.newPage();
    try {
      await page.goto(landing);
      await page.locator('[data-profile=demo-admins] a.button').click();
      await page.waitForURL(/\/interaction\//);
      await page.getByRole('link', { name: 'Cancel' }).click();
      await page.waitForURL(/\/login-failed$/);
      expect(await page.locator('h1').textContent()).toBe('The sign-in failed');
      expect(await page.locator('[data-test=failure]').textContent()).toMatch(/demo-admins/);
      expect(await page.locator('[data-test=reason]').textContent()).toMatch(/access_denied|cancelled/);
    } finally {
      await page.close();
    }
  });

  it('Ctrl-C stops everything cleanly and removes the files of the run', async () => {
    process.kill(-(demo.pid as number), 'SIGINT');
    const end = await within('the demo to stop', closed, 15_000);
    expect(end.code === 0 || end.signal === 'SIGINT').toBe(true);
    // Logged once every server, the broker and the files are gone; nothing failed on the way.
    expect(output).toMatch(/SIGINT: stopping the demo[\s\S]*demo stopped\s*$/);
    expect(output).not.toMatch(/\[ERROR\]|\n\s+at /);
    expect(fs.existsSync(path.dirname(profilesFile))).toBe(false);
  });
});

describe('the demo portal on its own (node dist-demo/demo/portal.js, as a compose stack runs it)', () => {
  const portalJs = path.join(root, 'dist-demo/demo/portal.js');
  const API_SECRET = 'demo-portal-test-api-secret';

  function runPortal(env: Record<string, string>): { child: ChildProcess; out: () => string; closed: Promise<number | null> } {
    const child = spawn(process.execPath, [portalJs], { env: { PATH: process.env.PATH ?? '', ...env } });
    portals.push(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    return { child, out: () => out, closed: new Promise((resolve) => child.on('close', (code) => resolve(code))) };
  }

  it('imports nothing but Node and the production dependencies', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const seen = new Set<string>();
    const bare = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const m of fs.readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'/gm)) {
        const spec = (m[1] ?? m[2]) as string;
        if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec));
        else bare.add(spec);
      }
    };
    visit(portalJs);
    expect(seen.size).toBeGreaterThan(3);
    expect([...bare].filter((s) => !s.startsWith('node:') && !(s.split('/')[0]! in pkg.dependencies))).toEqual([]);
  });

  it('refuses to start without the API secret, naming the variable', async () => {
    const p = runPortal({ DEMO_PORTAL_PORT: String(await freePort()) });
    expect(await within('the portal to exit', p.closed, 15_000)).toBe(2);
    expect(p.out()).toMatch(/DEMO_PORTAL_API_SECRET must be set/);
  });

  it("issues a nonce to the broker's credential only, redeems it once at the landing, and stops on SIGTERM", async () => {
    const port = await freePort();
    const p = runPortal({ DEMO_PORTAL_PORT: String(port), DEMO_PORTAL_HOST: '127.0.0.1', DEMO_PORTAL_API_SECRET: API_SECRET });
    await until('the portal to listen', () => (p.out().includes('listening on') ? true : undefined), 15_000, p.child, p.out);
    const base = `http://127.0.0.1:${port}`;
    const body = JSON.stringify({ ForSection: 'dashboard', OrgID: 'o', EmailAddress: 'x@example.com', DisplayName: 'X', GroupID: 'g1', GroupsIDs: ['g1', 'g2'], SSOOnlyForRegisteredUsers: false });
    const sso = (authorization: string) => fetch(`${base}/api/sso`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body });

    const refused = await sso('wrong-secret');
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ Status: 'Error', Message: 'Not authorised', Meta: null });
    // No admin secret configured: /admin/sso refuses everyone.
    expect((await fetch(`${base}/admin/sso`, { method: 'POST', headers: { 'admin-auth': '' }, body })).status).toBe(401);

    const issued = (await (await sso(API_SECRET)).json()) as { Status: string; Meta: string };
    expect(issued.Status).toBe('OK');
    expect(issued.Meta).toMatch(/^[0-9a-f]{32}$/);
    // A Dashboard nonce does not sign in to the portal's landing.
    const other = (await (await sso(API_SECRET)).json()) as { Meta: string };
    expect((await fetch(`${base}/sso?nonce=${other.Meta}`)).status).toBe(401);

    const landed = await fetch(`${base}/tap?nonce=${issued.Meta}`);
    expect(landed.status).toBe(200);
    const html = await landed.text();
    expect(html).toContain('<ul data-test="teams"><li><code>g1</code></li><li><code>g2</code></li></ul>');
    expect(landed.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect((await fetch(`${base}/tap?nonce=${issued.Meta}`)).status).toBe(401);

    p.child.kill('SIGTERM');
    expect(await within('the portal to stop', p.closed, 15_000)).toBe(0);
    expect(p.out()).toMatch(/demo portal stopped/);
  });
});

describe("the demo portal's admin API (/portal-api, the subset the broker's \"idp\" membership calls)", () => {
  const ADMIN_TOKEN = 'demo-portal-test-admin-token';
  let base: string;
  let p: ReturnType<typeof runPortalForApi>;

  function runPortalForApi(port: number) {
    const child = spawn(process.execPath, [path.join(root, 'dist-demo/demo/portal.js')], {
      env: { PATH: process.env.PATH ?? '', DEMO_PORTAL_PORT: String(port), DEMO_PORTAL_API_SECRET: 'demo-portal-test-api-secret', DEMO_PORTAL_ADMIN_TOKEN: ADMIN_TOKEN },
    });
    portals.push(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    return { child, out: () => out };
  }
  const api = (method: string, at: string, body?: unknown, token = ADMIN_TOKEN) =>
    fetch(`${base}/portal-api${at}`, { method, headers: { authorization: token, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = async (r: Promise<Response>) => {
    const res = await r;
    return { status: res.status, body: (await res.json()) as unknown };
  };

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    p = runPortalForApi(port);
    await until('the portal to listen', () => (p.out().includes('listening on') ? true : undefined), 15_000, p.child, p.out);
  });
  afterAll(() => {
    p?.child.kill('SIGTERM');
  });

  it('refuses a wrong token in the document\'s error shape (OnlyErrors)', async () => {
    expect(await json(api('GET', '/users', undefined, 'wrong-token'))).toEqual({ status: 401, body: { errors: ['Not authorised'] } });
  });

  it('serves the seeded organisations and their teams (Organisation-index-elem, Team-index-elem)', async () => {
    expect(await json(api('GET', '/organisations'))).toEqual({ status: 200, body: [{ ID: 1, Name: 'Acme' }, { ID: 2, Name: 'Globex' }] });
    expect(await json(api('GET', '/organisations/1/teams'))).toEqual({ status: 200, body: [{ ID: 1, Name: 'Partners', Default: false }, { ID: 2, Name: 'Internal', Default: false }] });
    expect(await json(api('GET', '/organisations/2/teams'))).toEqual({ status: 200, body: [{ ID: 3, Name: 'Developers', Default: false }] });
    expect((await json(api('GET', '/organisations/9/teams'))).status).toBe(404);
  });

  it('creates, pages, updates (the organisation follows the teams) and deletes users (User-create, User-index-elem, User-update, User-show)', async () => {
    const created = await json(api('POST', '/users', { Email: 'erin@example.com', First: 'Erin', Last: 'E', Active: true, OrganisationID: 1, Role: 'consumer-team-member', Provider: 'openid-connect' }));
    expect(created).toEqual({ status: 200, body: expect.objectContaining({ Email: 'erin@example.com', OrganisationID: 1, Organisation: 'Acme', Teams: [], Role: 'consumer-team-member' }) });
    const id = (created.body as { ID: number }).ID;
    expect((await json(api('POST', '/users', { Email: 'ERIN@example.com' }))).status).toBe(422);
    await api('POST', '/users', { Email: 'fay@example.com' });

    expect(await json(api('GET', '/users?page=2&per_page=1'))).toEqual({ status: 200, body: [expect.objectContaining({ Email: 'fay@example.com' })] });
    expect((await json(api('GET', '/users?per_page=0'))).status).toBe(422);

    const moved = await json(api('PUT', `/users/${id}`, { Teams: ['3'], Role: 'consumer-admin' }));
    expect(moved.body).toEqual(expect.objectContaining({ OrganisationID: 2, Organisation: 'Globex', Role: 'consumer-admin', Teams: [expect.objectContaining({ ID: 3, Name: 'Developers', Users: [String(id)] })] }));
    // Teams of two organisations, or an unknown team: refused, nothing written.
    expect(await json(api('PUT', `/users/${id}`, { Teams: ['1', '3'] }))).toEqual({ status: 422, body: { errors: ['Teams must belong to the user organisation'] } });
    expect(await json(api('PUT', `/users/${id}`, { Teams: ['99'] }))).toEqual({ status: 422, body: { errors: ['Team not found'] } });
    expect((await json(api('GET', `/users/${id}`))).body).toEqual(expect.objectContaining({ OrganisationID: 2, Teams: [expect.objectContaining({ ID: 3 })] }));

    expect(await json(api('DELETE', `/users/${id}`))).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await json(api('GET', `/users/${id}`))).toEqual({ status: 404, body: { errors: ['User not found'] } });

    // The portal's home page shows each account's organisation, teams and role, and what changed.
    const home = await (await fetch(`${base}/`)).text();
    expect(home).toContain('<td>fay@example.com</td>');
    expect(home).toMatch(/Organisation: Acme → Globex; Teams: none → Globex\/Developers; Role: consumer-team-member → consumer-admin/);
  });
});

describe("the demo portal's admin API against the published document (test/support/contracts/tyk-portal-api-1.14.0.yaml)", () => {
  it('every request the broker makes and every answer, errors included, validates', async () => {
    const TOKEN = 'demo-portal-contract-token';
    const violations: string[] = [];
    const app = express();
    app.use(express.json());
    // As test/support/portal-stub.ts checks itself: an undeclared 4xx passes only in the OnlyErrors shape.
    const onlyErrors = (b: unknown) => typeof b === 'object' && b !== null && Object.keys(b).join() === 'errors';
    const validator = OpenApiValidator.middleware({
      apiSpec: parse(fs.readFileSync(PORTAL_CONTRACT, 'utf8')) as OpenAPIV3.DocumentV3_1,
      validateRequests: true,
      validateResponses: {
        onError(err, body) {
          if (/^no schema defined for status code '4\d\d'/.test(err.message) && onlyErrors(body)) return;
          violations.push(err.message);
        },
      },
      validateSecurity: false,
    });
    app.use('/portal-api', validator);
    app.use(createPortalApp({ apiSecret: 'demo-portal-contract-api', adminSecret: '', adminToken: TOKEN }).app);
    app.use((err: { message?: string }, _req: ExpressRequest, res: ExpressResponse, _next: NextFunction) => {
      violations.push(String(err.message));
      res.status(500).json({ errors: ['contract violation'] });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/portal-api`;
      const call = async (method: string, at: string, body?: unknown, token = TOKEN) =>
        (await fetch(base + at, { method, headers: { authorization: token, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })).status;
      // The calls of src/portal/api.ts, in a login's order, and the refusals a broker may meet.
      expect(await call('GET', '/organisations?page=1&per_page=100')).toBe(200);
      expect(await call('GET', '/organisations/1/teams?page=1&per_page=100')).toBe(200);
      expect(await call('GET', '/users?page=1&per_page=100')).toBe(200);
      expect(await call('POST', '/users', { Email: 'gil@example.com', First: 'Gil', Last: 'G', Active: true, OrganisationID: 1, Role: 'consumer-team-member', Provider: 'openid-connect' })).toBe(200);
      expect(await call('PUT', '/users/1', { Email: 'gil@example.com', First: 'Gil', Last: 'G', Active: true, OrganisationID: 2, Role: 'consumer-admin', Provider: 'openid-connect', Teams: ['3'] })).toBe(200);
      expect(await call('GET', '/users/1')).toBe(200);
      expect(await call('PUT', '/users/1', { Teams: ['1', '3'] })).toBe(422);
      expect(await call('GET', '/users/1', undefined, 'wrong-token')).toBe(401);
      expect(await call('DELETE', '/users/1')).toBe(200);
      expect(await call('GET', '/users/1')).toBe(404);
      expect(violations).toEqual([]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("the demo portal's memory", () => {
  const request: SsoRequest = { section: 'portal', via: '/api/sso', orgId: 'o', email: 'e@example.com', displayName: 'E', groupId: '', groupIds: [], ssoOnlyForRegisteredUsers: false };

  it('a nonce expires a minute after it was issued', () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const store = new PortalStore(() => now);
    const nonce = store.issue(request);
    now = new Date(now.getTime() + NONCE_TTL_MS + 1);
    expect(store.redeem(nonce, 'portal')).toEqual({ ok: false, why: 'This nonce has expired: sign in again.' });
  });

  it('keeps at most 1000 unredeemed nonces and 20 sign-ins, whatever the callers send', () => {
    const store = new PortalStore();
    const first = store.issue(request);
    const nonces = Array.from({ length: 1000 }, () => store.issue(request));
    expect(store.redeem(first, 'portal').ok).toBe(false);
    for (const n of nonces.slice(0, 30)) expect(store.redeem(n, 'portal').ok).toBe(true);
    expect(store.recent()).toHaveLength(20);
  });
});
