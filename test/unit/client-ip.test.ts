/** The client address for per-IP limits: X-Forwarded-For believed only from trusted proxies (src/http/client-ip.ts). */
import { describe, expect, it } from '@jest/globals';
import { clientIp, normalizeIp, trustedProxyProblem, TrustedProxies } from '../../src/client-ip.js';

const none = new TrustedProxies([]);
const proxies = new TrustedProxies(['10.0.0.1', '10.1.0.0/16', 'fd00::/8', '2001:db8::1']);

describe('normalizeIp', () => {
  it('unwraps IPv4-mapped IPv6, lower-cases IPv6, drops zone ids', () => {
    expect(normalizeIp('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(normalizeIp('::FFFF:192.0.2.7')).toBe('192.0.2.7');
    expect(normalizeIp('2001:DB8::A')).toBe('2001:db8::a');
    expect(normalizeIp('fe80::1%eth0')).toBe('fe80::1');
    expect(normalizeIp(' 192.0.2.7 ')).toBe('192.0.2.7');
  });
});

describe('clientIp', () => {
  it('is the socket address when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(clientIp('192.0.2.7', '203.0.113.9', none)).toBe('192.0.2.7');
    expect(clientIp('::ffff:192.0.2.7', '203.0.113.9', none)).toBe('192.0.2.7');
    expect(clientIp('2001:db8::7', '203.0.113.9', none)).toBe('2001:db8::7');
  });

  it('ignores a spoofed X-Forwarded-For from an untrusted peer', () => {
    expect(clientIp('192.0.2.7', '10.0.0.1, 198.51.100.1', proxies)).toBe('192.0.2.7');
    expect(clientIp('::ffff:192.0.2.7', ['198.51.100.1'], proxies)).toBe('192.0.2.7');
  });

  it('from a trusted proxy, takes the right-most address no trusted proxy added', () => {
    expect(clientIp('10.0.0.1', '203.0.113.9', proxies)).toBe('203.0.113.9');
    expect(clientIp('::ffff:10.0.0.1', '203.0.113.9', proxies)).toBe('203.0.113.9');
    // The client prepended a lie; our two proxies (10.1.2.3 in 10.1.0.0/16, then 10.0.0.1) appended the truth.
    expect(clientIp('10.0.0.1', '1.2.3.4, 203.0.113.9, 10.1.2.3', proxies)).toBe('203.0.113.9');
    // Several headers are one list.
    expect(clientIp('10.0.0.1', ['1.2.3.4', '203.0.113.9, 10.1.2.3'], proxies)).toBe('203.0.113.9');
  });

  it('handles IPv6 proxies and clients, and ports some proxies append', () => {
    expect(clientIp('fd12::1', '2001:db8:1::5', proxies)).toBe('2001:db8:1::5');
    expect(clientIp('2001:db8::1', '[2001:db8:1::5]:4711', proxies)).toBe('2001:db8:1::5');
    expect(clientIp('10.0.0.1', '203.0.113.9:4711', proxies)).toBe('203.0.113.9');
    expect(clientIp('10.0.0.1', '::ffff:203.0.113.9', proxies)).toBe('203.0.113.9');
  });

  it('stops at garbage: the last trusted hop is the answer, never the garbage', () => {
    expect(clientIp('10.0.0.1', 'not-an-ip', proxies)).toBe('10.0.0.1');
    expect(clientIp('10.0.0.1', '203.0.113.9, unknown, 10.1.2.3', proxies)).toBe('10.1.2.3');
    expect(clientIp('10.0.0.1', '', proxies)).toBe('10.0.0.1');
    expect(clientIp('10.0.0.1', undefined, proxies)).toBe('10.0.0.1');
  });

  it('when every hop is a trusted proxy, the furthest one', () => {
    expect(clientIp('10.0.0.1', '10.1.0.9, 10.1.0.8', proxies)).toBe('10.1.0.9');
  });

  it('a socket without an address (closed) gives an empty key, not an exception', () => {
    expect(clientIp(undefined, '203.0.113.9', proxies)).toBe('');
  });
});

describe('trustedProxyProblem', () => {
  it('accepts addresses and CIDR blocks of both families', () => {
    for (const ok of ['10.0.0.1', '10.0.0.0/8', '0.0.0.0/0', '::1', 'fd00::/8', '2001:db8::/128']) expect(trustedProxyProblem(ok)).toBeUndefined();
  });

  it('refuses host names, ports, bad prefixes', () => {
    for (const bad of ['proxy.example.com', '10.0.0.1:80', '10.0.0.0/33', 'fd00::/129', '10.0.0.0/x', '10.0.0.0/8/8', '']) {
      expect(trustedProxyProblem(bad)).toEqual(expect.any(String));
    }
  });
});
