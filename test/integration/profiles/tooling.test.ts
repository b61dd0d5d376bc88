/**
 * The profile tooling (`identity-broker profiles validate|export|import|diff`, `explain`) against real files
 * and real running brokers (their admin API), and POST /api/profiles/{id}/explain.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { runToolCommand } from '../../../src/cli/cli.js';
import type { CliIo } from '../../../src/cli/io.js';
import { main } from '../../../src/main.js';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { ldapProfile, startSlapd, SUFFIX } from '../../support/slapd.js';
import { startTykStub } from '../../support/tyk-stub.js';

const SECRET = 'tooling-test-admin-secret';
const DASH_CREDENTIAL = 'dash-credential-0123456789';
const LDAP_PASSWORD = 'ldap-admin-password-0123';
const CLIENT_SECRET = 'oidc-client-secret-0123456789';
const SESSION_SECRET = 'tooling-test-session-secret-0123456789';
const DEVS = 'cn=devs,ou=groups,dc=example,dc=org';

const ldap = (id: string, over: Record<string, unknown> = {}) => ({
  ID: id,
  Name: `LDAP ${id}`,
  OrgID: 'org1',
  ActionType: 'GenerateOrLoginDeveloperProfile',
  ProviderName: 'ADProvider',
  ReturnURL: 'http://portal.example.com/sso',
  IdentityHandlerConfig: { DashboardCredential: DASH_CREDENTIAL },
  ProviderConfig: {
    LDAPServer: 'ldap.example.com',
    LDAPPort: '389',
    LDAPStartTLS: true,
    LDAPAdminUser: 'cn=admin,dc=example,dc=org',
    LDAPAdminPassword: LDAP_PASSWORD,
    LDAPBaseDN: 'ou=people,dc=example,dc=org',
    LDAPFilter: '(uid=*USERNAME*)',
    LDAPSearchScope: 2,
    LDAPEmailAttribute: 'mail',
  },
  CustomUserGroupField: 'memberOf',
  UserGroupMapping: { [DEVS]: 'team-devs' },
  DefaultUserGroupID: 'team-readers',
  ...over,
});

const oidc = (id: string, over: Record<string, unknown> = {}) => ({
  ID: id,
  Name: `OIDC ${id}`,
  ActionType: 'GenerateOrLoginUserProfile',
  ProviderName: 'SocialProvider',
  ReturnURL: 'http://dash.example.com/tap',
  IdentityHandlerConfig: { DashboardCredential: DASH_CREDENTIAL },
  ProviderConfig: {
    CallbackBaseURL: 'http://127.0.0.1:3010',
    UseProviders: [{ Name: 'openid-connect', Key: 'broker', Secret: CLIENT_SECRET, DiscoverURL: 'https://idp.example.com/.well-known/openid-configuration' }],
  },
  CustomUserGroupField: 'groups',
  UserGroupSeparator: ',',
  UserGroupMapping: { admins: 'admin-group', devs: 'dev-group' },
  DefaultUserGroupID: 'viewer-group',
  ...over,
});

let dir = '';
const brokers: TestBroker[] = [];
afterEach(async () => {
  await Promise.all(brokers.splice(0).map((b) => b.close()));
});
afterAll(() => (dir ? fs.rm(dir, { recursive: true, force: true }) : undefined));

async function tmp(name: string, content?: unknown): Promise<string> {
  dir ||= await fs.mkdtemp(path.join(os.tmpdir(), 'profile-tooling-'));
  const sub = await fs.mkdtemp(path.join(dir, 'case-'));
  const file = path.join(sub, name);
  if (content !== undefined) await fs.writeFile(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

async function broker(profiles: unknown[]): Promise<TestBroker> {
  const b = await startTestBroker({ profiles, config: { Secret: SECRET } });
  brokers.push(b);
  return b;
}

/** A portal profile without LDAPEmailAttribute, LDAPStartTLS or LDAPSearchScope (the explain fallback). */
const ldapDevs = (over: Record<string, unknown> = {}) => ({
  ID: 'ldap-devs',
  Name: 'Developers',
  OrgID: 'org1',
  ActionType: 'GenerateOrLoginDeveloperProfile',
  ProviderName: 'ADProvider',
  ReturnURL: 'http://portal.example.com/sso',
  IdentityHandlerConfig: { DashboardCredential: DASH_CREDENTIAL },
  ProviderConfig: {
    LDAPServer: 'ldap.example.com',
    LDAPPort: '389',
    LDAPAdminUser: 'cn=admin,dc=example,dc=org',
    LDAPAdminPassword: LDAP_PASSWORD,
    LDAPBaseDN: 'ou=people,dc=example,dc=org',
    LDAPFilter: '(uid=*USERNAME*)',
  },
  CustomUserGroupField: 'memberOf',
  UserGroupMapping: { 'cn=devs,ou=groups,dc=example,dc=org': 'team-devs' },
  DefaultUserGroupID: 'team-readers',
  ...over,
});

/** Runs a command in-process, as `identity-broker <argv>` would, and captures what it prints. */
// validate checks a file as --check does: its social profiles need the session secret (test/integration/profiles/checks.test.ts).
async function run(argv: string[], env: NodeJS.ProcessEnv = { TYK_IB_SECRET: SECRET, TYK_IB_SESSION_SECRET: SESSION_SECRET }) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => void out.push(t), err: (t) => void err.push(t), env };
  const code = await runToolCommand(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function remoteIds(b: TestBroker): Promise<string[]> {
  const res = await request(b.url).get('/api/profiles').set('Authorization', SECRET);
  return (res.body.Data as Array<{ ID: string }>).map((p) => p.ID).sort();
}

describe('profiles validate', () => {
  it('a valid file: exit 0 and the count; an invalid one: exit 1 naming the file, profile ID and field', async () => {
    const good = await tmp('profiles.json', [ldap('ldap-dev'), oidc('oidc-admin')]);
    expect(await run(['profiles', 'validate', '-p', good])).toEqual({ code: 0, out: `ok: ${good}: 2 profiles valid`, err: '' });

    const bad = await tmp('profiles.json', [ldap('ldap-dev', { ProviderConfig: { ...ldap('x').ProviderConfig, LDAPPort: 389 } }), oidc('oidc-admin')]);
    const r = await run(['profiles', 'validate', '-p', bad]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('profiles.json: profile "ldap-dev" (#1): ProviderConfig.LDAPPort:');
    // One error for the number where TIB takes a string, not a second one about the port (test/unit/cli-checks.test.ts).
    expect(r.err).toContain('ProviderConfig.LDAPPort: must be a string, got number (put the value in double quotes');
    expect(r.err).not.toContain('must be a port number');
    expect(r.out).toBe(`invalid: ${bad}: 1 problem`);
  });

  it('a missing file, or tib.conf rules it breaks (AllowedIdPHosts with -c), are failures', async () => {
    const missing = path.join(await tmp('x'), '..', 'nope.json');
    expect((await run(['profiles', 'validate', '-p', missing])).code).toBe(1);
    const file = await tmp('profiles.json', [ldap('ldap-dev')]);
    const conf = await tmp('tib.conf', { Secret: SECRET, AllowedIdPHosts: ['*.corp.example.net'] });
    const r = await run(['profiles', 'validate', '-p', file, '-c', conf]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('profile "ldap-dev" (#1): ProviderConfig.LDAPServer: host "ldap.example.com" is not in AllowedIdPHosts');
  });

  it('a running broker through its admin API, the secret from TYK_IB_SECRET or --secret-file, never a flag', async () => {
    const b = await broker([ldap('ldap-dev')]);
    expect(await run(['profiles', 'validate', '--url', b.url])).toMatchObject({ code: 0, out: `ok: ${b.url}: 1 profile valid` });
    const secretFile = await tmp('secret', `${SECRET}\n`);
    expect((await run(['profiles', 'validate', '--url', b.url, '--secret-file', secretFile], {})).code).toBe(0);
    const wrong = await run(['profiles', 'validate', '--url', b.url], { TYK_IB_SECRET: 'not-the-secret' });
    expect(wrong.code).toBe(1);
    expect(wrong.err).toContain('HTTP 401: Authorization failed (check TYK_IB_SECRET or --secret-file');
    expect(wrong.err).not.toContain('not-the-secret');
    const none = await run(['profiles', 'validate', '--url', b.url], {});
    expect(none.code).toBe(2);
    expect(none.err).toContain('set TYK_IB_SECRET or pass --secret-file');
    expect((await run(['profiles', 'validate', '--url', b.url, '--secret', SECRET])).code).toBe(2);
  });

  it('warns when --secret-file is readable by others (mode 0644), and is silent at 0600', async () => {
    const b = await broker([ldap('ldap-dev')]);
    const secretFile = await tmp('secret', `${SECRET}\n`);
    await fs.chmod(secretFile, 0o644);
    const loose = await run(['profiles', 'validate', '--url', b.url, '--secret-file', secretFile], {});
    expect(loose.code).toBe(0);
    expect(loose.err).toContain(`warning: --secret-file ${secretFile} holds the admin secret and is readable by others (mode 644); chmod 600 it`);
    expect(loose.err).not.toContain(SECRET);
    await fs.chmod(secretFile, 0o600);
    expect(await run(['profiles', 'validate', '--url', b.url, '--secret-file', secretFile], {})).toMatchObject({ code: 0, err: '' });
  });

  it('refuses plain http to a host other than loopback unless --insecure: nothing is sent before the flag', async () => {
    // A listener on this machine's own non-loopback address (as a broker on another host would be), recording what arrives.
    const address = Object.values(os.networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
    expect(address).toBeDefined();
    const seen: Array<string | undefined> = [];
    const server = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ Status: 'ok', Data: [] }));
    });
    await new Promise<void>((resolve) => server.listen(0, address, resolve));
    try {
      const url = `http://${address as string}:${(server.address() as AddressInfo).port}`;
      const refused = await run(['profiles', 'validate', '--url', url]);
      expect(refused.code).toBe(2);
      expect(refused.err).toContain(`--url ${url} would send the admin secret in clear over the network: use https://, or pass --insecure`);
      expect(seen).toEqual([]);
      expect(await run(['profiles', 'validate', '--url', url, '--insecure'])).toMatchObject({ code: 0 });
      expect(seen).toEqual([SECRET]);
    } finally {
      server.close();
    }
    // Loopback in any spelling needs no flag (a refused connection is exit 1, never the usage error).
    const b = await broker([ldap('ldap-dev')]);
    expect((await run(['profiles', 'validate', '--url', b.url])).code).toBe(0);
    for (const host of ['localhost', '127.0.0.2', '[::1]']) {
      expect((await run(['profiles', 'validate', '--url', `http://${host}:1`])).err).not.toContain('in clear');
    }
  });

  it('usage errors exit 2; dispatched from the main CLI with TIB\'s flags unchanged', async () => {
    expect((await run(['profiles'])).code).toBe(2);
    expect((await run(['profiles', 'frobnicate'])).code).toBe(2);
    expect((await run(['profiles', 'validate'])).code).toBe(2);
    expect((await run(['profiles', 'validate', '-p', 'a.json', '--url', 'http://127.0.0.1:1'])).code).toBe(2);
    expect((await run(['profiles', 'validate', '--url', 'ftp://example.com'])).code).toBe(2);
    // A password in the URL would be echoed in messages: refused, and not repeated.
    const withPassword = await run(['profiles', 'validate', '--url', 'http://admin:url-password-123@127.0.0.1:1']);
    expect(withPassword.code).toBe(2);
    expect(withPassword.err).not.toContain('url-password-123');
    const file = await tmp('profiles.json', [ldap('ldap-dev')]);
    const bad = await tmp('profiles.json', [{ ID: 'x' }]);
    const write = process.stdout.write;
    const errWrite = process.stderr.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      expect(await main(['profiles', 'validate', '-p', file])).toBe(0);
      expect(await main(['profiles', 'validate', '-p', bad])).toBe(1);
      expect(await main(['profiles', 'validate', '--bogus'])).toBe(2);
    } finally {
      process.stdout.write = write;
      process.stderr.write = errWrite;
    }
  });
});

describe('profiles export', () => {
  it('from a file: a profiles.json the broker loads; --redact replaces every secret the profile holds', async () => {
    const file = await tmp('profiles.json', [ldap('ldap-dev'), oidc('oidc-admin')]);
    const plain = await run(['profiles', 'export', '-p', file]);
    expect(plain.code).toBe(0);
    const exported = JSON.parse(plain.out) as Array<Record<string, unknown>>;
    expect(exported.map((p) => p.ID)).toEqual(['ldap-dev', 'oidc-admin']);
    expect(plain.out).toContain(LDAP_PASSWORD);

    const redacted = await run(['profiles', 'export', '-p', file, '--redact']);
    expect(redacted.code).toBe(0);
    for (const secret of [DASH_CREDENTIAL, LDAP_PASSWORD, CLIENT_SECRET]) expect(redacted.out).not.toContain(secret);
    const [l, o] = JSON.parse(redacted.out) as Array<{ ProviderConfig: Record<string, unknown>; IdentityHandlerConfig: Record<string, unknown> }>;
    expect(l?.ProviderConfig.LDAPAdminPassword).toBe('[redacted]');
    expect(l?.IdentityHandlerConfig.DashboardCredential).toBe('[redacted]');
    expect((o?.ProviderConfig.UseProviders as Array<Record<string, unknown>>)[0]?.Secret).toBe('[redacted]');
    // Everything else is kept.
    expect(l?.ProviderConfig.LDAPAdminUser).toBe('cn=admin,dc=example,dc=org');
  });

  it('from a running broker', async () => {
    const b = await broker([oidc('oidc-admin')]);
    const r = await run(['profiles', 'export', '--url', b.url, '--redact']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual([expect.objectContaining({ ID: 'oidc-admin', DefaultUserGroupID: 'viewer-group' })]);
    expect(r.out).not.toContain(CLIENT_SECRET);
  });
});

describe('profiles import', () => {
  it('a round trip between two running brokers: created, updated and unchanged by ID, then all unchanged', async () => {
    const a = await broker([ldap('ldap-dev'), oidc('oidc-admin'), oidc('oidc-dev', { DefaultUserGroupID: 'dev-group' })]);
    const b = await broker([ldap('ldap-dev'), oidc('oidc-admin', { DefaultUserGroupID: 'old-default' }), ldap('only-on-b')]);
    const exported = await run(['profiles', 'export', '--url', a.url]);
    const file = await tmp('export.json', exported.out);

    const first = await run(['profiles', 'import', file, '--url', b.url]);
    expect(first).toEqual({ code: 0, out: 'created 1: oidc-dev\nupdated 1: oidc-admin\nunchanged 1: ldap-dev', err: '' });
    expect(await remoteIds(b)).toEqual(['ldap-dev', 'oidc-admin', 'oidc-dev', 'only-on-b']);
    const updated = await request(b.url).get('/api/profiles/oidc-admin').set('Authorization', SECRET);
    expect(updated.body.Data.DefaultUserGroupID).toBe('viewer-group');
    // The broker's own audit lines name each change.
    expect(b.logs.filter((l) => /profile (created|updated)/.test(l))).toHaveLength(2);

    const again = await run(['profiles', 'import', file, '--url', b.url]);
    expect(again.out).toBe('created 0\nupdated 0\nunchanged 3: ldap-dev, oidc-admin, oidc-dev');
    expect(await run(['profiles', 'diff', file, '--url', b.url])).toMatchObject({ code: 1, out: `only in ${b.url}: "only-on-b"` });
  });

  it('one invalid profile refuses the whole import, naming its ID and field, before anything changes', async () => {
    const b = await broker([ldap('ldap-dev')]);
    const file = await tmp('import.json', [oidc('new-one'), ldap('ldap-dev', { ActionType: 'GenerateOrLoginEverything' })]);
    const r = await run(['profiles', 'import', file, '--url', b.url]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('nothing imported');
    expect(r.err).toContain('profile "ldap-dev" (#2): ActionType: must be one of');
    expect(await remoteIds(b)).toEqual(['ldap-dev']);
    // A file that is not JSON: where, and what the parser expected there (never the text: it may hold secrets).
    const broken = await tmp('broken.json', '[\n  {"ID": "x" "Name": "y"}\n]');
    const s = await run(['profiles', 'import', broken, '--url', b.url]);
    expect([s.code, s.err]).toEqual([1, expect.stringContaining(`broken.json: invalid JSON at line 2 column 14: expected ',' or '}' after property value`)]);
  });

  it('a redacted export is refused: it would overwrite secrets with the placeholder', async () => {
    const a = await broker([ldap('ldap-dev')]);
    const b = await broker([]);
    const file = await tmp('export.json', (await run(['profiles', 'export', '--url', a.url, '--redact'])).out);
    const r = await run(['profiles', 'import', file, '--url', b.url]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('profile "ldap-dev": IdentityHandlerConfig.DashboardCredential: holds a redacted secret');
    expect(await remoteIds(b)).toEqual([]);
  });

  it('into a file: created (the file too, owner-only), then unchanged; a running broker watching it could reload it', async () => {
    const source = await tmp('source.json', [ldap('ldap-dev'), oidc('oidc-admin')]);
    const target = path.join(path.dirname(await tmp('x')), 'profiles.json');
    expect((await run(['profiles', 'import', source, '-p', target])).out).toBe('created 2: ldap-dev, oidc-admin\nupdated 0\nunchanged 0');
    expect((await fs.stat(target)).mode & 0o777).toBe(0o600);
    expect((await run(['profiles', 'validate', '-p', target])).code).toBe(0);
    const before = { entries: await fs.readdir(path.dirname(target)), mtime: (await fs.stat(target)).mtimeMs };
    expect((await run(['profiles', 'import', source, '-p', target])).out).toBe('created 0\nupdated 0\nunchanged 2: ldap-dev, oidc-admin');
    // A no-op import rewrites nothing and adds no backup.
    expect({ entries: await fs.readdir(path.dirname(target)), mtime: (await fs.stat(target)).mtimeMs }).toEqual(before);
    const changed = await tmp('changed.json', [oidc('oidc-admin', { Name: 'Admins' })]);
    expect((await run(['profiles', 'import', changed, '-p', target])).out).toBe('created 0\nupdated 1: oidc-admin\nunchanged 0');
    const after = JSON.parse(await fs.readFile(target, 'utf8')) as Array<{ ID: string; Name: string }>;
    expect(after.map((p) => [p.ID, p.Name])).toEqual([
      ['ldap-dev', 'LDAP ldap-dev'],
      ['oidc-admin', 'Admins'],
    ]);
  });
});

describe('profiles diff', () => {
  it('names the IDs and fields that differ, masks secrets, exits 1; the same set exits 0', async () => {
    const b = await broker([ldap('ldap-dev'), oidc('oidc-admin')]);
    const file = await tmp('profiles.json', [
      ldap('ldap-dev', { ProviderConfig: { ...ldap('x').ProviderConfig, LDAPAdminPassword: 'another-password-9876', LDAPServer: 'ldap2.example.com' } }),
      oidc('oidc-new'),
    ]);
    const r = await run(['profiles', 'diff', file, '--url', b.url]);
    expect(r.code).toBe(1);
    expect(r.out.split('\n')).toEqual([
      '"ldap-dev": ProviderConfig.LDAPAdminPassword: (secret, differs)',
      '"ldap-dev": ProviderConfig.LDAPServer: "ldap2.example.com" -> "ldap.example.com"',
      `only in ${file}: "oidc-new"`,
      `only in ${b.url}: "oidc-admin"`,
    ]);
    expect(r.out).not.toContain(LDAP_PASSWORD);
    expect(r.out).not.toContain('another-password-9876');

    const same = await tmp('same.json', [oidc('oidc-admin'), ldap('ldap-dev')]);
    expect(await run(['profiles', 'diff', same, '--url', b.url])).toMatchObject({ code: 0, out: `same: ${same} and ${b.url} hold the same 2 profiles` });
    // File against file; key order inside a profile does not matter.
    const reordered = await tmp('reordered.json', [Object.fromEntries(Object.entries(ldap('ldap-dev')).reverse()), oidc('oidc-admin')]);
    expect((await run(['profiles', 'diff', same, '-p', reordered])).code).toBe(0);
  });
});

describe('explain', () => {
  const alice = { dn: 'uid=alice,ou=people,dc=example,dc=org', uid: 'alice', mail: 'alice@example.org', memberOf: ['cn=staff,ou=groups,dc=example,dc=org', DEVS] };
  const dana = { sub: 'u-123', email: 'dana@example.com', groups: 'auditors,devs' };

  it('the CLI on a file: LDAP attributes (matched group) and OIDC claims (separator split, default team)', async () => {
    const file = await tmp('profiles.json', [ldap('ldap-dev'), oidc('oidc-admin')]);
    const ldapClaims = await tmp('alice.json', alice);
    const r = await run(['explain', '--profile', 'ldap-dev', '--claims', ldapClaims, '-p', file]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('profile "ldap-dev" (ADProvider): login allowed');
    expect(r.out).toMatch(/team {8}"team-devs" {2}<- UserGroupMapping: "cn=devs,ou=groups,dc=example,dc=org"/);
    expect(r.out).toMatch(/user id {5}"alice" {2}<- the provider's user id/);

    const oidcClaims = await tmp('dana.json', dana);
    const o = await run(['explain', '--profile', 'oidc-admin', '--claims', oidcClaims, '-p', file, '--json']);
    expect(o.code).toBe(0);
    const x = JSON.parse(o.out);
    expect(x.groups).toEqual({ value: ['auditors', 'devs'], rule: 'CustomUserGroupField "groups": a string split on UserGroupSeparator ","' });
    expect(x.teams).toEqual([{ team: 'dev-group', groups: ['devs'], rule: 'UserGroupMapping: "devs"' }]);

    const nobody = await tmp('nobody.json', { sub: 'u-9', email: 'eve@example.com', groups: 'auditors' });
    const d = await run(['explain', '--profile', 'oidc-admin', '--claims', nobody, '-p', file]);
    expect(d.out).toMatch(/team {8}"viewer-group" {2}<- DefaultUserGroupID \(no IdP group is in UserGroupMapping\)/);
  });

  it('a refused login exits 1 with the reason; an unknown profile or unreadable claims exit 1; missing flags exit 2', async () => {
    const file = await tmp('profiles.json', [oidc('oidc-admin', { ProviderConstraints: { Domain: 'example.org', Group: '' } })]);
    const claims = await tmp('dana.json', dana);
    const r = await run(['explain', '--profile', 'oidc-admin', '--claims', claims, '-p', file]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('login refused');
    expect(r.out).toContain('constraint failed: email domain example.com is not example.org');
    expect((await run(['explain', '--profile', 'nope', '--claims', claims, '-p', file])).err).toContain('has no profile "nope"');
    const notJson = await tmp('bad.json', '{"sub":');
    expect(await run(['explain', '--profile', 'oidc-admin', '--claims', notJson, '-p', file])).toMatchObject({ code: 1, err: `cannot read --claims ${notJson}: invalid JSON at line 1 column 8: the file ends too early (a missing "]", "}" or closing quote)` });
    expect((await run(['explain', '--claims', claims, '-p', file])).code).toBe(2);
  });

  it('the CLI against a running broker gives the same explanation as the file', async () => {
    const b = await broker([ldap('ldap-dev')]);
    const file = await tmp('profiles.json', [ldap('ldap-dev')]);
    const claims = await tmp('alice.json', alice);
    const remote = await run(['explain', '--profile', 'ldap-dev', '--claims', claims, '--url', b.url, '--username', 'ALICE']);
    const local = await run(['explain', '--profile', 'ldap-dev', '--claims', claims, '-p', file, '--username', 'ALICE']);
    expect(remote.code).toBe(0);
    expect(remote.out).toBe(local.out);
  });
});

describe('POST /api/profiles/{id}/explain', () => {
  it('an LDAP-shaped identity: the matched group, or the default team', async () => {
    const b = await broker([ldap('ldap-dev')]);
    const res = await request(b.url).post('/api/profiles/ldap-dev/explain').set('Authorization', SECRET).send(JSON.stringify({ dn: 'uid=alice,ou=people,dc=example,dc=org', uid: 'alice', memberOf: [DEVS] }));
    expect(res.status).toBe(200);
    expect(res.body.Status).toBe('ok');
    expect(res.body.ID).toBe('ldap-dev');
    expect(res.body.Data).toMatchObject({
      outcome: 'allowed',
      email: { value: 'alice@org1-ADProvider.com' },
      userId: { value: 'alice' },
      teams: [{ team: 'team-devs', groups: [DEVS], rule: `UserGroupMapping: "${DEVS}"` }],
    });
    const none = await request(b.url).post('/api/profiles/ldap-dev/explain').set('Authorization', SECRET).send(JSON.stringify({ uid: 'bob', memberOf: [] }));
    expect(none.body.Data.teams).toEqual([{ team: 'team-readers', groups: [], rule: 'DefaultUserGroupID (no IdP groups)' }]);
  });

  it('an OIDC-shaped identity: separator split and matched groups', async () => {
    const b = await broker([oidc('oidc-admin')]);
    const res = await request(b.url).post('/api/profiles/oidc-admin/explain').set('Authorization', SECRET).send(JSON.stringify({ sub: 's1', email: 'a@example.com', groups: 'admins,devs' }));
    expect(res.status).toBe(200);
    expect(res.body.Data.groups.rule).toBe('CustomUserGroupField "groups": a string split on UserGroupSeparator ","');
    expect(res.body.Data.teams.map((t: { team: string }) => t.team)).toEqual(['admin-group', 'dev-group']);
  });

  it('the admin API\'s auth, 404 for an unknown profile, 400 for bad claims, 405 for another method; nothing is changed', async () => {
    const b = await broker([ldap('ldap-dev')]);
    expect((await request(b.url).post('/api/profiles/ldap-dev/explain').send('{}')).status).toBe(401);
    expect((await request(b.url).post('/api/profiles/ldap-dev/explain').set('Authorization', 'wrong').send('{}')).status).toBe(401);
    const unknown = await request(b.url).post('/api/profiles/nope/explain').set('Authorization', SECRET).send('{}');
    expect([unknown.status, unknown.body.Error]).toEqual([404, 'Profile not found']);
    const notObject = await request(b.url).post('/api/profiles/ldap-dev/explain').set('Authorization', SECRET).send('[1]');
    expect([notObject.status, notObject.body.Error]).toEqual([400, 'Failed to decode body data']);
    const badAttr = await request(b.url).post('/api/profiles/ldap-dev/explain').set('Authorization', SECRET).send('{"uid":1}');
    expect([badAttr.status, badAttr.body.Error]).toEqual([400, 'LDAP attribute "uid" is a number, expected a string or a list of strings']);
    expect((await request(b.url).get('/api/profiles/ldap-dev/explain').set('Authorization', SECRET)).status).toBe(405);
    expect(await remoteIds(b)).toEqual(['ldap-dev']);
  });
});

describe('a real login logs its explanation at debug', () => {
  it('LDAP against slapd: the debug line names the matched groups, and explain gives the teams the Dashboard received', async () => {
    const slapd = await startSlapd();
    const stub = await startTykStub({ dashboardCredential: DASH_CREDENTIAL, adminSecret: 'stub-admin-secret-0123456789' });
    try {
      const group = (cn: string) => `cn=${cn},ou=groups,${SUFFIX}`;
      const p = {
        ...ldapProfile(slapd, { id: 'ldap-dash', returnUrl: `${stub.url}/tap`, credential: DASH_CREDENTIAL }),
        CustomUserGroupField: 'memberOf',
        UserGroupMapping: { [group('developers')]: 'tyk-developers', [group('testers')]: 'tyk-testers' },
        DefaultUserGroupID: 'tyk-readers',
      };
      const b = await startTestBroker({ profiles: [p], config: { Secret: SECRET, TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port } } } });
      brokers.push(b);
      const res = await request(b.url).post('/auth/ldap-dash/ldap').type('form').send({ username: 'bob', password: 'bob-pass' });
      expect(res.status).toBe(302);
      const sso = stub.requests.find((r) => r.path === '/api/sso')?.body as { GroupsIDs: string[] };
      expect(sso.GroupsIDs).toEqual(['tyk-developers', 'tyk-testers']);

      const line = b.logs.find((l) => l.includes('[DEBUG]') && l.includes('login explained'));
      expect(line).toContain(`UserGroupMapping: \\"${group('developers')}\\"`);
      expect(line).toContain('"outcome":"allowed"');
      expect(line).not.toContain('bob-pass');
      // The explain endpoint, given the directory's attributes for bob, says the same.
      const explained = await request(b.url)
        .post('/api/profiles/ldap-dash/explain')
        .set('Authorization', SECRET)
        .send(JSON.stringify({ dn: `uid=bob,ou=people,${SUFFIX}`, uid: 'bob', mail: 'bob@example.org', memberOf: [group('developers'), group('testers')] }));
      expect(explained.body.Data.teams.map((t: { team: string }) => t.team)).toEqual(sso.GroupsIDs);
    } finally {
      await stub.close();
      await slapd.stop();
    }
  });
});

describe('a file with a typo in a key (UserGroupMaping: everyone would land in the default team)', () => {
  it('import, diff and explain print the "did you mean" warning that validate prints, on stderr', async () => {
    const { UserGroupMapping, ...rest } = ldapDevs();
    const typo = await tmp('typo.json', [{ ...rest, UserGroupMaping: UserGroupMapping }]);
    const b = await startTestBroker({ profiles: [], config: { Secret: SECRET } });
    try {
      const warning = 'warning: typo.json: profile "ldap-devs" (#1): UserGroupMaping: unknown key, ignored; did you mean UserGroupMapping?';
      expect((await run(['profiles', 'validate', '-p', typo])).err).toContain(warning);
      const imported = await run(['profiles', 'import', typo, '--url', b.url]);
      expect([imported.code, imported.out]).toEqual([0, 'created 1: ldap-devs\nupdated 0\nunchanged 0']);
      expect(imported.err).toContain(warning);
      const diffed = await run(['profiles', 'diff', typo, '--url', b.url]);
      expect(diffed.err).toContain(warning);
      // The ignored key is a difference: the file says something the broker does not do.
      expect([diffed.code, diffed.out]).toEqual([1, `"ldap-devs": UserGroupMaping: only in ${typo}: unknown key, ignored; did you mean UserGroupMapping?`]);
      // explain repeats the profile's warnings, from the file or from the broker that stored it.
      const claims = await tmp('alice.json', { dn: 'uid=alice,ou=people,dc=example,dc=org', uid: 'alice', memberOf: ['cn=devs,ou=groups,dc=example,dc=org'] });
      const again = 'warning: profile "ldap-devs": UserGroupMaping: unknown key, ignored; did you mean UserGroupMapping?';
      expect((await run(['explain', '--profile', 'ldap-devs', '--claims', claims, '-p', typo])).err).toContain(again);
      // (import sent the profile as validated, without the ignored key: written as it is, the broker keeps its warning.)
      const put = await request(b.url).put('/api/profiles/ldap-devs').set('Authorization', SECRET).send(JSON.stringify({ ...rest, UserGroupMaping: UserGroupMapping }));
      expect(put.body.Warnings).toEqual(['UserGroupMaping: unknown key, ignored; did you mean UserGroupMapping?']);
      expect((await run(['explain', '--profile', 'ldap-devs', '--claims', claims, '--url', b.url])).err).toContain(again);
    } finally {
      await b.close();
    }
  });
});

describe('profiles diff where a whole object differs from null or absent', () => {
  it('says so in one line at that field, with any secret inside masked', async () => {
    const b = await startTestBroker({ profiles: [ldapDevs({ UserGroupMapping: null })], config: { Secret: SECRET } });
    try {
      const file = await tmp('mapping.json', [ldapDevs()]);
      const r = await run(['profiles', 'diff', file, '--url', b.url]);
      expect([r.code, r.out]).toEqual([1, '"ldap-devs": UserGroupMapping: {"cn=devs,ou=groups,dc=example,dc=org":"team-devs"} -> null']);

      const noConfig = await tmp('other.json', [ldapDevs({ ProviderConfig: { ...ldapDevs().ProviderConfig, LDAPAdminPassword: 'another-password-0123' }, UserGroupMapping: null })]);
      const masked = await run(['profiles', 'diff', noConfig, '-p', file]);
      expect(masked.out.split('\n')).toEqual([
        '"ldap-devs": ProviderConfig.LDAPAdminPassword: (secret, differs)',
        '"ldap-devs": UserGroupMapping: null -> {"cn=devs,ou=groups,dc=example,dc=org":"team-devs"}',
      ]);
      expect(masked.out).not.toContain(LDAP_PASSWORD);
    } finally {
      await b.close();
    }
  });
});

describe('explain for an ADProvider profile without LDAPEmailAttribute', () => {
  it('names the made-up address as ADProvider\'s fallback, and refuses attributes without the username', async () => {
    const file = await tmp('explain-ldap.json', [ldapDevs()]);
    const withUid = await tmp('uid.json', { uid: 'alice', memberOf: ['cn=devs,ou=groups,dc=example,dc=org'] });
    const r = await run(['explain', '--profile', 'ldap-devs', '--claims', withUid, '-p', file]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/email\s+"alice@org1-ADProvider\.com"\s+<- ADProvider's made-up address <username>@<OrgID>-ADProvider\.com, as TIB \(no LDAPEmailAttribute value\)/);
    expect(r.out).toMatch(/team\s+"team-devs"/);

    const noUid = await tmp('no-uid.json', { mail: 'a@example.com' });
    const refused = await run(['explain', '--profile', 'ldap-devs', '--claims', noUid, '-p', file]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("no username: give the entry's uid attribute (what LDAPFilter compares with *USERNAME*), or the username the user would type");
    expect((await run(['explain', '--profile', 'ldap-devs', '--claims', noUid, '-p', file, '--username', 'alice'])).out).toMatch(/email\s+"a@example\.com"\s+<- the provider's email/);
  });
});
