/**
 * Logout forgets the user's token record (src/state/identity-cache.ts forget, used by src/actions/one-token.ts
 * revokeAtLogout): only while it still holds the token the logout dealt with, so a newer login keeps its record.
 */
import { describe, expect, it } from '@jest/globals';
import { MemoryIdentityCache } from '../../src/state/identity-cache.js';

describe('MemoryIdentityCache.forget', () => {
  it('removes the record that holds the token', async () => {
    const c = new MemoryIdentityCache();
    await c.swap('p', 'u@X.com', { token: 't1', apiId: 'a' }, 60);
    await c.swap('p', 'v@X.com', { token: 't9', apiId: 'a' }, 60);
    await c.forget('p', 'u@X.com', 't1');
    expect(await c.lookup('p', 'u@X.com')).toEqual([]);
    expect(await c.lookup('p', 'v@X.com')).toEqual([{ token: 't9', apiId: 'a' }]);
  });

  it('keeps a record that a newer login replaced meanwhile, and records of other profiles', async () => {
    const c = new MemoryIdentityCache();
    await c.swap('p', 'u@X.com', { token: 't2', apiId: 'a' }, 60);
    await c.swap('q', 'u@X.com', { token: 't1', apiId: 'a' }, 60);
    await c.forget('p', 'u@X.com', 't1');
    expect(await c.lookup('p', 'u@X.com')).toEqual([{ token: 't2', apiId: 'a' }]);
    expect(await c.lookup('q', 'u@X.com')).toEqual([{ token: 't1', apiId: 'a' }]);
  });
});
