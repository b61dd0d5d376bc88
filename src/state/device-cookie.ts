/**
 * Device cookies (OWASP's "Slow Down Online Guessing Attacks with Device Cookies"): after a password login,
 * the browser gets a cookie that names a random device id for that user of that profile, MACed with a key
 * derived from TYK_IB_SESSION_SECRET. Presented again for the same user, it makes the brute-force guard count
 * that client on its own (state/brute-force.ts): others' failures cannot lock it out. It holds no user name
 * (the MAC covers the user's counter key) and grants nothing by itself: the password is still checked.
 */
import crypto from 'node:crypto';
import { MIN_SESSION_SECRET } from '../config/session-secret.js';
import { cookiePairs } from './cookie-header.js';

export const DEVICE_COOKIE = 'tib_device';
/** How long a browser stays recognised after its last password login. */
export const DEVICE_COOKIE_SECONDS = 30 * 24 * 3600;

export class DeviceCookies {
  private readonly key: Buffer;

  /** Undefined without a session secret long enough to key a MAC (config/session-secret.ts): no device cookies then. */
  static from(sessionSecret: string, profileId: string): DeviceCookies | undefined {
    return sessionSecret.length >= MIN_SESSION_SECRET ? new DeviceCookies(sessionSecret, profileId) : undefined;
  }

  private constructor(
    secret: string,
    private readonly profileId: string,
  ) {
    this.key = Buffer.from(crypto.hkdfSync('sha256', secret, 'tib', 'tib device cookie v1', 32));
  }

  private mac(userKey: string, device: string, expires: number): string {
    return crypto.createHmac('sha256', this.key).update(`${this.profileId}\n${userKey}\n${device}\n${expires}`).digest('base64url');
  }

  /** The device id a cookie in `cookieHeader` proves for `userKey` (brute-force.ts usernameKey), or undefined. */
  open(cookieHeader: string | undefined, userKey: string, now = Date.now()): string | undefined {
    for (const [name, value] of cookiePairs(cookieHeader)) {
      if (name !== DEVICE_COOKIE) continue;
      const [device = '', exp = '', mac = '', extra] = value.split('.');
      if (extra !== undefined || !/^[A-Za-z0-9_-]{22}$/.test(device) || !/^\d{1,15}$/.test(exp) || Number(exp) <= now) continue;
      const given = Buffer.from(mac);
      const expected = Buffer.from(this.mac(userKey, device, Number(exp)));
      if (given.length === expected.length && crypto.timingSafeEqual(given, expected)) return device;
    }
    return undefined;
  }

  /** A cookie value for `userKey`: the device id it already proved (renewed), or a new one. */
  issue(userKey: string, device = crypto.randomBytes(16).toString('base64url'), now = Date.now()): string {
    const expires = now + DEVICE_COOKIE_SECONDS * 1000;
    return `${device}.${expires}.${this.mac(userKey, device, expires)}`;
  }
}
