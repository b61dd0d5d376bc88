/**
 * The AES-256-GCM sealing of the broker's Redis values (src/state/sealed.ts, used by src/state/identity-cache.ts
 * and src/state/login-sessions.ts): a value opens only with its key and under the place it was sealed for.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { seal, unseal } from '../../src/state/sealed.js';

describe('seal / unseal', () => {
  const key = randomBytes(32);

  it('opens what it sealed, and never seals the same text twice alike (random IV)', () => {
    const a = seal(key, 'tib:k1', 'a secret');
    expect(unseal(key, 'tib:k1', a)).toBe('a secret');
    expect(seal(key, 'tib:k1', 'a secret')).not.toBe(a);
    expect(a).not.toContain('secret');
  });

  it('does not open under another key, another place, tampered, truncated or empty', () => {
    const a = seal(key, 'tib:k1', 'a secret');
    expect(unseal(randomBytes(32), 'tib:k1', a)).toBeUndefined();
    expect(unseal(key, 'tib:k2', a)).toBeUndefined();
    const b = Buffer.from(a, 'base64url');
    b[14] = (b[14] as number) ^ 1;
    expect(unseal(key, 'tib:k1', b.toString('base64url'))).toBeUndefined();
    expect(unseal(key, 'tib:k1', a.slice(0, 20))).toBeUndefined();
    expect(unseal(key, 'tib:k1', '')).toBeUndefined();
  });
});
