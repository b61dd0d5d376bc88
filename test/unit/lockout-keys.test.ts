/**
 * The keys the lockout counts under: spellings of a username that directories compare as one user share a
 * key (or an attacker gets a fresh budget per spelling), and an IPv6 client is counted by its /64.
 */
import { expect, it } from '@jest/globals';
import { ipCounterKey } from '../../src/client-ip.js';
import { usernameKey } from '../../src/state/brute-force.js';

it('characters directories map to nothing (RFC 4518 2.2) do not make a new counter', () => {
  for (const c of ['\u00ad', '\u034f', '\u200b', '\u200d', '\u2060', '\ufe0f', '\ufeff']) expect(usernameKey(`ali${c}ce`)).toBe(usernameKey('alice'));
  expect(usernameKey('zoë müller')).not.toBe(usernameKey('zoëmüller'));
});

it('the counter key: IPv4 as is, IPv6 as its /64 whatever the spelling', () => {
  expect(ipCounterKey('192.0.2.7')).toBe('192.0.2.7');
  expect(ipCounterKey('2001:db8:1:2::a')).toBe('2001:db8:1:2::/64');
  expect(ipCounterKey('2001:0db8:0001:0002:ffff:0:0:1')).toBe('2001:db8:1:2::/64');
  expect(ipCounterKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
  expect(ipCounterKey('::1')).toBe('0:0:0:0::/64');
  expect(ipCounterKey('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
  expect(ipCounterKey('fe80:1:2:3:4:5:6:7')).toBe('fe80:1:2:3::/64');
});
