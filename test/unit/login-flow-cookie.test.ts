/**
 * The sealed login flow cookie (src/state/login-flow-cookie.ts): it opens only under the same secret, cookie
 * name, profile and profile version, untouched and unexpired; anything else is no flow (never an error). At a
 * start, a browser that already holds 8 flow cookies loses the oldest, ones that do not open first.
 */
import { describe, expect, it } from '@jest/globals';
import { flowCookieName, LoginFlowCookies, MAX_FLOW_COOKIES, openFlow, profileVersion, sealFlow, type CookieExchange } from '../../src/state/login-flow-cookie.js';

const SECRET = 'session-secret-for-flow-cookie-tests-0123';
const binding = { secret: SECRET, profileId: 'dash', version: profileVersion({ ID: 'dash', OrgID: 'o' }) };
const NOW = 1_800_000_000_000;
const flow = { provider: 'openid-connect', secrets: { state: 's'.repeat(43), nonce: 'n'.repeat(43), codeVerifier: 'v'.repeat(43) } };
const name = flowCookieName(flow.secrets.state);
const sealed = sealFlow(binding, name, flow, NOW + 300_000);

describe('sealFlow / openFlow', () => {
  it('opens what it sealed, with its expiry', () => {
    expect(name).toMatch(/^tib_flow_[\w-]{16}$/);
    expect(sealed).toMatch(/^[\w-]+$/);
    expect(sealed).not.toContain(Buffer.from(flow.secrets.state).toString('base64url').slice(0, 20));
    expect(openFlow(binding, name, sealed, NOW)).toEqual({ flow, expiresAt: NOW + 300_000 });
  });

  it('two seals of the same flow differ (a random IV each)', () => {
    expect(sealFlow(binding, name, flow, NOW + 1)).not.toBe(sealFlow(binding, name, flow, NOW + 1));
  });

  it('any byte changed: absent', () => {
    const raw = Buffer.from(sealed, 'base64url');
    for (let i = 0; i < raw.length; i++) {
      const bad = Buffer.from(raw);
      bad[i] = (bad[i] ?? 0) ^ 1;
      expect(openFlow(binding, name, bad.toString('base64url'), NOW)).toBeUndefined();
    }
    expect(openFlow(binding, name, sealed.slice(0, -1), NOW)).toBeUndefined();
    expect(openFlow(binding, name, `${sealed}AA`, NOW)).toBeUndefined();
  });

  it('another key, profile, version or cookie name: absent', () => {
    expect(openFlow({ ...binding, secret: `${SECRET}-other` }, name, sealed, NOW)).toBeUndefined();
    expect(openFlow({ ...binding, profileId: 'portal' }, name, sealed, NOW)).toBeUndefined();
    expect(openFlow({ ...binding, version: profileVersion({ ID: 'dash', OrgID: 'changed' }) }, name, sealed, NOW)).toBeUndefined();
    expect(openFlow(binding, flowCookieName('another state'), sealed, NOW)).toBeUndefined();
  });

  it('expired: absent', () => {
    expect(openFlow(binding, name, sealed, NOW + 300_000)).toBeUndefined();
  });

  it('garbage, empty, percent-encoded or oversized values: absent, never a throw', () => {
    for (const v of ['', '%E0%A4%A', 'not.base64', 'AAAA', 'x'.repeat(5000)]) expect(openFlow(binding, name, v, NOW)).toBeUndefined();
  });
});

/** A request carrying `cookie`, recording what the answer sets. */
function exchange(cookie: string) {
  const set: Array<{ name: string; value: string; maxAgeSeconds: number; sameSite: string; secure: boolean; path: string; httpOnly: boolean }> = [];
  const req: CookieExchange = { header: (h) => (h === 'cookie' ? cookie : undefined), setCookie: (n, value, o) => void set.push({ name: n, value, ...o }) };
  return { req, set };
}

describe('LoginFlowCookies', () => {
  const cookies = new LoginFlowCookies(binding, { secure: false, path: '/auth/', timeoutSeconds: 300 });

  it('a start sets one HttpOnly Lax cookie named from its state, living as long as the flow; the callback opens and clears it', () => {
    const start = exchange('');
    cookies.begin(start.req, 'state-1', flow, NOW);
    expect(start.set).toEqual([{ name: flowCookieName('state-1'), value: expect.stringMatching(/^[\w-]+$/), maxAgeSeconds: 300, sameSite: 'lax', secure: false, path: '/auth/', httpOnly: true }]);
    const back = exchange(`other=1; ${flowCookieName('state-1')}=${start.set[0]?.value ?? ''}`);
    expect(cookies.finish(back.req, 'state-1', NOW + 1000)).toEqual({ flow, expiresAt: NOW + 300_000 });
    expect(back.set).toEqual([expect.objectContaining({ name: flowCookieName('state-1'), value: '', maxAgeSeconds: 0 })]);
  });

  it('SAML over https: SameSite=None; Secure', () => {
    const start = exchange('');
    new LoginFlowCookies(binding, { secure: true, sameSiteNone: true, path: '/auth/', timeoutSeconds: 600 }).begin(start.req, 'relay', { requestId: '_1' }, NOW);
    expect(start.set[0]).toMatchObject({ sameSite: 'none', secure: true, maxAgeSeconds: 600 });
  });

  it('with 8 flow cookies held, a start expires the oldest: ones that do not open first, then by sealed expiry', () => {
    const held: string[] = ['tib_flow_damaged000000=%E0%A4%A'];
    for (let i = 0; i < MAX_FLOW_COOKIES - 1; i++) {
      const n = flowCookieName(`s${i}`);
      held.push(`${n}=${sealFlow(binding, n, flow, NOW + 100_000 + i)}`);
    }
    const start = exchange(held.join('; '));
    cookies.begin(start.req, 'new', flow, NOW);
    // 8 held: 1 goes (the damaged one) so that the browser holds 8 with the new one.
    expect(start.set.filter((c) => c.maxAgeSeconds === 0).map((c) => c.name)).toEqual(['tib_flow_damaged000000']);
    const n8 = flowCookieName('s7');
    const more = exchange(`${held.slice(1).join('; ')}; ${n8}=${sealFlow(binding, n8, flow, NOW + 100_010)}; ${flowCookieName('x')}=${sealFlow(binding, flowCookieName('x'), flow, NOW + 50)}`);
    cookies.begin(more.req, 'newer', flow, NOW);
    // 9 held: 2 go, the earliest sealed expiries.
    expect(more.set.filter((c) => c.maxAgeSeconds === 0).map((c) => c.name)).toEqual([flowCookieName('x'), flowCookieName('s0')]);
    expect(more.set.at(-1)).toMatchObject({ name: flowCookieName('newer'), maxAgeSeconds: 300 });
  });

  it('a callback without its cookie, or with one that does not open, is no flow and sets nothing for an absent one', () => {
    const none = exchange('tib_flow_zzz=1');
    expect(cookies.finish(none.req, 'state-2', NOW)).toBeUndefined();
    expect(none.set).toEqual([]);
    const bad = exchange(`${flowCookieName('state-2')}=garbage`);
    expect(cookies.finish(bad.req, 'state-2', NOW)).toBeUndefined();
    expect(bad.set).toEqual([expect.objectContaining({ maxAgeSeconds: 0 })]);
  });
});
