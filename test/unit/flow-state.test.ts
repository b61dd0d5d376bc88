/**
 * The in-memory login flow store (issue 8 item 5): single use, TTL, and its caps: the oldest flow of the same
 * profile goes first, then the oldest of all; evictions are reported at most once a minute, without keys.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { getLogger } from '../../src/log.js';
import { MemoryFlowStateStore } from '../../src/state/flow-state.js';
import { captureLogs } from '../support/logs.js';

let clock = 0;
const stores: MemoryFlowStateStore[] = [];
function store(opts: { maxEntries?: number; maxPerGroup?: number } = {}) {
  const s = new MemoryFlowStateStore({ ...opts, now: () => clock, log: getLogger('FLOW STATE') });
  stores.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  clock = 0;
});

describe('MemoryFlowStateStore', () => {
  it('gives a value once, a copy, and nothing after its TTL', async () => {
    const s = store();
    const value = { a: 1 };
    await s.put('k', value, 10);
    value.a = 2;
    expect(await s.take('k')).toEqual({ a: 1 });
    expect(await s.take('k')).toBeUndefined();
    await s.put('k2', 'v', 10);
    clock = 10_000;
    expect(await s.take('k2')).toBeUndefined();
    expect(s.size).toBe(0);
  });

  it("a full profile loses its own oldest flow, not another profile's", async () => {
    const s = store({ maxEntries: 100, maxPerGroup: 3 });
    await s.put('b1', 'b1', 60, 'B');
    for (const k of ['a1', 'a2', 'a3', 'a4', 'a5']) await s.put(k, k, 60, 'A');
    expect(s.size).toBe(4);
    expect(await s.take('a1')).toBeUndefined();
    expect(await s.take('a2')).toBeUndefined();
    expect(await s.take('b1')).toBe('b1');
    expect(await s.take('a3')).toBe('a3');
    expect(await s.take('a5')).toBe('a5');
  });

  it('a full store loses its oldest flow of all', async () => {
    const s = store({ maxEntries: 3, maxPerGroup: 3 });
    await s.put('a1', 1, 60, 'A');
    await s.put('b1', 2, 60, 'B');
    await s.put('a2', 3, 60, 'A');
    await s.put('c1', 4, 60, 'C');
    expect(s.size).toBe(3);
    expect(await s.take('a1')).toBeUndefined();
    expect([await s.take('b1'), await s.take('a2'), await s.take('c1')]).toEqual([2, 3, 4]);
  });

  it('putting a key again replaces it, and taken keys free their place', async () => {
    const s = store({ maxEntries: 2, maxPerGroup: 2 });
    await s.put('x', 1, 60, 'A');
    await s.put('x', 2, 60, 'A');
    await s.put('y', 3, 60, 'A');
    expect(s.size).toBe(2);
    expect(await s.take('x')).toBe(2);
    await s.put('z', 4, 60, 'A');
    expect([await s.take('y'), await s.take('z')]).toEqual([3, 4]);
  });

  it('reports evictions with a WARN at most once a minute, with counts per profile and no keys', async () => {
    const logs = captureLogs();
    try {
      const s = store({ maxEntries: 10, maxPerGroup: 2 });
      const key = (i: number) => `tib-flow:secret-state-${i}`;
      for (let i = 0; i < 50; i++) await s.put(key(i), { nonce: `secret-nonce-${i}` }, 600, 'flooded');
      const warn = () => logs.lines.filter((l) => l.includes('login flow store full'));
      expect(warn()).toHaveLength(1); // the first eviction, at once
      expect(warn()[0]).toContain('1 unfinished login(s) evicted');
      clock = 61_000;
      await s.put(key(50), {}, 600, 'flooded');
      expect(warn()).toHaveLength(2);
      expect(warn()[1]).toContain('48 unfinished login(s) evicted');
      expect(warn()[1]).toContain('"flooded":48');
      expect(warn().join('\n')).not.toMatch(/secret-(state|nonce)/);
      // Expired flows pushed out are no news: the clock is past every TTL.
      clock = 2_000_000;
      for (let i = 0; i < 2; i++) await s.put(key(100 + i), {}, 600, 'flooded');
      expect(warn()).toHaveLength(2);
    } finally {
      logs.stop();
    }
  });
});
