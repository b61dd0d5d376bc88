/**
 * A flood of unauthenticated login starts (issue 8 item 5): 200 000 starts at one SocialProvider profile, run
 * through the real provider and the real in-memory flow store (the HTTP layer adds nothing to what is stored,
 * and 200 000 HTTP requests would take minutes). The store stays at its per-profile cap, the heap stays
 * bounded, another profile's login started before the flood still completes its callback, the flood's
 * oldest flow is gone, and the operator gets one rate-limited WARN naming the profile, no state or cookie.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { defaultConfig } from '../../src/config/load.js';
import { validateProfile } from '../../src/profiles/validate.js';
import type { Profile } from '../../src/profiles/profile.js';
import type { LoginRequest, ProviderOutcome } from '../../src/providers/provider.js';
import { builtinProviders } from '../../src/providers/registry.js';
import { createServices, type Services } from '../../src/services.js';
import { MemoryFlowStateStore } from '../../src/state/flow-state.js';
import { captureLogs } from '../support/logs.js';
import { FIRST } from '../support/rules.js';

const STARTS = 200_000;
const SECRET = 'session-secret-for-flood-tests-0123456789';

function profile(id: string) {
  const { profile: p, problems } = validateProfile({
    ID: id,
    OrgID: 'org-1',
    ActionType: 'GenerateOrLoginUserProfile',
    ProviderName: 'SocialProvider',
    ReturnURL: 'http://127.0.0.1:1/tap',
    ProviderConfig: {
      CallbackBaseURL: 'http://127.0.0.1:1',
      // Starting a digitalocean login (no PKCE) needs no network; its token endpoint is closed (connection refused).
      UseProviders: [{ Name: 'digitalocean', Key: 'client-id', Secret: 'client-secret', TokenURL: 'http://127.0.0.1:1/token' }],
    },
  }, FIRST);
  expect(problems).toEqual([]);
  return p!;
}

/** The two things of a request and response that the social provider reads and writes. */
function exchange(opts: { cookie?: string; url?: string } = {}) {
  const url = new URL(opts.url ?? '/', 'http://127.0.0.1:1');
  let cookie = opts.cookie ?? '';
  const req = {
    header: (name: string) => (name.toLowerCase() === 'cookie' ? opts.cookie : undefined),
    query: Object.fromEntries(url.searchParams),
    url: `${url.pathname}${url.search}`,
    setCookie: (name: string, value: string) => void (cookie = `${name}=${value}`),
  } as unknown as LoginRequest;
  return { req, cookie: () => cookie };
}

const stateOf = (o: ProviderOutcome) => (o.kind === 'redirect' ? (new URL(o.url).searchParams.get('state') ?? '') : '');
const reasonOf = (o: ProviderOutcome) => (o.kind === 'failure' ? o.failure.reason : o.kind);

/** A full collection, when the VM allows turning gc on (it does on Node 20+; otherwise the heap check is coarser). */
function collect(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

let store: MemoryFlowStateStore;
let services: Services | undefined;
let logs: ReturnType<typeof captureLogs>;

beforeAll(() => {
  logs = captureLogs();
  store = new MemoryFlowStateStore();
});
afterAll(async () => {
  await store.close();
  await services?.close();
  logs.stop();
});

describe('200 000 login starts at one profile', () => {
  it('keep the store at its per-profile cap and the heap bounded; other profiles keep working', async () => {
    services = await createServices({ ...defaultConfig(), SessionSecret: SECRET }, { connect: false });
    const deps = { ...services.provider, flowState: store };
    const build = (p: Profile) => builtinProviders.of(p).create(builtinProviders.providerProfile(p), deps);
    const flooded = build(profile('flooded'));
    const other = build(profile('other'));

    // A real user of another profile starts a login before the flood and comes back after it.
    const user = exchange();
    const userState = stateOf(await other.start(user.req, 'digitalocean'));
    expect(userState).not.toBe('');

    // The flood: one client, one cookie, as a script would.
    const first = exchange();
    const firstState = stateOf(await flooded.start(first.req, 'digitalocean'));
    const cookie = first.cookie();
    collect();
    const heapBefore = process.memoryUsage().heapUsed;
    for (let i = 1; i < STARTS; i++) {
      const { req } = exchange({ cookie });
      const out = await flooded.start(req, 'digitalocean');
      if (out.kind !== 'redirect') throw new Error(`start ${i} failed: ${reasonOf(out)}`);
    }
    collect();
    const grownMb = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;

    // 10 000 of the flood (the per-profile default) and the other profile's one.
    expect(store.size).toBe(10_000 + 1);
    // Unbounded, the 200 000 flows kept ~100 MB; the capped store's 10 000 take ~7 MB. Coarse on purpose.
    expect(grownMb).toBeLessThan(40);

    // The flood's oldest flow was evicted: its callback ends like an expired one.
    const back = exchange({ cookie, url: `/auth/flooded/digitalocean/callback?code=c&state=${firstState}` });
    expect(reasonOf(await flooded.callback(back.req, 'digitalocean'))).toBe('unknown, expired or already used state');
    // The other profile's user got through the state and browser checks, on to the (closed) token endpoint.
    const userBack = exchange({ cookie: user.cookie(), url: `/auth/other/digitalocean/callback?code=c&state=${userState}` });
    expect(reasonOf(await other.callback(userBack.req, 'digitalocean'))).toMatch(/^token endpoint unreachable/);

    await flooded.close();
    await other.close();
  }, 60_000);

  it('tell the operator once, with the profile, never a state, nonce or cookie', () => {
    const warnings = logs.lines.filter((l) => l.includes('login flow store full'));
    // Reported at the first eviction, then at most once a minute (this run is well under one).
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/WARN/i);
    expect(warnings[0]).toContain('flooded');
    expect(warnings[0]).not.toMatch(/[\w-]{43}/); // no state, nonce, verifier or cookie value
  });
});
