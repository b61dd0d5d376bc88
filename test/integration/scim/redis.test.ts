/**
 * SCIM 2.0 inbound with two replicas on one redis-server (issue 20, item 5; src/state/scim-store.ts): what an
 * IdP pushed to one replica is answered by the other (ids, filters, groups), userName stays unique without case
 * across replicas, a scheduled-style run on the other replica lists the same people and changes nothing the
 * push already did, and the applied changes are portal_account audit events.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { startPortalStub, type PortalStub } from '../../support/portal-stub.js';
import { startRedis, type TestRedis } from '../../support/redis.js';

const SECRET = 'scim-redis-admin-secret-0123456789';
const PORTAL_SECRET = 'portal-api-secret-for-scim-redis';
const TOKEN = 'portal-admin-token-for-scim-redis';
const SCIM_TOKEN = 'scim-bearer-token-for-redis-tests-0123456789';
let redis: TestRedis;
let portal: PortalStub;
let dir: string;
let developers: number;
const brokers: TestBroker[] = [];

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'scim-redis-'));
  [redis, portal] = await Promise.all([startRedis(), startPortalStub({ portalApiSecret: PORTAL_SECRET, adminToken: TOKEN })]);
  developers = portal.addTeam(portal.addOrganisation('Acme').ID, 'Developers').ID;
  await fs.writeFile(path.join(dir, 'scim.token'), SCIM_TOKEN, { mode: 0o600 });
  const profile = {
    ID: 'idp',
    ActionType: 'GenerateOrLoginDeveloperProfile',
    ProviderName: 'ProxyProvider',
    OrgID: '0',
    ReturnURL: `${portal.url}/sso`,
    IdentityHandlerConfig: { DashboardCredential: PORTAL_SECRET },
    ProviderConfig: { TargetHost: 'http://127.0.0.1:1/check', OKCode: 200, ExtractUserNameFromBasicAuthHeader: true },
    CustomUserGroupField: 'groups',
    UserGroupMapping: { Developers: 'Acme/Developers' },
    Membership: { Authority: 'idp' },
    Sync: { Source: 'scim', IntervalSeconds: 0, SCIM: { TokenFile: path.join(dir, 'scim.token') } },
  };
  for (let i = 0; i < 2; i++) {
    brokers.push(
      await startTestBroker({
        config: {
          Secret: SECRET,
          BackEnd: { Name: 'redis', KeyPrefix: 'tib:', IdentityBackendSettings: { Host: redis.host, Port: redis.port } },
          TykAPISettings: { DashboardConfig: { Endpoint: portal.endpoint, Port: portal.port, AdminSecret: '' }, PortalAPIConfig: { Endpoint: portal.url, AdminToken: TOKEN } },
          Audit: { Enabled: true, Path: path.join(dir, `audit-${i}.log`), Key: 'audit-key-for-scim-tests' },
        },
        profiles: [profile],
      }),
    );
  }
}, 60_000);
afterAll(async () => {
  await Promise.all(brokers.map((b) => b.close()));
  await portal?.close();
  await redis?.stop();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

const scim = (b: TestBroker, method: 'get' | 'post' | 'patch', p: string) => request(b.url)[method](`/scim/v2/idp${p}`).set('Authorization', `Bearer ${SCIM_TOKEN}`);
const audit = async (i: number) =>
  (await fs.readFile(path.join(dir, `audit-${i}.log`), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('two replicas on one Redis', () => {
  it('share the users and groups; userName is unique without case across them; a run agrees with the pushes', async () => {
    const [a, b] = brokers as [TestBroker, TestBroker];
    const user = await scim(a, 'post', '/Users').send({ userName: 'rita@example.org', name: { givenName: 'Rita', familyName: 'Redis' }, emails: [{ value: 'rita@example.org', type: 'work' }] });
    expect(user.status).toBe(201);
    const id = (user.body as { id: string }).id;
    expect(((await scim(b, 'get', '/Users?filter=userName%20eq%20%22RITA%40example.org%22')).body as { Resources: Array<{ id: string }> }).Resources.map((u) => u.id)).toEqual([id]);
    const dup = await scim(b, 'post', '/Users').send({ userName: 'Rita@Example.org' });
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ scimType: 'uniqueness' });

    const group = await scim(b, 'post', '/Groups').send({ displayName: 'Developers', members: [{ value: id }] });
    expect(group.status).toBe(201);
    const rita = [...portal.users.values()].find((u) => u.Email === 'rita@example.org');
    expect(rita).toMatchObject({ Active: true, Teams: [developers] });
    expect(((await scim(a, 'get', `/Groups/${(group.body as { id: string }).id}`)).body as { members: unknown }).members).toEqual([{ value: id }]);
    expect(await redis.cli('HLEN', 'tib:scim-users:idp')).toBe('1');

    // The other replica's run over the stored users finds nothing to change: the push did what a run would.
    const run = await request(a.url).post('/api/sync/idp?dryRun=true').set('Authorization', SECRET);
    expect(run.status).toBe(200);
    expect((run.body as { Data: { counts: Record<string, number> } }).Data.counts).toMatchObject({ create: 0, update: 0, unchanged: 1, deactivate: 0, delete: 0 });

    const off = await scim(a, 'patch', `/Users/${id}`).send({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] });
    expect(off.status).toBe(200);
    expect(portal.users.get(rita?.ID as number)?.Active).toBe(false);
    const events = [...(await audit(0)), ...(await audit(1))].filter((e) => e.event === 'portal_account').map((e) => e.outcome);
    expect(events).toEqual(expect.arrayContaining(['created', 'deactivated']));
  });
});
