/**
 * Directory sync run by the broker (issue 20, item 3; src/sync/runner.ts, src/http/sync-api.ts): two replicas on
 * one redis-server, the real slapd and the portal stand-in. One runner at a time (the other answers 409 and the
 * portal sees one set of writes), a dry run writes nothing and lists the changes the next run applies, either
 * replica answers the last run, and each run is audited and counted.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { startPortalStub, type PortalStub } from '../../support/portal-stub.js';
import { startRedis, type TestRedis } from '../../support/redis.js';
import { changeGroupMembers, ldapProfile, startSlapd, SUFFIX, type Slapd } from '../../support/slapd.js';

const SECRET = 'sync-runner-admin-secret-0123456789';
const PORTAL_SECRET = 'portal-api-secret-for-sync';
const TOKEN = 'portal-admin-token-for-sync';
let redis: TestRedis;
let slapd: Slapd;
let portal: PortalStub;
let dir: string;
const brokers: TestBroker[] = [];

interface Change {
  kind: string;
  email?: string;
  account?: number;
  error?: string;
}
interface Report {
  startedAt: string;
  dryRun: boolean;
  counts: Record<string, number>;
  changes: Change[];
  errors: number;
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sync-runner-'));
  [redis, slapd, portal] = await Promise.all([startRedis(), startSlapd(), startPortalStub({ portalApiSecret: PORTAL_SECRET, adminToken: TOKEN })]);
  const acme = portal.addOrganisation('Acme');
  portal.addTeam(acme.ID, 'Developers');
  const profile = ldapProfile(slapd, {
    id: 'dev',
    returnUrl: `${portal.url}/sso`,
    credential: PORTAL_SECRET,
    profile: {
      ActionType: 'GenerateOrLoginDeveloperProfile',
      OrgID: '0',
      CustomUserGroupField: 'memberOf',
      UserGroupMapping: { [`cn=developers,ou=groups,${SUFFIX}`]: 'Acme/Developers' },
      Membership: { Authority: 'idp' },
      Sync: { Source: 'ldap', IntervalSeconds: 60, Deprovision: 'deactivate', MaxDeprovisionPercent: 50 },
    },
  });
  // A provider that cannot list its people (ProxyProvider has no Provider.people), synced on demand only.
  const proxied = {
    ID: 'proxied',
    ActionType: 'GenerateOrLoginDeveloperProfile',
    ProviderName: 'ProxyProvider',
    OrgID: '0',
    ReturnURL: `${portal.url}/sso`,
    IdentityHandlerConfig: { DashboardCredential: PORTAL_SECRET },
    ProviderConfig: { TargetHost: 'http://127.0.0.1:1/check', OKCode: 200, ExtractUserNameFromBasicAuthHeader: true },
    UserGroupMapping: { developers: 'Acme/Developers' },
    Membership: { Authority: 'idp' },
    Sync: { Source: 'ldap', IntervalSeconds: 0 },
  };
  for (let i = 0; i < 2; i++) {
    brokers.push(
      await startTestBroker({
        config: {
          Secret: SECRET,
          BackEnd: { Name: 'redis', KeyPrefix: 'tib:', IdentityBackendSettings: { Host: redis.host, Port: redis.port } },
          TykAPISettings: { DashboardConfig: { Endpoint: portal.endpoint, Port: portal.port, AdminSecret: '' }, PortalAPIConfig: { Endpoint: portal.url, AdminToken: TOKEN } },
          Audit: { Enabled: true, Path: path.join(dir, `audit-${i}.log`), Key: 'audit-key-for-sync-tests' },
        },
        profiles: [profile, proxied],
      }),
    );
  }
}, 60_000);
afterAll(async () => {
  await Promise.all(brokers.map((b) => b.close()));
  await portal?.close();
  await slapd?.stop();
  await redis?.stop();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

const post = (b: TestBroker, query = '') => request(b.url).post(`/api/sync/dev${query}`).set('Authorization', SECRET);
const writes = () => portal.adminCalls.filter((c) => c.method !== 'GET');
const shape = (r: Report) => r.changes.map((c) => `${c.kind} ${c.email ?? ''}`).sort();
const audit = async (i: number) =>
  (await fs.readFile(path.join(dir, `audit-${i}.log`), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('the sync admin API', () => {
  it('needs the admin Secret, and knows only profiles with a Sync block', async () => {
    const [a] = brokers as [TestBroker];
    expect((await request(a.url).post('/api/sync/dev')).status).toBe(401);
    expect((await request(a.url).get('/api/sync/dev').set('Authorization', 'wrong')).status).toBe(401);
    const missing = await request(a.url).post('/api/sync/nope').set('Authorization', SECRET);
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ Status: 'error', Error: 'profile "nope" does not exist or has no Sync block' });
    expect((await request(a.url).get('/api/sync/nope').set('Authorization', SECRET)).status).toBe(404);
  });

  it('a profile whose provider cannot list its people fails, naming it; on demand only, it has no next run', async () => {
    const [a] = brokers as [TestBroker];
    const res = await request(a.url).post('/api/sync/proxied').set('Authorization', SECRET);
    expect(res.status).toBe(502);
    expect(res.body).toEqual({ Status: 'error', Error: 'profile "proxied": its provider (ProxyProvider) cannot list its people, so it cannot be synced with Sync.Source "ldap"' });
    const got = await request(a.url).get('/api/sync/proxied').set('Authorization', SECRET);
    expect(got.body.Data).toMatchObject({ last: { outcome: 'failed' }, next: null });
  });
});

describe('directory sync across two replicas', () => {
  it('a dry run writes nothing and lists the very changes the next run (on the other replica) applies', async () => {
    const [a, b] = brokers as [TestBroker, TestBroker];
    portal.adminCalls.length = 0;
    const dry = await post(a, '?dryRun=true');
    expect(dry.status).toBe(200);
    const planned = dry.body.Data as Report;
    expect(planned.dryRun).toBe(true);
    expect(writes()).toEqual([]);
    expect(shape(planned)).toEqual(['create alice@example.org', 'create bob@example.org', 'create special@example.org', 'create zoe@example.org']);
    // A dry run is not the last run.
    expect((await request(b.url).get('/api/sync/dev').set('Authorization', SECRET)).body.Data.last).toBeNull();

    const applied = await post(b);
    expect(applied.status).toBe(200);
    const report = applied.body.Data as Report;
    expect(report.errors).toBe(0);
    expect(shape(report)).toEqual(shape(planned));
    const devs = [...portal.users.values()].filter((u) => u.Email.endsWith('@example.org'));
    expect(devs.map((u) => u.Email).sort()).toEqual(['alice@example.org', 'bob@example.org', 'special@example.org', 'zoe@example.org']);
    expect(devs.every((u) => u.Active && u.Teams.length === 1)).toBe(true);
    expect(portal.violations).toEqual([]);
  });

  it('two replicas asked at once: one runs, the other answers 409, and the portal sees one set of writes', async () => {
    const [a, b] = brokers as [TestBroker, TestBroker];
    await changeGroupMembers(slapd, 'developers', { add: ['carol'], remove: ['bob'] });
    portal.adminCalls.length = 0;
    // Slow reads keep the first run holding the lock while the second asks.
    portal.setAdminFault({ delayMs: 300, method: 'GET' });
    let answers;
    try {
      answers = await Promise.all([post(a), post(b)]);
    } finally {
      portal.setAdminFault('none');
    }
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
    const lost = answers.find((r) => r.status === 409);
    expect(lost?.body).toEqual({ Status: 'error', Error: 'another runner is syncing profile "dev" now' });
    const won = answers.find((r) => r.status === 200)?.body.Data as Report;
    const bob = [...portal.users.values()].find((u) => u.Email === 'bob@example.org');
    expect(won.changes.map((c) => c.kind).sort()).toEqual(['create', 'deactivate']);
    expect(won.changes.find((c) => c.kind === 'create')?.email).toBe('carol@example.org');
    expect(won.changes.find((c) => c.kind === 'deactivate')?.account).toBe(bob?.ID);
    // One creation of carol, one deactivation of bob: nothing written twice.
    expect(writes().filter((c) => c.method === 'POST')).toHaveLength(1);
    expect([...portal.users.values()].filter((u) => u.Email === 'carol@example.org')).toHaveLength(1);
    expect(bob?.Active).toBe(false);
    expect(writes().filter((c) => c.method === 'PUT' && c.path === `/portal-api/users/${bob?.ID}`)).toHaveLength(1);

    // Either replica answers the last run, whichever ran it; each plans its next run.
    for (const x of [a, b]) {
      const got = await request(x.url).get('/api/sync/dev').set('Authorization', SECRET);
      expect(got.status).toBe(200);
      expect(got.body.Data.last).toMatchObject({ profile: 'dev', startedAt: won.startedAt, outcome: 'ok', errors: 0, counts: won.counts });
      expect(got.body.Data.last.changes).toBeUndefined();
      expect(Date.parse(got.body.Data.next as string)).toBeGreaterThan(Date.now());
    }
  });

  it('each run is an audit event and each change a portal_account event without the email in clear; /metrics counts runs', async () => {
    const events = [...(await audit(0)), ...(await audit(1))];
    const runs = events.filter((e) => e.event === 'sync_run');
    expect(runs.some((e) => e.dryRun === true && e.outcome === 'ok')).toBe(true);
    expect(runs.filter((e) => e.dryRun === false && e.outcome === 'ok').length).toBeGreaterThanOrEqual(2);
    const accounts = events.filter((e) => e.event === 'portal_account');
    expect(accounts.map((e) => e.outcome)).toEqual(expect.arrayContaining(['created', 'deactivated']));
    expect(accounts.filter((e) => e.outcome === 'created').every((e) => typeof e.email === 'string' && (e.email as string).startsWith('hmac-sha256:'))).toBe(true);
    const text = (await fs.readFile(path.join(dir, 'audit-0.log'), 'utf8')) + (await fs.readFile(path.join(dir, 'audit-1.log'), 'utf8'));
    expect(text).not.toMatch(/@example\.org/);

    const metrics = await request(brokers[0]?.url as string).get('/metrics').set('Authorization', SECRET);
    expect(metrics.text).toMatch(/tib_sync_runs_total\{profile="dev",outcome="ok"\} [1-9]/);
    expect(metrics.text).toMatch(/tib_sync_changes_total\{profile="dev",kind="create"\} [1-9]/);
    expect(metrics.text).toMatch(/tib_sync_duration_seconds_count\{profile="dev"\} [1-9]/);
  });

  it('on its schedule: a replica started 58 s after the last run of any replica runs 5 s after its start, once', async () => {
    const last = { profile: 'dev', startedAt: new Date(Date.now() - 58_000).toISOString(), seconds: 1, outcome: 'ok', errors: 0 };
    await redis.cli('SET', 'tib:sync-last:dev', JSON.stringify(last));
    const c = await startTestBroker({ config: brokers[0]?.config as TestBroker['config'], profiles: JSON.parse(await fs.readFile(brokers[0]?.profilesPath as string, 'utf8')) as unknown[] });
    try {
      const planned = await request(c.url).get('/api/sync/dev').set('Authorization', SECRET);
      expect(planned.body.Data.last).toEqual(last);
      const next = Date.parse(planned.body.Data.next as string);
      expect(next - Date.now()).toBeGreaterThan(3000);
      expect(next - Date.now()).toBeLessThanOrEqual(5000);
      const runs = async () => Number(/tib_sync_runs_total\{profile="dev",outcome="ok"\} (\d+)/.exec((await request(c.url).get('/metrics').set('Authorization', SECRET)).text)?.[1]);
      const before = await runs();
      await new Promise((r) => setTimeout(r, next - Date.now() + 2500));
      expect(await runs()).toBe(before + 1);
      const ran = await request(brokers[0]?.url as string).get('/api/sync/dev').set('Authorization', SECRET);
      expect(ran.body.Data.last).toMatchObject({ outcome: 'ok', errors: 0 });
      expect(Date.parse(ran.body.Data.last.startedAt as string)).toBeGreaterThanOrEqual(next);
      // The next turn is one interval after that run.
      const again = await request(c.url).get('/api/sync/dev').set('Authorization', SECRET);
      expect(Date.parse(again.body.Data.next as string)).toBeGreaterThan(Date.now() + 50_000);
    } finally {
      await c.close();
    }
  }, 20_000);

  it('a stop waits for the run under way: it finishes, is kept as the last run and releases the lock', async () => {
    await redis.cli('SET', 'tib:sync-last:dev', JSON.stringify({ profile: 'dev', startedAt: new Date(Date.now() - 58_000).toISOString(), seconds: 1, outcome: 'ok', errors: 0 }));
    const c = await startTestBroker({ config: brokers[0]?.config as TestBroker['config'], profiles: JSON.parse(await fs.readFile(brokers[0]?.profilesPath as string, 'utf8')) as unknown[] });
    let closed = false;
    try {
      // Slow portal reads: the scheduled run (5 s after the start) is still under way when the stop comes.
      portal.setAdminFault({ delayMs: 300, method: 'GET' });
      const until = Date.now() + 10_000;
      while ((await redis.cli('EXISTS', 'tib:sync-lock:dev')).trim() !== '1') {
        if (Date.now() > until) throw new Error('the scheduled run did not start');
        await new Promise((r) => setTimeout(r, 20));
      }
      await c.close();
      closed = true;
    } finally {
      portal.setAdminFault('none');
      if (!closed) await c.close();
    }
    expect((await redis.cli('EXISTS', 'tib:sync-lock:dev')).trim()).toBe('0');
    const last = JSON.parse(await redis.cli('GET', 'tib:sync-last:dev')) as { outcome: string; startedAt: string };
    expect(last.outcome).toBe('ok');
    expect(Date.parse(last.startedAt)).toBeGreaterThan(Date.now() - 15_000);
  }, 20_000);

  it('a portal that fails answers 502 with the reason, no secret in it, and is the last run', async () => {
    const [a, b] = brokers as [TestBroker, TestBroker];
    portal.setAdminFault('down');
    let res;
    try {
      res = await post(a);
    } finally {
      portal.setAdminFault('none');
    }
    expect(res.status).toBe(502);
    expect(res.body.Status).toBe('error');
    expect(res.body.Error).not.toContain(TOKEN);
    const got = await request(b.url).get('/api/sync/dev').set('Authorization', SECRET);
    expect(got.body.Data.last).toMatchObject({ outcome: 'failed', errors: 1 });
    const metrics = await request(a.url).get('/metrics').set('Authorization', SECRET);
    expect(metrics.text).toMatch(/tib_sync_runs_total\{profile="dev",outcome="failed"\} 1/);
    expect(metrics.text).toMatch(/tib_sync_errors_total\{profile="dev"\} [1-9]/);
  });
});

describe('profile changes', () => {
  it('re-plan the runs: a new IntervalSeconds moves the next run, IntervalSeconds 0 drops it', async () => {
    const [a] = brokers as [TestBroker];
    const put = async (interval: number) => {
      const current = (await request(a.url).get('/api/profiles/dev').set('Authorization', SECRET)).body.Data as Record<string, unknown>;
      const res = await request(a.url)
        .put('/api/profiles/dev')
        .set('Authorization', SECRET)
        .send({ ...current, Sync: { ...(current.Sync as object), IntervalSeconds: interval } });
      expect(res.status).toBe(200);
    };
    type State = { last: { startedAt: string }; next: string | null };
    // The change event re-plans asynchronously (one Redis read): asked until it shows, for at most 2 s.
    const state = async (done: (s: State) => boolean) => {
      for (let i = 0; ; i++) {
        const s = (await request(a.url).get('/api/sync/dev').set('Authorization', SECRET)).body.Data as State;
        if (done(s) || i >= 40) return s;
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await put(3600);
    const planned = await state((s) => s.next !== null && Date.parse(s.next) - Date.now() > 600_000);
    expect(Date.parse(planned.next as string)).toBe(Date.parse(planned.last.startedAt) + 3_600_000);
    await put(0);
    expect((await state((s) => s.next === null)).next).toBeNull();
  });
});
