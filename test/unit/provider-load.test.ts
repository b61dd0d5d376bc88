/**
 * ProviderModule.load (src/providers/registry.ts prepare): a provider's stack is imported when the first
 * profile that needs it is prepared, once however many profiles or callers ask at the same time, and again
 * after a failed import; a module with `create` needs no loading; one with neither is refused.
 */
import { describe, expect, it } from '@jest/globals';
import type { ProviderModule } from '../../src/providers/module.js';
import type { Provider } from '../../src/providers/provider.js';
import { ProviderRegistry } from '../../src/providers/registry.js';

const provider = { start: () => Promise.resolve({ kind: 'failure' }), close: () => Promise.resolve() } as unknown as Provider;

function counted(name: string, fail = 0) {
  const calls = { n: 0 };
  const module: ProviderModule = {
    name,
    load: () => {
      calls.n++;
      return calls.n <= fail ? Promise.reject(new Error('import failed')) : Promise.resolve(() => provider);
    },
  };
  return { module, calls };
}

describe('ProviderRegistry.prepare', () => {
  it('loads a stack once, when a profile first needs it, whoever asks at the same time', async () => {
    const badge = counted('BadgeProvider');
    const other = counted('OtherProvider');
    const registry = new ProviderRegistry([badge.module, other.module]);
    expect(registry.creator(badge.module)).toBeUndefined();
    await Promise.all([registry.prepare([{ ProviderName: 'BadgeProvider' }, { ProviderName: 'BadgeProvider' }]), registry.prepare([{ ProviderName: 'BadgeProvider' }])]);
    expect(badge.calls.n).toBe(1);
    expect(other.calls.n).toBe(0);
    expect(registry.creator(badge.module)?.({ profile: {} as never, config: {} }, {} as never)).toBe(provider);
    // Loaded: nothing to wait for.
    expect(registry.prepare([{ ProviderName: 'BadgeProvider' }])).toBeUndefined();
    expect(badge.calls.n).toBe(1);
  });

  it('a failed import is tried again by the next prepare', async () => {
    const badge = counted('BadgeProvider', 1);
    const registry = new ProviderRegistry([badge.module]);
    await expect(registry.prepare([{ ProviderName: 'BadgeProvider' }])).rejects.toThrow('import failed');
    await registry.prepare([{ ProviderName: 'BadgeProvider' }]);
    expect(badge.calls.n).toBe(2);
    expect(registry.creator(badge.module)).toBeDefined();
  });

  it('a module with create needs no loading; one with neither create nor load is refused', () => {
    const direct: ProviderModule = { name: 'DirectProvider', create: () => provider };
    const registry = new ProviderRegistry([direct]);
    expect(registry.prepare([{ ProviderName: 'DirectProvider' }])).toBeUndefined();
    expect(registry.creator(direct)?.({ profile: {} as never, config: {} }, {} as never)).toBe(provider);
    expect(() => new ProviderRegistry([{ name: 'EmptyProvider' }])).toThrow(/neither create nor load/);
  });
});
