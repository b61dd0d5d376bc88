/**
 * The logins kept for logout, in memory (src/state/login-sessions.ts): found by the cookie's id of the same
 * profile only, dropped once, matched by sub and/or sid (SAML: NameID and SessionIndex), expired, bounded.
 */
import { describe, expect, it } from '@jest/globals';
import { matches, MemoryLoginSessions, type LoginSession } from '../../src/state/login-sessions.js';

const oidc = (over: Partial<LoginSession> = {}): LoginSession => ({ segment: 'openid-connect', idToken: 'h.p.s', sub: 'alice', sid: 's1', expiresAt: Date.now() + 60_000, profile: 'p', userId: 'alice', createdAt: Date.now(), ...over });

describe('MemoryLoginSessions', () => {
  it('gives a 32-byte random id; get finds it for its own profile only; drop returns it once', async () => {
    const store = new MemoryLoginSessions();
    const id = await store.put(oidc(), 60_000);
    expect(id).toMatch(/^[\w-]{43}$/);
    expect(await store.put(oidc(), 60_000)).not.toBe(id);
    expect(await store.get('p', id)).toMatchObject({ idToken: 'h.p.s', sub: 'alice' });
    expect(await store.get('other', id)).toBeUndefined();
    expect(await store.get('p', 'not-an-id')).toBeUndefined();
    expect(await store.drop('p', id)).toMatchObject({ sub: 'alice' });
    expect(await store.drop('p', id)).toBeUndefined();
    expect(await store.get('p', id)).toBeUndefined();
  });

  it('an expired login is gone', async () => {
    const store = new MemoryLoginSessions();
    const id = await store.put(oidc(), -1);
    expect(await store.get('p', id)).toBeUndefined();
  });

  it('dropMatching: by sid, by sub, both must agree, nothing for an empty match, only this profile', async () => {
    const store = new MemoryLoginSessions();
    await store.put(oidc(), 60_000);
    await store.put(oidc({ sid: 's2' }), 60_000);
    await store.put(oidc({ sub: 'bob', userId: 'bob', sid: 's3' }), 60_000);
    await store.put(oidc({ profile: 'q' }), 60_000);
    expect(await store.dropMatching('p', {})).toEqual([]);
    expect(await store.dropMatching('p', { sub: 'bob', sid: 's1' })).toEqual([]);
    expect((await store.dropMatching('p', { sid: 's2' })).map((s) => s.sid)).toEqual(['s2']);
    expect((await store.dropMatching('p', { sub: 'alice' })).map((s) => s.sid)).toEqual(['s1']);
    expect((await store.dropMatching('q', { sub: 'alice' })).map((s) => s.profile)).toEqual(['q']);
    expect((await store.dropMatching('p', { sub: 'bob' })).map((s) => s.sid)).toEqual(['s3']);
  });

  it('SAML: the NameID value is the sub, the SessionIndex the sid', () => {
    const saml: LoginSession = { segment: 'saml', nameId: { value: 'alice@example.com' }, sessionIndex: 'idx1', profile: 'p', userId: 'alice', createdAt: 0 };
    expect(matches(saml, { sub: 'alice@example.com' })).toBe(true);
    expect(matches(saml, { sub: 'alice@example.com', sid: 'idx1' })).toBe(true);
    expect(matches(saml, { sid: 'idx2' })).toBe(false);
  });

  it('is bounded: the oldest login goes first', async () => {
    const store = new MemoryLoginSessions(2);
    const first = await store.put(oidc(), 60_000);
    const second = await store.put(oidc(), 60_000);
    const third = await store.put(oidc(), 60_000);
    expect(await store.get('p', first)).toBeUndefined();
    expect(await store.get('p', second)).toBeDefined();
    expect(await store.get('p', third)).toBeDefined();
  });
});
