/**
 * tib.conf LoginStartsPerMinute (issue 17, findings 1 and 2): redirect-login starts per client address and
 * minute, counted in memory (src/http/login-start-limit.ts), in a map that stays bounded whatever the
 * addresses; and the setting as the loader reads and checks it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { ConfigError, defaultConfig, loadConfig } from '../../src/config/load.js';
import { LoginStartLimit, MAX_TRACKED_CLIENTS } from '../../src/http/login-start-limit.js';

/** A clock the test moves. */
function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('LoginStartLimit', () => {
  it('lets a client start its limit per minute, then refuses with the seconds to its minute end, first once', () => {
    const c = clock();
    const limit = new LoginStartLimit(3, 100, c.now);
    for (let n = 0; n < 3; n++) expect(limit.take('192.0.2.1')).toBeUndefined();
    c.advance(20_000);
    expect(limit.take('192.0.2.1')).toEqual({ retryAfterSeconds: 40, first: true });
    c.advance(500);
    expect(limit.take('192.0.2.1')).toEqual({ retryAfterSeconds: 40, first: false });
    // Another client has its own budget.
    expect(limit.take('192.0.2.2')).toBeUndefined();
    // The minute over, the first client starts afresh (and is warned about again if it floods again).
    c.advance(40_000);
    for (let n = 0; n < 3; n++) expect(limit.take('192.0.2.1')).toBeUndefined();
    expect(limit.take('192.0.2.1')?.first).toBe(true);
  });

  it('counts an IPv6 /64 as one client, as the brute-force guard does', () => {
    const limit = new LoginStartLimit(2, 100, clock().now);
    expect(limit.take('2001:db8:1:2::1')).toBeUndefined();
    expect(limit.take('2001:db8:1:2:ffff::9')).toBeUndefined();
    expect(limit.take('2001:db8:1:2::77')).toBeDefined();
    expect(limit.take('2001:db8:1:3::1')).toBeUndefined();
  });

  it('0 is no limit, and tracks nobody', () => {
    const limit = new LoginStartLimit(0, 100, clock().now);
    const refused = Array.from({ length: 1000 }, () => limit.take('192.0.2.1')).filter((r) => r !== undefined);
    expect(refused).toEqual([]);
    expect(limit.size).toBe(0);
  });

  it('stays bounded under many addresses, dropping the oldest windows first', () => {
    // The broker's bound is MAX_TRACKED_CLIENTS; a smaller one here keeps the test fast.
    expect(MAX_TRACKED_CLIENTS).toBe(100_000);
    const bound = 2000;
    const c = clock();
    const limit = new LoginStartLimit(1, bound, c.now);
    let largest = 0;
    for (let n = 0; n < bound * 10; n++) {
      c.advance(1);
      limit.take(`10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`);
      largest = Math.max(largest, limit.size);
    }
    expect(largest).toBe(bound);
    expect(limit.size).toBe(bound);
    // The newest clients are still counted; the oldest were dropped (they start afresh, never refused for want of room).
    const newest = bound * 10 - 1;
    expect(limit.take(`10.${(newest >> 16) & 255}.${(newest >> 8) & 255}.${newest & 255}`)).toBeDefined();
    expect(limit.take('10.0.0.0')).toBeUndefined();
    // Ended windows are let go as new starts come in.
    c.advance(60_000);
    limit.take('192.0.2.1');
    expect(limit.size).toBe(1);
  });
});

describe('LoginStartsPerMinute in tib.conf', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'login-starts-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const conf = (content: unknown) => {
    const p = path.join(dir, 'tib.conf');
    fs.writeFileSync(p, JSON.stringify(content));
    return p;
  };
  const problems = (fn: () => unknown): string[] => {
    try {
      fn();
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    return [];
  };

  it('defaults to 600, is read from the file or TYK_IB_LOGINSTARTSPERMINUTE, 0 allowed (off)', () => {
    expect(defaultConfig().LoginStartsPerMinute).toBe(600);
    expect(loadConfig({ confPath: conf({ LoginStartsPerMinute: 0 }), env: {} }).config.LoginStartsPerMinute).toBe(0);
    expect(loadConfig({ confPath: conf({}), env: { TYK_IB_LOGINSTARTSPERMINUTE: '120' } }).config.LoginStartsPerMinute).toBe(120);
  });

  it('out of range is refused at load, naming the file and the field, or the variable', () => {
    expect(problems(() => loadConfig({ confPath: conf({ LoginStartsPerMinute: -1 }), env: {} }))).toEqual(['tib.conf: LoginStartsPerMinute: must be between 0 (no limit) and 1000000, got -1']);
    expect(problems(() => loadConfig({ confPath: conf({ LoginStartsPerMinute: 'many' }), env: {} }))).toEqual(['tib.conf: LoginStartsPerMinute: must be an integer, got string']);
    expect(problems(() => loadConfig({ confPath: conf({}), env: { TYK_IB_LOGINSTARTSPERMINUTE: '2000000' } }))).toEqual([
      'TYK_IB_LOGINSTARTSPERMINUTE: must be between 0 (no limit) and 1000000, got 2000000',
    ]);
  });
});
