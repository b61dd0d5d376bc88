import { describe, expect, it } from '@jest/globals';
import { BindTiming, DEFAULT_FALLBACK_MS } from '../../src/providers/ldap/ldap-timing.js';

/** A fixed sequence of "random" numbers. */
const randoms = (...xs: number[]) => () => xs.shift() ?? 0;

describe('BindTiming: how long a refusal that checked no password waits', () => {
  it('before any measured bind: the fallback, less what was already spent', () => {
    const t = new BindTiming({ maxMs: 10_000 });
    expect(t.padding(0)).toBe(DEFAULT_FALLBACK_MS);
    expect(t.padding(30)).toBe(DEFAULT_FALLBACK_MS - 30);
    expect(new BindTiming({ maxMs: 10_000, fallbackMs: 250 }).padding(50)).toBe(200);
  });

  it('draws one of the recorded durations at random, less what was already spent, never below zero', () => {
    const t = new BindTiming({ maxMs: 10_000, random: randoms(0, 0.5, 0.99, 0.99) });
    [100, 200, 300].forEach((ms) => t.record(ms));
    expect(t.padding(10)).toBe(90);
    expect(t.padding(10)).toBe(190);
    expect(t.padding(10)).toBe(290);
    expect(t.padding(400)).toBe(0);
  });

  it('keeps only the most recent samples (bounded memory), so it follows the directory', () => {
    const t = new BindTiming({ maxMs: 10_000, capacity: 3, random: randoms(0, 0.4, 0.7) });
    for (let i = 1; i <= 1000; i++) t.record(i);
    expect(t.size).toBe(3);
    // Slots hold 1000, 998, 999 (the ring wrapped): every draw is one of the three most recent.
    expect([t.padding(0), t.padding(0), t.padding(0)].sort()).toEqual([1000, 998, 999].sort());
  });

  it('caps the wait (a bind measured during a stall must not stall every refusal) and ignores nonsense', () => {
    const t = new BindTiming({ maxMs: 500 });
    t.record(60_000);
    t.record(Number.NaN);
    t.record(-5);
    expect(t.size).toBe(1);
    expect(t.padding(100)).toBe(400);
  });
});
