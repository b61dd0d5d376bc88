/**
 * A provider module written outside src/ and registered through `createBroker({ providers })` gets what TIB's
 * own providers get from their modules (docs/embedding.md): its secret masked in every log line, the hosts it
 * names checked against AllowedIdPHosts at load time, claims explained by its own identity function (the one
 * its logins use), and its failures counted in /metrics with its own classes. The "badge service" it calls is
 * a real HTTP server on loopback.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { createBroker, ProviderSetupError, StartupError, type Identity, type ProviderModule } from '../../../src/broker.js';
import { defaultConfig } from '../../../src/config/load.js';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { metricValue, parseMetrics, type Sample } from '../../support/prometheus.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const API_KEY = 'badge-service-api-key-0123456789';
const CRED = 'dashboard-credential-for-module-tests';
const ADMIN = 'dashboard-admin-secret-for-module-tests';
const SECRET = 'admin-api-secret-for-module-tests';

interface BadgeConfig {
  BadgeServer: string;
  ApiKey: string;
}

/** The badge service's answer as an identity: the one function the login and explain both use. */
function badgeIdentity(claims: Record<string, unknown>): Identity {
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  return { userId: text(claims.badge_id), email: text(claims.mail), displayName: text(claims.name), firstName: '', lastName: '', raw: claims, provider: 'BadgeProvider' };
}

const badgeModule: ProviderModule<BadgeConfig> = {
  name: 'BadgeProvider',
  readConfig: (r) => {
    const c = { BadgeServer: r.url('BadgeServer', true), ApiKey: r.string('ApiKey') };
    if (c.ApiKey === '') r.error('ApiKey', 'is required');
    return c;
  },
  outboundHosts: (c) => (URL.canParse(c.BadgeServer) ? [{ field: 'ProviderConfig.BadgeServer', host: new URL(c.BadgeServer).hostname }] : []),
  secrets: (c) => [c.ApiKey],
  identityFromClaims: (_p, claims) => badgeIdentity(claims),
  failureClasses: { unreachable: 'upstream_error', refused: 'bad_request' },
  create: ({ config }, services) => {
    if (!config.BadgeServer.startsWith('http')) throw new ProviderSetupError('BadgeServer must be http(s)');
    const login = async (req: { query: Readonly<Record<string, unknown>> }) => {
      const badge = typeof req.query.badge === 'string' ? req.query.badge : '';
      // An embedder's careless debug line: the broker masks the key it declared secret.
      services.log.debug(`asking ${config.BadgeServer} with key ${config.ApiKey}`);
      let res: Response;
      try {
        res = await fetch(`${config.BadgeServer}/badges/${encodeURIComponent(badge)}`, { headers: { 'X-Api-Key': config.ApiKey }, signal: AbortSignal.timeout(2000) });
      } catch (err) {
        return { kind: 'failure' as const, failure: { reason: `badge service unreachable: ${String(err)}`, status: 502, message: 'Login failed' } };
      }
      if (res.status === 404) return { kind: 'failure' as const, failure: { reason: 'no such badge', status: 401, message: 'Login failed' } };
      return { kind: 'identity' as const, identity: badgeIdentity((await res.json()) as Record<string, unknown>) };
    };
    return { start: login, callback: login, close: async () => undefined };
  },
};

let badges: http.Server;
let badgeUrl: string;
const seenKeys: string[] = [];
let stub: TykStub;
let b: TestBroker;

function profile(id: string, server: string) {
  return {
    ID: id,
    ActionType: 'GenerateOrLoginUserProfile',
    ProviderName: 'BadgeProvider',
    OrgID: 'org-1',
    ReturnURL: `${stub.url}/tap`,
    IdentityHandlerConfig: { DashboardCredential: CRED },
    CustomUserGroupField: 'groups',
    UserGroupMapping: { engineers: 'tyk-engineers' },
    ProviderConfig: { BadgeServer: server, ApiKey: API_KEY },
  };
}

async function metrics(): Promise<Sample[]> {
  const res = await request(b.url).get('/metrics').set('Authorization', SECRET);
  expect(res.status).toBe(200);
  return parseMetrics(res.text);
}

beforeAll(async () => {
  badges = http.createServer((req, res) => {
    seenKeys.push(String(req.headers['x-api-key']));
    if (req.url !== '/badges/b-1') return void res.writeHead(404).end();
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ badge_id: 'b-1', mail: 'ada@example.com', name: 'Ada', groups: ['engineers'] }));
  });
  await new Promise<void>((resolve) => badges.listen(0, '127.0.0.1', resolve));
  badgeUrl = `http://127.0.0.1:${(badges.address() as AddressInfo).port}`;
  stub = await startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN });
  b = await startTestBroker({
    providers: [badgeModule],
    config: { Secret: SECRET, TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } } },
    // A closed port: the badge service of "badge-down" is unreachable.
    profiles: [profile('badge', badgeUrl), profile('badge-down', 'http://127.0.0.1:1')],
  });
});

afterAll(async () => {
  await b?.close();
  await stub?.close();
  await new Promise((resolve) => badges?.close(resolve));
});

describe('a provider module registered by an embedder', () => {
  it('logs in through it, its secret masked in every log line', async () => {
    const res = await request(b.url).get('/auth/badge/BadgeProvider?badge=b-1');
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe(`${stub.url}/tap?nonce=${stub.issuedNonces.at(-1)}`);
    expect(stub.requests.at(-1)?.body).toMatchObject({ EmailAddress: 'ada@example.com', GroupID: 'tyk-engineers' });
    expect(seenKeys).toContain(API_KEY);
    const logs = b.logs.join('\n');
    expect(logs).toContain(`asking ${badgeUrl} with key [redacted]`);
    expect(logs).not.toContain(API_KEY);
  });

  it('explains claims with its own identity function', async () => {
    const res = await request(b.url).post('/api/profiles/badge/explain').set('Authorization', SECRET).send({ badge_id: 'b-7', mail: 'bo@example.com', groups: ['engineers'] });
    expect(res.status).toBe(200);
    expect(res.body.Data).toMatchObject({ outcome: 'allowed', provider: 'BadgeProvider', identity: { userId: 'b-7', email: 'bo@example.com' }, teams: [{ team: 'tyk-engineers' }] });
  });

  it('counts its failures with its own classes', async () => {
    const before = await metrics();
    expect((await request(b.url).get('/auth/badge/BadgeProvider?badge=nobody')).status).toBe(401);
    expect((await request(b.url).get('/auth/badge-down/BadgeProvider?badge=b-1')).status).toBe(502);
    const after = await metrics();
    const delta = (profileId: string, reason: string) =>
      metricValue(after, 'tib_logins_total', { profile: profileId, provider: 'BadgeProvider', outcome: 'failure', reason }) -
      metricValue(before, 'tib_logins_total', { profile: profileId, provider: 'BadgeProvider', outcome: 'failure', reason });
    expect(delta('badge', 'bad_credentials')).toBe(1);
    // A 502 of this module is "upstream_error" (its failureClasses), not the default "idp_error".
    expect(delta('badge-down', 'upstream_error')).toBe(1);
  });

  it('has its hosts checked against AllowedIdPHosts and its config read at load time', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'module-hosts-'));
    const profilesPath = path.join(dir, 'profiles.json');
    const load = async (profiles: unknown[]) => {
      await fs.writeFile(profilesPath, JSON.stringify(profiles));
      const config = { ...defaultConfig(), ProfileDir: dir, AllowedIdPHosts: ['badges.example.com'] };
      try {
        await (await createBroker({ config, profilesPath, watch: false, check: true, providers: [badgeModule] })).close();
        return '';
      } catch (err) {
        expect(err).toBeInstanceOf(StartupError);
        return String(err);
      }
    };
    try {
      expect(await load([profile('ok', 'https://badges.example.com')])).toBe('');
      expect(await load([profile('elsewhere', badgeUrl)])).toMatch(/profile "elsewhere" \(#1\): ProviderConfig\.BadgeServer: host "127\.0\.0\.1" is not in AllowedIdPHosts/);
      const noKey = { ...profile('nokey', 'https://badges.example.com'), ProviderConfig: { BadgeServer: 'https://badges.example.com', ApiKy: 'typo' } };
      expect(await load([noKey])).toMatch(/profile "nokey" \(#1\): ProviderConfig\.ApiKey: is required/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
