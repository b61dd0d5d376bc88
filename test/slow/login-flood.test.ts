/**
 * A flood of unauthenticated login starts: 100 000 starts at one SocialProvider profile, run through the real
 * provider with the broker's services on a real redis-server (`BackEnd.Name: "redis"`). The HTTP layer adds
 * nothing to what is stored (and its per-client start limit would stop the flood early). Each flow lives in
 * its own sealed cookie (src/state/login-flow-cookie.ts), so Redis's key count does not move, the heap after
 * a full collection is where it was, and a login started before the flood, at the same profile, completes
 * its callback after it (it gets past the state and cookie checks to the token endpoint).
 */
import fs from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { defaultConfig } from '../../src/config/load.js';
import { validateProfile } from '../../src/profiles/validate.js';
import type { LoginRequest, ProviderOutcome } from '../../src/providers/provider.js';
import { builtinProviders } from '../../src/providers/registry.js';
import { createServices, type Services } from '../../src/services.js';
import { captureLogs } from '../support/logs.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { FIRST } from '../support/rules.js';

const STARTS = 100_000;
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
  let cookie = '';
  const req = {
    header: (name: string) => (name.toLowerCase() === 'cookie' ? opts.cookie : undefined),
    query: Object.fromEntries(url.searchParams),
    url: `${url.pathname}${url.search}`,
    setCookie: (name: string, value: string, o: { maxAgeSeconds: number }) => void (o.maxAgeSeconds > 0 && (cookie = `${name}=${value}`)),
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

let redis: TestRedis;
let services: Services | undefined;
let logs: ReturnType<typeof captureLogs>;

beforeAll(async () => {
  logs = captureLogs();
  redis = await startRedis();
});
afterAll(async () => {
  await services?.close();
  await redis?.stop();
  if (redis) fs.rmSync(redis.dir, { recursive: true, force: true });
  logs.stop();
});

describe('100 000 login starts at one profile', () => {
  it('leave Redis and the heap where they were; a login started before the flood completes after it', async () => {
    const config = { ...defaultConfig(), SessionSecret: SECRET };
    config.BackEnd = { ...config.BackEnd, Name: 'redis', IdentityBackendSettings: { ...config.BackEnd.IdentityBackendSettings, Host: '127.0.0.1', Port: redis.port } };
    services = await createServices(config, { connect: true });
    const flooded = await builtinProviders.createProvider(profile('flooded'), services.provider);
    const keysBefore = await redis.cli('DBSIZE');

    // A real user starts a login at the flooded profile before the flood and comes back after it.
    const user = exchange();
    const userState = stateOf(await flooded.start(user.req, 'digitalocean'));
    expect(userState).not.toBe('');

    // The flood: one client that keeps no cookies, as a script would.
    collect();
    const heapBefore = process.memoryUsage().heapUsed;
    for (let i = 0; i < STARTS; i++) {
      const { req } = exchange();
      const out = await flooded.start(req, 'digitalocean');
      if (out.kind !== 'redirect') throw new Error(`start ${i} failed: ${reasonOf(out)}`);
    }
    collect();
    const grownMb = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;

    // Nothing stored: the old in-memory store kept ~7 MB for its 10 000 capped flows, Redis 424 bytes a start.
    expect(await redis.cli('DBSIZE')).toBe(keysBefore);
    expect(grownMb).toBeLessThan(4);

    // The user's login got through the state and browser checks, on to the (closed) token endpoint.
    const userBack = exchange({ cookie: user.cookie(), url: `/auth/flooded/digitalocean/callback?code=c&state=${userState}` });
    expect(reasonOf(await flooded.callback(userBack.req, 'digitalocean'))).toMatch(/^token endpoint unreachable/);
    // And still nothing in Redis: a callback that fails verification writes no replay mark.
    expect(await redis.cli('DBSIZE')).toBe(keysBefore);

    await flooded.close();
  }, 120_000);

  it('log no state, nonce or cookie', () => {
    expect(logs.lines.filter((l) => /[\w-]{43}/.test(l) && !l.includes('Redis'))).toEqual([]);
  });
});
