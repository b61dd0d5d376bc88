/**
 * The pure parts of the token actions: the in-memory identity cache (TTL, a hard bound, atomic swap), the
 * record formats (ours, and TIB's raw or JSON-quoted), and the URL building (path segments, listen paths,
 * the `#token=` fragment).
 */
import { describe, expect, it } from '@jest/globals';
import { withFragmentParam } from '../../src/actions/failures.js';
import { oauthAnswer } from '../../src/actions/oauth-token.js';
import { MemoryIdentityCache, openRecord, parseRecord, parseTibRecord, recordKeys, sealRecord, sealedKey, serialiseRecord, tibKey } from '../../src/state/identity-cache.js';
import { listenPathPrefix, pathSegment } from '../../src/tyk/client.js';

describe('MemoryIdentityCache', () => {
  it('swap returns the record it replaced; lookup sees the live one', async () => {
    const c = new MemoryIdentityCache();
    expect(await c.swap('p', 'u@X.com', { token: 't1', apiId: 'a' }, 60)).toBeUndefined();
    expect(await c.swap('p', 'u@X.com', { token: 't2', apiId: 'a' }, 60)).toEqual({ token: 't1', apiId: 'a' });
    expect(await c.lookup('p', 'u@X.com')).toEqual([{ token: 't2', apiId: 'a' }]);
    expect(await c.lookup('p', 'v@X.com')).toEqual([]);
    expect(await c.lookup('q', 'u@X.com')).toEqual([]);
  });

  it('forgets a record when its token expires', async () => {
    let now = 1_000_000;
    const c = new MemoryIdentityCache({ now: () => now });
    await c.swap('p', 'u', { token: 't1', apiId: 'a' }, 60);
    now += 59_000;
    expect(await c.lookup('p', 'u')).toHaveLength(1);
    now += 1_000;
    expect(await c.lookup('p', 'u')).toEqual([]);
    expect(await c.swap('p', 'u', { token: 't2', apiId: 'a' }, 60)).toBeUndefined();
  });

  it('never holds more than maxEntries: the oldest record goes, with one WARN a minute', async () => {
    let now = 0;
    const warnings: string[] = [];
    const log = { warn: (m: string) => warnings.push(m) } as unknown as import('../../src/log.js').Logger;
    const c = new MemoryIdentityCache({ maxEntries: 100, now: () => now, log });
    for (let i = 0; i < 10_000; i++) await c.swap('p', `user-${i}`, { token: `t-${i}`, apiId: 'a' }, 3600);
    expect(c.size).toBe(100);
    expect(await c.lookup('p', 'user-0')).toEqual([]);
    expect(await c.lookup('p', 'user-9999')).toHaveLength(1);
    expect(warnings).toHaveLength(1);
    now += 60_000;
    await c.swap('p', 'one-more', { token: 't', apiId: 'a' }, 3600);
    expect(warnings).toHaveLength(2);
  });

  it('sweeps expired records instead of evicting live ones', async () => {
    let now = 0;
    const c = new MemoryIdentityCache({ maxEntries: 10, now: () => now });
    for (let i = 0; i < 10; i++) await c.swap('p', `short-${i}`, { token: 't', apiId: 'a' }, 1);
    now += 61_000;
    await c.swap('p', 'long', { token: 't', apiId: 'a' }, 3600);
    expect(c.size).toBe(1);
  });
});

describe('record formats', () => {
  it('ours round-trips; junk reads as nothing', () => {
    expect(parseRecord(serialiseRecord({ token: 'abc', apiId: 'api' }))).toEqual({ token: 'abc', apiId: 'api' });
    for (const junk of [null, '', 'abc', '{"token":1}', '{"token":""}', '[]', 'null', `{"token":"${'x'.repeat(3000)}"}`, '{"token":"a b"}']) {
      expect(parseRecord(junk)).toBeUndefined();
    }
  });

  it("TIB's: the raw token, or a JSON-quoted one (docs/tib-behaviour.md §9.2 #1); its key has no prefix", () => {
    expect(parseTibRecord('5e9d9544a1dcd60001d0ed20e3445202')).toEqual({ token: '5e9d9544a1dcd60001d0ed20e3445202', apiId: '', legacy: true });
    expect(parseTibRecord('"eyJvcmciOiIx+In0="')).toEqual({ token: 'eyJvcmciOiIx+In0=', apiId: '', legacy: true });
    expect(parseTibRecord('"unterminated')).toBeUndefined();
    expect(parseTibRecord('')).toBeUndefined();
    expect(parseTibRecord('has\nnewline')).toBeUndefined();
    expect(tibKey('2', 'alice@ADProvider.com')).toBe('identity-cache.2-alice@ADProvider.com');
  });

  it('on Redis, sealed under a key that names no user: opens only with the same secret, under the same key, untouched', () => {
    const keys = recordKeys('a-session-secret-of-at-least-32-characters');
    const key = sealedKey(keys, 'tib:', 'p', 'alice@ADProvider.com');
    expect(key).toMatch(/^tib:identity-cache:p:[0-9a-f]{64}$/);
    expect(sealedKey(recordKeys('a-session-secret-of-at-least-32-characters'), 'tib:', 'p', 'alice@ADProvider.com')).toBe(key);
    expect(sealedKey(keys, 'tib:', 'p', 'bob@ADProvider.com')).not.toBe(key);
    const record = { token: 'live-tyk-key-0001', apiId: 'api-base' };
    const sealed = sealRecord(keys, key, record);
    expect(sealed).not.toContain('live-tyk-key-0001');
    expect(sealRecord(keys, key, record)).not.toBe(sealed); // a fresh IV each time
    expect(openRecord(keys, key, sealed)).toEqual(record);
    expect(openRecord(keys, key, null)).toBeUndefined();
    const flipped = `${sealed.slice(0, -2)}${sealed.at(-2) === 'A' ? 'B' : 'A'}${sealed.at(-1) ?? ''}`;
    const other = sealedKey(keys, 'tib:', 'p', 'bob@ADProvider.com');
    for (const [k, v, ks] of [
      [key, sealed, recordKeys('another-secret-of-at-least-32-characters')],
      [other, sealed, keys],
      [key, flipped, keys],
      [key, serialiseRecord(record), keys],
      [key, 'v1.', keys],
    ] as const) {
      expect(openRecord(ks, k, v)).toBeNull();
    }
  });
});

describe('URL building', () => {
  it('pathSegment escapes what would end or split a segment, and keeps what RFC 3986 allows', () => {
    expect(pathSegment('5e9d9544a1dcd600')).toBe('5e9d9544a1dcd600');
    expect(pathSegment('eyJ+ab/cd==')).toBe('eyJ+ab%2Fcd==');
    expect(pathSegment('a b?c#d%e')).toBe('a%20b%3Fc%23d%25e');
    expect(pathSegment('user@x.com:1')).toBe('user@x.com:1');
  });

  it('listenPathPrefix: with or without slashes, never "//"', () => {
    expect(['oauth-api', '/oauth-api', 'oauth-api/', '/oauth-api/', '//oauth-api//'].map(listenPathPrefix)).toEqual(Array(5).fill('/oauth-api'));
    expect(listenPathPrefix('/')).toBe('');
    expect(listenPathPrefix('')).toBe('');
    expect(listenPathPrefix('/v1//partners/')).toBe('/v1/partners');
  });

  it('withFragmentParam: #token=<key>, after an existing fragment, with the query kept', () => {
    expect(withFragmentParam('http://app.example.com/cb', 'token', 'abc123')).toBe('http://app.example.com/cb#token=abc123');
    expect(withFragmentParam('http://app.example.com/cb?x=1#/done', 'token', 'a+b/c=')).toBe('http://app.example.com/cb?x=1#/done&token=a%2Bb%2Fc%3D');
  });
});

describe("oauthAnswer: TIB's OAuthResponse shape", () => {
  it('keeps the four fields with Go zero values, and the code when there is one', () => {
    expect(oauthAnswer({})).toEqual({ access_token: '', expires_in: 0, redirect_to: '', token_type: '' });
    expect(oauthAnswer({ access_token: 't', expires_in: 3600.7, redirect_to: 'r', token_type: 'bearer', extra: 1 })).toEqual({ access_token: 't', expires_in: 3600, redirect_to: 'r', token_type: 'bearer' });
    expect(oauthAnswer({ code: 'c1', redirect_to: 'r' })).toEqual({ access_token: '', expires_in: 0, redirect_to: 'r', token_type: '', code: 'c1' });
    expect(oauthAnswer({ access_token: 5, expires_in: '3600' })).toEqual({ access_token: '', expires_in: 0, redirect_to: '', token_type: '' });
  });
});
