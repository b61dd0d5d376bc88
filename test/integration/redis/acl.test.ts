/**
 * Redis users with narrow ACLs (docs/operations.md, the keys and channel the broker uses), against a real
 * redis-server 7: a user limited to BackEnd.KeyPrefix (`~tib:*`) cannot read TIB's unprefixed
 * `identity-cache.*` keys, which must not stop the token actions; a user without channel rights cannot
 * SUBSCRIBE to or PUBLISH on the profiles' change channel, which must be said (WARN, /ready 503), not left
 * to a deleted profile that keeps serving on the other replica until the periodic re-read.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { offlineLdapProfile } from '../../support/profiles.js';
import { startRedis, type TestRedis } from '../../support/redis.js';
import { ldapProfile, startSlapd, type Slapd } from '../../support/slapd.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const CRED = 'dashboard-credential-for-acl-tests';
const ADMIN = 'dashboard-admin-secret-for-acl-tests';
const SECRET = 'admin-api-secret-for-the-acl-tests-0123456789';
const PASSWORD = 'redis-acl-user-password';
const CHANNEL = 'tib:{profiles}:changed';

let redis: TestRedis;
let slapd: Slapd;
let stub: TykStub;
const open: TestBroker[] = [];

beforeAll(async () => {
  [redis, slapd, stub] = await Promise.all([startRedis(), startSlapd(), startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN })]);
  // Both limited to the prefix; "prefixed" may use every channel, "deaf" none (Redis 7's default for a new user).
  await redis.cli('ACL', 'SETUSER', 'prefixed', 'on', `>${PASSWORD}`, '~tib:*', '&*', '+@all');
  await redis.cli('ACL', 'SETUSER', 'deaf', 'on', `>${PASSWORD}`, '~tib:*', 'resetchannels', '+@all');
}, 60_000);

afterAll(async () => {
  await Promise.all(open.map((b) => b.close()));
  await stub?.close();
  await slapd?.stop();
  await redis?.stop();
});

const backEnd = (user: string) => ({ Name: 'redis' as const, KeyPrefix: 'tib:', IdentityBackendSettings: { Host: redis.host, Port: redis.port, Username: user, Password: PASSWORD } });

async function poll(cond: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a Redis user limited to the key prefix (~tib:*)', () => {
  it("token actions work: TIB's unprefixed identity-cache key (NOPERM) is no TIB record, said once with the ACL to add", async () => {
    const profile = ldapProfile(slapd, {
      id: 'key-acl',
      actionType: 'GenerateTemporaryAuthToken',
      returnUrl: `${stub.url}/app/cb`,
      credential: CRED,
      identityHandlerConfig: { TokenAuth: { BaseAPIID: 'api-base', Expires: 600 } },
      profile: { MatchedPolicyID: 'policy-1' },
    });
    const tyk = { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN }, GatewayConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: 'gw' }, Timeout: 2 };
    const b = await startTestBroker({ profiles: [profile], config: { TykAPISettings: tyk, BackEnd: backEnd('prefixed'), SessionSecret: SECRET } });
    open.push(b);
    const login = () => request(b.url).post('/auth/key-acl/ldap').type('form').send({ username: 'alice', password: 'alice-pass' });
    const first = await login();
    expect(first.status).toBe(302);
    expect(first.headers.location).toMatch(/#token=/);
    // One token per user still works on the prefixed keys: the second login deletes the first key.
    stub.reset();
    expect((await login()).status).toBe(302);
    expect(stub.deletedKeys).toHaveLength(1);
    const warnings = b.logs.filter((l) => l.includes('NOPERM'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('identity-cache.<profile>-<user>');
    expect(warnings[0]).toContain('~identity-cache.*');
  });
});

describe('a Redis user without the profiles channel', () => {
  it('the refused SUBSCRIBE and PUBLISH are logged once with the ACL rule, /ready answers 503 until the channel is allowed', async () => {
    const config = { Secret: SECRET, Storage: { storage_type: 'redis' }, BackEnd: backEnd('deaf') };
    const a = await startTestBroker({ profiles: [offlineLdapProfile('seed', { Name: '' }), offlineLdapProfile('gone', { Name: '' })], config: config as never });
    open.push(a);
    const b = await startTestBroker({ profiles: [], config: config as never });
    open.push(b);
    const del = await fetch(`${a.url}/api/profiles/gone`, { method: 'DELETE', headers: { Authorization: SECRET } });
    expect(del.status).toBe(200);

    for (const x of [a, b]) {
      const ready = await fetch(`${x.url}/ready`);
      expect(ready.status).toBe(503);
      const reason = ((await ready.json()) as { Error: string }).Error;
      expect(reason).toContain(CHANNEL);
      expect(reason).toContain(`&${CHANNEL}`);
    }
    // One WARN per replica (the log capture is process-wide: a's holds both), though a was refused both commands.
    const warnings = a.logs.filter((l) => l.includes('NOPERM') && l.includes(CHANNEL));
    expect(warnings).toHaveLength(2);
    for (const w of warnings) expect(w).toContain(`ACL SETUSER <user> &${CHANNEL}`);
    // a published and b listened: both are named in their own /ready.
    expect(((await (await fetch(`${a.url}/ready`)).json()) as { Error: string }).Error).toContain('PUBLISH');
    expect(((await (await fetch(`${b.url}/ready`)).json()) as { Error: string }).Error).toContain('SUBSCRIBE');

    // The channel allowed: both become ready at their next periodic re-read (15 s), without a restart.
    await redis.cli('ACL', 'SETUSER', 'deaf', `&${CHANNEL}`);
    expect(await poll(async () => (await fetch(`${a.url}/ready`)).status === 200 && (await fetch(`${b.url}/ready`)).status === 200, 20_000)).toBe(true);
  }, 40_000);
});
