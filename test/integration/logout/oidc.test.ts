/**
 * OpenID Connect RP-initiated logout 1.0 through the broker (issue 21, docs/logout.md), against the real OP
 * (oidc-provider, rpInitiatedLogout on) and the Tyk stub: a login of a logout-on profile is kept (cookie
 * `tib-session-*`), `GET /auth/{id}/logout` drops it and sends the browser to the OP's end_session with the
 * id_token_hint, the OP sends it back with our state, the Tyk step ends on return_to; the OP's session is gone.
 * Refused: a return_to not allowed (no redirect at all), a forged, absent or other browser's state (the failure
 * page); a second use of the same session cookie keeps nothing (no id_token_hint); a logout-off profile is 404.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { CookieJar, fetchWithJar } from '../../support/cookie-jar.js';
import { loginAtOp, oidcProfile, startTestOp, type TestOp } from '../../support/oidc-op.js';
import { freePort } from '../../support/slapd.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const CRED = 'dashboard-credential-for-logout-tests';
const ADMIN = 'dashboard-admin-secret-for-logout-tests';
const CLIENT_SECRET = 'oidc-client-secret-for-logout-tests';
const SESSION_SECRET = 'session-secret-for-logout-tests-0123456789';

let op: TestOp;
let stub: TykStub;
let broker: TestBroker;
let base: string;

const callbackOf = (id: string) => `${base}/auth/${id}/openid-connect/callback`;
const profile = (id: string, over: Record<string, unknown> = {}) =>
  oidcProfile({ id, discoveryUrl: op.discoveryUrl, callbackBase: base, returnUrl: `${stub.url}/tap`, credential: CRED, key: 'broker', secret: CLIENT_SECRET, profile: over });

/** Signs alice in through the OP and the broker; the jar then holds the OP's and the broker's cookies. */
async function login(id: string, jar: CookieJar): Promise<Response> {
  const start = await fetchWithJar(`${base}/auth/${id}/openid-connect`, jar);
  const back = await loginAtOp(start.headers.get('location') ?? '', jar, 'alice', callbackOf(id));
  const res = await fetchWithJar(back, jar);
  expect(res.status).toBe(302);
  expect(res.headers.get('location')).toMatch(/\/tap\?nonce=/);
  return res;
}

/** At the OP's end_session page, confirms "sign me out" as a person would; resolves with where the OP sends the browser. */
async function confirmAtOp(endSession: string, jar: CookieJar): Promise<string> {
  const page = await fetchWithJar(endSession, jar);
  const html = await page.text();
  const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
  if (!action || !xsrf) throw new Error(`the OP's logout page has no form (status ${page.status}): ${html.slice(0, 200)}`);
  const res = await fetchWithJar(new URL(action, op.issuer).toString(), jar, { method: 'POST', body: new URLSearchParams({ xsrf, logout: 'yes' }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  expect(res.status).toBe(303);
  return res.headers.get('location') ?? '';
}

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  stub = await startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN });
  op = await startTestOp({
    redirectUris: ['dash', 'plain', 'off'].map(callbackOf),
    clients: [{ client_id: 'broker', client_secret: CLIENT_SECRET, postLogoutRedirectUris: ['dash', 'plain'].map((id) => `${base}/auth/${id}/logout/callback`) }],
  });
  broker = await startTestBroker({
    port,
    config: {
      LoginStartsPerMinute: 0,
      SessionSecret: SESSION_SECRET,
      TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } },
    },
    profiles: [
      profile('dash', { Name: 'Dashboard', TykLogoutURL: `${stub.url}/logout`, LogoutRedirectURLs: [`${stub.url}/tap`, `${stub.url}/login-failed`] }),
      profile('plain', { LogoutRedirectURLs: [`${stub.url}/tap`] }),
      profile('off'),
    ],
  });
}, 60_000);

afterAll(async () => {
  await broker?.close();
  await op?.close();
  await stub?.close();
});

beforeEach(() => stub.reset());

describe('RP-initiated logout', () => {
  it('keeps the login in an HttpOnly, SameSite=Lax cookie scoped to the profile, as long as the id token', async () => {
    const res = await login('dash', new CookieJar());
    const kept = res.headers.getSetCookie().filter((c) => c.startsWith('tib-session-'));
    expect(kept).toEqual([expect.stringMatching(/^tib-session-[\w-]{10}=[\w-]{43}; Max-Age=\d+; Path=\/auth\/dash\/; Expires=[^;]+; HttpOnly; SameSite=Lax$/)]);
    // As long as the id token (600 s at the test OP), counted from its issue: a slow machine's login takes seconds of it.
    const maxAge = Number(/Max-Age=(\d+)/.exec(kept[0] ?? '')?.[1]);
    expect(maxAge).toBeGreaterThan(500);
    expect(maxAge).toBeLessThanOrEqual(600);
  });

  it('a profile with logout off keeps nothing and has no logout route', async () => {
    const jar = new CookieJar();
    const res = await login('off', jar);
    expect(res.headers.getSetCookie().filter((c) => c.startsWith('tib-session-'))).toEqual([]);
    const out = await fetchWithJar(`${base}/auth/off/logout`, jar);
    expect(out.status).toBe(404);
    expect(out.headers.get('location')).toBeNull();
  });

  it('signs out at the OP with the id token, comes back with our state, requests the Tyk logout and ends on return_to; the next login asks for credentials', async () => {
    const jar = new CookieJar();
    await login('dash', jar);
    const out = await fetchWithJar(`${base}/auth/dash/logout?return_to=${encodeURIComponent(`${stub.url}/login-failed`)}`, jar);
    expect(out.status).toBe(302);
    expect(out.headers.get('cache-control')).toBe('no-store');
    // The session cookie is cleared, a logout flow cookie is set.
    expect(out.headers.getSetCookie()).toEqual(expect.arrayContaining([expect.stringMatching(/^tib-session-[\w-]{10}=; Path=\/auth\/dash\/; Expires=Thu, 01 Jan 1970/), expect.stringMatching(/^tib_flow_[\w-]{16}=[\w-]+; Max-Age=300; Path=\/auth\/dash\/; /)]));
    const endSession = new URL(out.headers.get('location') ?? '');
    expect(`${endSession.origin}${endSession.pathname}`).toBe(`${op.issuer}/session/end`);
    expect(endSession.searchParams.get('id_token_hint')).toMatch(/^ey[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(`${base}/auth/dash/logout/callback`);
    expect(endSession.searchParams.get('client_id')).toBe('broker');
    const state = endSession.searchParams.get('state') ?? '';
    expect(state).toMatch(/^[\w-]{43}$/);

    const back = await confirmAtOp(endSession.toString(), jar);
    expect(back).toBe(`${base}/auth/dash/logout/callback?state=${state}`);
    const step = await fetchWithJar(back, jar);
    expect(step.status).toBe(200);
    const html = await step.text();
    const csp = step.headers.get('content-security-policy') ?? '';
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1] ?? '';
    expect(csp).toBe(`default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; frame-src ${stub.url}; img-src ${stub.url}; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`);
    expect(html).toContain(`<iframe id="tyk" title="Tyk logout" src="${stub.url}/logout"></iframe>`);
    expect(html).toContain(`<a id="next" href="${stub.url}/login-failed">Continue</a>`);
    expect(html).toContain(`<script nonce="${nonce}">`);
    // The flow cookie is used once.
    expect(step.headers.getSetCookie()).toEqual([expect.stringMatching(/^tib_flow_[\w-]{16}=; Max-Age=0; Path=\/auth\/dash\/; /)]);
    const again = await fetchWithJar(back, jar);
    expect(again.status).toBe(400);

    // The OP's session is over: a new login shows its login form instead of coming straight back.
    const start = await fetchWithJar(`${base}/auth/dash/openid-connect`, jar);
    let url = start.headers.get('location') ?? '';
    let page = await fetchWithJar(url, jar);
    while (page.status >= 300 && page.status < 400) {
      url = new URL(page.headers.get('location') ?? '', url).toString();
      expect(url.startsWith(callbackOf('dash'))).toBe(false);
      page = await fetchWithJar(url, jar);
    }
    expect(await page.text()).toMatch(/name="login"/);
  });

  it('without TykLogoutURL, the OP\'s return goes straight to return_to (absent: the first allowed URL)', async () => {
    const jar = new CookieJar();
    await login('plain', jar);
    const out = await fetchWithJar(`${base}/auth/plain/logout`, jar);
    const back = await confirmAtOp(out.headers.get('location') ?? '', jar);
    const end = await fetchWithJar(back, jar);
    expect(end.status).toBe(302);
    expect(end.headers.get('location')).toBe(`${stub.url}/tap`);
  });

  it('a second use of the same session cookie keeps nothing: no id_token_hint, the client_id alone', async () => {
    const jar = new CookieJar();
    const res = await login('dash', jar);
    const cookie = (res.headers.getSetCookie().find((c) => c.startsWith('tib-session-')) ?? '').split(';')[0] ?? '';
    const first = await fetch(`${base}/auth/dash/logout`, { headers: { cookie }, redirect: 'manual' });
    expect(new URL(first.headers.get('location') ?? '').searchParams.get('id_token_hint')).not.toBeNull();
    const second = await fetch(`${base}/auth/dash/logout`, { headers: { cookie }, redirect: 'manual' });
    expect(second.status).toBe(302);
    const url = new URL(second.headers.get('location') ?? '');
    expect(url.searchParams.get('id_token_hint')).toBeNull();
    expect(url.searchParams.get('logout_hint')).toBeNull();
    expect(url.searchParams.get('client_id')).toBe('broker');
  });

  it.each([
    ['another host', 'https://evil.example/'],
    ['scheme-relative', '//evil.example/'],
    ['javascript:', 'javascript:alert(1)'],
    ['userinfo', () => `http://127.0.0.1@evil.example/`],
    ['backslashes', () => `${stub.url}\\@evil.example/`],
    ['encoded', () => encodeURIComponent(`${stub.url}/tap`)],
    ['a path not listed', () => `${stub.url}/elsewhere`],
  ])('refuses return_to %s: a 400 page, no redirect, the login kept', async (_what, value) => {
    const jar = new CookieJar();
    await login('dash', jar);
    const v = typeof value === 'function' ? value() : value;
    const res = await fetchWithJar(`${base}/auth/dash/logout?return_to=${encodeURIComponent(v)}`, jar, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toContain('This sign-out link is not allowed');
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  it('a forged, absent or other browser\'s state at the callback ends on the failure page, never on return_to', async () => {
    const jar = new CookieJar();
    await login('dash', jar);
    const out = await fetchWithJar(`${base}/auth/dash/logout`, jar);
    const state = new URL(out.headers.get('location') ?? '').searchParams.get('state') ?? '';
    const html = { accept: 'text/html' };
    for (const url of [`${base}/auth/dash/logout/callback?state=forged-state-value`, `${base}/auth/dash/logout/callback`, `${base}/auth/dash/logout/callback?error=access_denied&state=${state}`]) {
      const res = await fetchWithJar(url, jar, { headers: html });
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      expect(await res.text()).toContain('Logout failed');
    }
    // The right state in another browser (no flow cookie).
    const other = await fetch(`${base}/auth/dash/logout/callback?state=${state}`, { headers: html, redirect: 'manual' });
    expect(other.status).toBe(400);
    expect(await other.text()).toContain('Logout failed');
    expect(broker.logs.some((l) => l.includes('logout answer with an unknown, expired or already used state'))).toBe(true);
  });
});
