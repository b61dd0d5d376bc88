/**
 * AES-256-GCM sealing of what the broker keeps outside itself (Redis values: state/identity-cache.ts,
 * state/login-sessions.ts; login flow cookies: state/login-flow-cookie.ts): base64url of `iv | ciphertext | tag`,
 * bound by additional data to where it is kept (its Redis key, its cookie name and profile), so a value copied
 * elsewhere does not open. Keys come from TYK_IB_SESSION_SECRET (HKDF).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;

export function seal(key: Buffer, aad: string, plain: string): string {
  const iv = randomBytes(IV_BYTES);
  const c = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return Buffer.concat([iv, body, c.getAuthTag()]).toString('base64url');
}

/** The plain text, or undefined when `sealed` does not open (another key or place, truncated, tampered). */
export function unseal(key: Buffer, aad: string, sealed: string): string | undefined {
  const b = Buffer.from(sealed, 'base64url');
  if (b.length < IV_BYTES + TAG_BYTES) return undefined;
  try {
    const d = createDecipheriv('aes-256-gcm', key, b.subarray(0, IV_BYTES)).setAAD(Buffer.from(aad, 'utf8'));
    d.setAuthTag(b.subarray(b.length - TAG_BYTES));
    return Buffer.concat([d.update(b.subarray(IV_BYTES, b.length - TAG_BYTES)), d.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}
