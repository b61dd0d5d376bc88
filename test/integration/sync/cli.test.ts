/**
 * `identity-broker sync <profile>` (issue 20, item 3; src/cli/sync.ts), in-process as test/integration/portal/
 * check.test.ts runs `portal check`, against the real slapd, the portal stand-in (test/support/portal-stub.ts, its
 * admin API validated against the published OpenAPI document) and redis-server: the CLI is a process of its own,
 * so the accounts it manages live where the broker keeps them (BackEnd "redis"), as in production. The tests run
 * in order and share the directory and the portal; a test that moves people puts them back.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { runToolCommand } from '../../../src/cli/cli.js';
import type { CliIo } from '../../../src/cli/io.js';
import type { SyncReport } from '../../../src/sync/engine.js';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { startPortalStub, type PortalStub } from '../../support/portal-stub.js';
import { startRedis, type TestRedis } from '../../support/redis.js';
import { changeGroupMembers, freePort, ldapProfile, SERVICE_PW, SPECIAL_UID, startSlapd, SUFFIX, type Slapd } from '../../support/slapd.js';

const SECRET = 'sync-cli-portal-sso-secret';
const TOKEN = 'sync-cli-portal-admin-token';
let slapd: Slapd;
let portal: PortalStub;
let redis: TestRedis;
let broker: TestBroker;
let dir = '';
let conf = '';
let profilesFile = '';
const group = (cn: string) => `cn=${cn},ou=groups,${SUFFIX}`;
/** The people of the seeded directory in a mapped group (test/support/slapd.ts GROUPS), with a mail. */
const IN_SCOPE = ['alice@example.org', 'bob@example.org', 'special@example.org', 'zoe@example.org'];

/** A Portal SSO profile over the directory, "idp" membership, synced on demand. */
const profile = (id: string, sync: Record<string, unknown> = {}, providerConfig: Record<string, unknown> = {}, over: Record<string, unknown> = {}) =>
  ldapProfile(slapd, {
    id,
    returnUrl: `${portal.url}/sso`,
    credential: SECRET,
    profile: {
      ActionType: 'GenerateOrLoginDeveloperProfile',
      OrgID: '0',
      CustomUserGroupField: 'memberOf',
      UserGroupMapping: { [group('developers')]: 'Acme/Developers', [group('testers')]: 'Acme/Testers' },
      Membership: { Authority: 'idp', Teams: 'all' },
      Sync: { Source: 'ldap', IntervalSeconds: 0, Deprovision: 'deactivate', MaxDeprovisionPercent: 50, ...sync },
      ...over,
    },
    providerConfig: { LDAPTimeout: 3000, LDAPConnectTimeout: 1000, ...providerConfig },
  });

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sync-cli-'));
  [slapd, portal, redis] = await Promise.all([startSlapd(), startPortalStub({ portalApiSecret: SECRET, adminToken: TOKEN }), startRedis()]);
  const acme = portal.addOrganisation('Acme');
  portal.addTeam(acme.ID, 'Developers');
  portal.addTeam(acme.ID, 'Testers');
  // A portal admin made by hand and a password user: never touched.
  portal.addUser({ Email: 'admin@example.org', Role: 'admin' });
  portal.addUser({ Email: 'someone@example.net', Role: 'consumer-team-member' });
  const backEnd = { Name: 'redis' as const, KeyPrefix: 'tib:', IdentityBackendSettings: { Host: redis.host, Port: redis.port } };
  const tyk = { DashboardConfig: { Endpoint: portal.endpoint, Port: portal.port, AdminSecret: '' }, PortalAPIConfig: { Endpoint: portal.url, AdminToken: TOKEN } };
  conf = path.join(dir, 'tib.conf');
  await fs.writeFile(conf, JSON.stringify({ BackEnd: backEnd, TykAPISettings: tyk }));
  profilesFile = await profilesOf([profile('dev'), profile('dev-delete', { Deprovision: 'delete' }), profile('dev-brake', { MaxDeprovisionPercent: 10 })]);
  broker = await startTestBroker({ config: { BackEnd: backEnd, TykAPISettings: tyk, BruteForce: { UsernameLimit: 0, IPLimit: 0 } }, profiles: [profile('dev')] });
}, 60_000);
afterAll(async () => {
  await broker?.close();
  await portal?.close();
  await slapd?.stop();
  await redis?.stop();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  portal.setAdminFault('none');
  expect(portal.violations).toEqual([]);
});

async function profilesOf(profiles: unknown[]): Promise<string> {
  const sub = await fs.mkdtemp(path.join(dir, 'case-'));
  const p = path.join(sub, 'profiles.json');
  await fs.writeFile(p, JSON.stringify(profiles, null, 2));
  return p;
}

/** `identity-broker <argv>`, in-process. */
async function run(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => void out.push(t), err: (t) => void err.push(t), env };
  const code = await runToolCommand(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}
const sync = (id: string, ...flags: string[]) => run(['sync', id, '-c', conf, '-p', profilesFile, ...flags]);
async function syncJson(id: string, ...flags: string[]): Promise<{ code: number; report: SyncReport; err: string }> {
  const r = await sync(id, '--json', ...flags);
  return { code: r.code, report: JSON.parse(r.out) as SyncReport, err: r.err };
}

const writes = () => portal.adminCalls.filter((c) => c.method !== 'GET');
const accountOf = (email: string) => [...portal.users.values()].find((u) => u.Email === email);
const teamNames = (ids: number[] | undefined) => ids?.map((t) => portal.teams.get(t)?.Name).sort();
/** What a report says was (or would be) done, without the outcome. */
const done = (r: SyncReport) =>
  r.changes.map((c) => ({ kind: c.kind, email: c.email, fields: c.fields })).sort((a, b) => `${a.kind}${a.email}`.localeCompare(`${b.kind}${b.email}`));

describe('identity-broker sync: cannot run (exit 2)', () => {
  it('usage, an unknown profile, a profile without Sync, invalid profiles, a provider that cannot list people', async () => {
    expect((await run(['sync', '-c', conf, '-p', profilesFile])).code).toBe(2);
    expect(await sync('nope')).toEqual({ code: 2, out: '', err: `error: ${profilesFile} has no profile "nope"` });

    const noSync = { ...profile('plain'), Sync: undefined };
    const social = {
      ID: 'social',
      OrgID: '0',
      ActionType: 'GenerateOrLoginDeveloperProfile',
      ProviderName: 'SocialProvider',
      ReturnURL: `${portal.url}/sso`,
      IdentityHandlerConfig: { DashboardCredential: SECRET },
      ProviderConfig: { CallbackBaseURL: 'http://127.0.0.1:1', UseProviders: [{ Name: 'github', Key: 'k', Secret: 's' }] },
      UserGroupMapping: { developers: 'Acme/Developers' },
      Membership: { Authority: 'idp' },
      Sync: { Source: 'ldap' },
    };
    const p = await profilesOf([noSync, social]);
    const plain = await run(['sync', 'plain', '-c', conf, '-p', p]);
    expect(plain).toEqual({ code: 2, out: '', err: `error: ${p}: profile "plain" has no Sync block: nothing to sync (docs/portal-membership.md)` });
    const unlisted = await run(['sync', 'social', '-c', conf, '-p', p], { TYK_IB_SESSION_SECRET: 'sync-cli-session-secret-0123456789abcdef' });
    expect(unlisted).toEqual({ code: 2, out: '', err: `error: ${p}: profile "social": its provider (SocialProvider) cannot list its people, so it cannot be synced with Sync.Source "ldap"` });

    // A provider that cannot be built is named too (here: no session secret for its login cookie).
    const unusable = await run(['sync', 'social', '-c', conf, '-p', p]);
    expect(unusable.code).toBe(2);
    expect(unusable.err).toMatch(new RegExp(`error: ${p}: profile "social" cannot be used: .*TYK_IB_SESSION_SECRET`));

    const bad = await profilesOf([profile('dev', { Deprovision: 'sometimes' })]);
    const invalid = await run(['sync', 'dev', '-c', conf, '-p', bad]);
    expect(invalid.code).toBe(2);
    expect(invalid.err).toMatch(new RegExp(`^error: ${bad} has invalid profiles \\(nothing was synced\\):\\n.*profile "dev".*Sync\\.Deprovision`));
    expect(writes()).toEqual([]);
  });

  it('a directory that cannot be reached, a portal that is down, the lock held by another runner: the message, no secret', async () => {
    const closed = await profilesOf([profile('dev', {}, { LDAPPort: String(await freePort()) })]);
    const dirDown = await run(['sync', 'dev', '-c', conf, '-p', closed]);
    expect(dirDown.code).toBe(2);
    expect(dirDown.err).toMatch(/^error: profile "dev": the sync failed: the directory cannot list its people: .*ECONNREFUSED/);

    portal.setAdminFault('down');
    const portalDown = await sync('dev');
    expect(portalDown.code).toBe(2);
    expect(portalDown.err).toBe(`error: profile "dev": the sync failed (the portal at ${portal.url} cannot be asked): GET /portal-api/organisations: UND_ERR_SOCKET`);
    portal.setAdminFault('none');

    await redis.cli('SET', 'tib:sync-lock:dev', 'another-runner', 'PX', '60000');
    try {
      const held = await sync('dev');
      expect(held).toEqual({ code: 2, out: '', err: 'error: another runner (a broker replica or another sync command) is syncing profile "dev" now; try again when it has finished' });
    } finally {
      await redis.cli('DEL', 'tib:sync-lock:dev');
    }
    for (const r of [dirDown, portalDown]) expect(`${r.out}${r.err}`).not.toMatch(new RegExp(`${TOKEN}|${SERVICE_PW}`));
    expect(writes()).toEqual([]);
    // The lock is released after each run: the next one takes it.
    expect((await redis.cli('EXISTS', 'tib:sync-lock:dev')).trim()).toBe('0');
  });
});

describe('identity-broker sync: runs', () => {
  let planned: SyncReport;

  it('--dry-run prints the plan (counts, then each person, account and fields) and writes nothing', async () => {
    portal.adminCalls.length = 0;
    const before = portal.users.size;
    const text = await sync('dev', '--dry-run');
    expect(text.code).toBe(0);
    const lines = text.out.split('\n');
    expect(lines[0]).toMatch(/^sync "dev": dry run, nothing written; the plan: \d+ listed in the directory, \d+ out of scope/);
    expect(lines[1]).toBe('  create 4, update 0, unchanged 0, skipped 0, deactivate 0, delete 0, kept 0');
    for (const email of IN_SCOPE) expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^  create +${email}: .*Teams`)));
    const json = await syncJson('dev', '--dry-run');
    planned = json.report;
    expect({ code: json.code, dryRun: planned.dryRun, emails: planned.changes.map((c) => c.email).sort() }).toEqual({ code: 0, dryRun: true, emails: IN_SCOPE });
    expect(writes()).toEqual([]);
    expect(portal.users.size).toBe(before);

    // Without BackEnd "redis" the command shares nothing with the broker: it says so, and plans the same.
    const memoryConf = path.join(dir, 'memory.conf');
    await fs.writeFile(memoryConf, JSON.stringify({ TykAPISettings: { PortalAPIConfig: { Endpoint: portal.url, AdminToken: TOKEN } } }));
    const memory = await run(['sync', 'dev', '-c', memoryConf, '-p', profilesFile, '--dry-run']);
    expect({ code: memory.code, counts: memory.out.split('\n')[1] }).toEqual({ code: 0, counts: lines[1] });
    expect(memory.err).toMatch(/^note: tib\.conf keeps the broker's state in its own process \(BackEnd\.Name is not "redis"\): this run cannot see the accounts the broker manages/);
    expect(writes()).toEqual([]);
  });

  it('the run applies exactly the plan; a person it created signs in through the broker into the teams sync gave them', async () => {
    const { code, report } = await syncJson('dev');
    expect({ code, errors: report.errors, dryRun: report.dryRun }).toEqual({ code: 0, errors: 0, dryRun: false });
    expect(done(report)).toEqual(done(planned));
    // Kept as the profile's last run on Redis, as a scheduled run is (GET /api/sync/{profile} on any replica).
    const last = JSON.parse(await redis.cli('GET', 'tib:sync-last:dev')) as { outcome: string; startedAt: string; counts: { create: number } };
    expect({ outcome: last.outcome, startedAt: last.startedAt, created: last.counts.create }).toEqual({ outcome: 'ok', startedAt: report.startedAt, created: 4 });
    const bob = accountOf('bob@example.org');
    expect({ teams: teamNames(bob?.Teams), active: bob?.Active, role: bob?.Role }).toEqual({ teams: ['Developers', 'Testers'], active: true, role: 'consumer-team-member' });
    expect(teamNames(accountOf('alice@example.org')?.Teams)).toEqual(['Developers']);
    expect({ admin: accountOf('admin@example.org')?.Active, other: accountOf('someone@example.net')?.Active }).toEqual({ admin: true, other: true });

    // The next run finds everything as the directory says: nothing to write.
    portal.adminCalls.length = 0;
    const again = await sync('dev');
    expect({ code: again.code, counts: again.out.split('\n')[1] }).toEqual({ code: 0, counts: '  create 0, update 0, unchanged 4, skipped 0, deactivate 0, delete 0, kept 0' });
    expect(writes()).toEqual([]);

    // Issue 20, item 4: the portal finds the account by email and links the SSO key; no second account.
    const res = await request(broker.url).post('/auth/dev/ldap').type('form').send({ username: 'bob', password: 'bob-pass' });
    expect(res.status).toBe(302);
    expect((await fetch(res.headers.location as string)).status).toBe(200);
    expect(portal.landings.at(-1)).toMatchObject({ outcome: 'signed-in', userId: bob?.ID });
    expect([...portal.users.values()].filter((u) => u.Email === 'bob@example.org')).toHaveLength(1);
    expect({ teams: teamNames(bob?.Teams), keys: bob?.SsoKeys.length }).toEqual({ teams: ['Developers', 'Testers'], keys: 1 });
  });

  it('a directory move changes the teams at the next run', async () => {
    await changeGroupMembers(slapd, 'testers', { add: ['alice'] });
    try {
      const alice = accountOf('alice@example.org');
      const text = await sync('dev');
      expect(text.code).toBe(0);
      expect(text.out.split('\n')).toContain(`  update     alice@example.org account ${alice?.ID}: Teams`);
      expect(teamNames(alice?.Teams)).toEqual(['Developers', 'Testers']);
    } finally {
      await changeGroupMembers(slapd, 'testers', { remove: ['alice'] });
    }
    expect((await syncJson('dev')).report.counts.update).toBe(1); // moved back
  });

  it('a person removed from every mapped group is deactivated, and active again once back', async () => {
    const zoe = accountOf('zoe@example.org');
    await changeGroupMembers(slapd, 'developers', { remove: ['Zoë Müller'] });
    try {
      const text = await sync('dev');
      expect(text.code).toBe(0);
      expect(text.out.split('\n')).toContain(`  deactivate zoe@example.org account ${zoe?.ID}`);
      expect(zoe?.Active).toBe(false);
    } finally {
      await changeGroupMembers(slapd, 'developers', { add: ['Zoë Müller'] });
    }
    expect((await sync('dev')).code).toBe(0);
    expect(zoe?.Active).toBe(true);
  });

  it('Deprovision "delete": deactivated at the first run the person is missing, deleted at the second', async () => {
    expect((await sync('dev-delete')).code).toBe(0); // this profile adopts the accounts
    const special = accountOf('special@example.org');
    await changeGroupMembers(slapd, 'developers', { remove: [SPECIAL_UID] });
    try {
      const first = await syncJson('dev-delete');
      expect(first.report.changes).toEqual([{ kind: 'deactivate', email: 'special@example.org', account: special?.ID }]);
      expect(portal.users.get(special?.ID ?? -1)?.Active).toBe(false);
      const second = await syncJson('dev-delete');
      expect({ code: second.code, changes: second.report.changes }).toEqual({ code: 0, changes: [{ kind: 'delete', email: 'special@example.org', account: special?.ID }] });
      expect(portal.users.has(special?.ID ?? -1)).toBe(false);
    } finally {
      await changeGroupMembers(slapd, 'developers', { add: [SPECIAL_UID] });
    }
  });

  it('an emptied search trips the safety brake: exit 1, the ERROR and the hint, nothing deprovisioned; --force applies it', async () => {
    expect((await sync('dev-brake')).code).toBe(0); // adopts the four (special is created again)
    const managed = IN_SCOPE.map((e) => accountOf(e)?.ID);
    const nobody = await profilesOf([profile('dev-brake', { MaxDeprovisionPercent: 10 }, { LDAPFilter: '(&(objectClass=inetOrgPerson)(uid=*USERNAME*)(employeeType=nobody))' })]);
    portal.adminCalls.length = 0;
    const held = await run(['sync', 'dev-brake', '-c', conf, '-p', nobody]);
    expect(held.code).toBe(1);
    expect(held.err).toBe(
      'ERROR: the safety brake held: this run would deprovision 4 of 4 managed account(s), more than MaxDeprovisionPercent (10%); none of them was deactivated or deleted. Check the directory and LDAPFilter; if it is right, rerun with --force',
    );
    expect(held.out.split('\n')[1]).toBe('  create 0, update 0, unchanged 0, skipped 0, deactivate 0, delete 0, kept 0');
    expect(writes()).toEqual([]);
    expect(managed.map((id) => portal.users.get(id ?? -1)?.Active)).toEqual([true, true, true, true]);

    const forced = await run(['sync', 'dev-brake', '-c', conf, '-p', nobody, '--force']);
    expect({ code: forced.code, err: forced.err }).toEqual({ code: 0, err: '' });
    expect(forced.out.split('\n')[1]).toBe('  create 0, update 0, unchanged 0, skipped 0, deactivate 4, delete 0, kept 0');
    expect(managed.map((id) => portal.users.get(id ?? -1)?.Active)).toEqual([false, false, false, false]);
    expect({ admin: accountOf('admin@example.org')?.Active, other: accountOf('someone@example.net')?.Active }).toEqual({ admin: true, other: true });
  });
});
