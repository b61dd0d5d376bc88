/**
 * The IdP key cache: a key rotation is picked up at once; refetches for unknown kids come out of a token
 * bucket (a burst, then one per refill period), so forged kids cannot flood the IdP; concurrent logins share
 * one download; a failed refresh keeps serving the last good keys. The clock is injected, not waited on.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as jose from 'jose';
import { IdpKeys } from '../../../src/providers/social/jwks.js';

interface Key {
  kid: string;
  privateKey: Awaited<ReturnType<typeof jose.generateKeyPair>>['privateKey'];
  jwk: jose.JWK;
}

async function newKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await jose.generateKeyPair('RS256');
  return { kid, privateKey, jwk: { ...(await jose.exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

const sign = (key: Key) => new jose.SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'RS256', kid: key.kid }).sign(key.privateKey);

let server: http.Server;
let uri: string;
let published: Key[] = [];
let requests = 0;
let down = false;

beforeAll(async () => {
  server = http.createServer((_req, res) => {
    requests++;
    if (down) return res.writeHead(503).end();
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: published.map((k) => k.jwk) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

function keysWithClock(opts: { burst?: number; refillMs?: number; maxAgeMs?: number } = {}) {
  const clock = { now: 1_000_000 };
  const keys = new IdpKeys({ uri, timeoutMs: 2000, allowHttp: true, now: () => clock.now, ...opts });
  return { keys, clock };
}

describe('IdpKeys', () => {
  it('picks up a rotated key with one refetch, and verifies from the cache after that', async () => {
    const [k1, k2] = [await newKey('k1'), await newKey('k2')];
    published = [k1];
    const { keys } = keysWithClock();
    requests = 0;
    await keys.verify(await sign(k1), ['RS256']);
    await keys.verify(await sign(k1), ['RS256']);
    expect(requests).toBe(1);
    published = [k2];
    await keys.verify(await sign(k2), ['RS256']);
    await keys.verify(await sign(k2), ['RS256']);
    expect(requests).toBe(2);
  });

  it('spends a burst of refetches on unknown kids, then one more per refill period', async () => {
    published = [await newKey('known')];
    const { keys, clock } = keysWithClock({ burst: 2, refillMs: 30_000 });
    const forged = async () => keys.verify(await sign(await newKey(`forged-${Math.random()}`)), ['RS256']);
    requests = 0;
    for (let i = 0; i < 6; i++) await expect(forged()).rejects.toThrow(/no key of the IdP matches/);
    expect(requests).toBe(1 + 2); // the first download, then the burst
    clock.now += 29_999;
    await expect(forged()).rejects.toThrow(/no key of the IdP matches/);
    expect(requests).toBe(3);
    clock.now += 1;
    await expect(forged()).rejects.toThrow(/no key of the IdP matches/);
    await expect(forged()).rejects.toThrow(/no key of the IdP matches/);
    expect(requests).toBe(4);
  });

  it('shares one download among concurrent logins', async () => {
    const k = await newKey('shared');
    published = [k];
    const { keys } = keysWithClock();
    requests = 0;
    const token = await sign(k);
    await Promise.all(Array.from({ length: 10 }, () => keys.verify(token, ['RS256'])));
    expect(requests).toBe(1);
  });

  it('keeps verifying with the last good keys when a refresh fails', async () => {
    const k = await newKey('steady');
    published = [k];
    const { keys, clock } = keysWithClock({ maxAgeMs: 60_000 });
    await keys.verify(await sign(k), ['RS256']);
    down = true;
    try {
      clock.now += 60_000;
      await keys.verify(await sign(k), ['RS256']);
    } finally {
      down = false;
    }
  });

  it('refuses HMAC and a bad signature', async () => {
    const k = await newKey('hmac-test');
    published = [k];
    const { keys } = keysWithClock();
    const hs = await new jose.SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'HS256', kid: 'hmac-test' }).sign(new TextEncoder().encode('a-shared-secret-of-enough-length!!'));
    await expect(keys.verify(hs, ['RS256'])).rejects.toThrow(/signature rejected/);
    const [h, p, s] = (await sign(k)).split('.') as [string, string, string];
    await expect(keys.verify(`${h}.${p}.${s.slice(0, -2)}${s.endsWith('AA') ? 'BB' : 'AA'}`, ['RS256'])).rejects.toThrow(/signature rejected/);
  });
});
