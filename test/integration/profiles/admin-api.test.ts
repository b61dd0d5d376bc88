/**
 * TIB's admin API (docs/tib-behaviour.md §2): every status and message, against a real store on a real temp file.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { adminApiRouter, failedAuthLogger } from '../../../src/http/admin-api.js';
import { getLogger } from '../../../src/log.js';
import { loadProfilesFile, type FsOps, realFs } from '../../../src/profiles/file-store.js';
import { ProfileStore } from '../../../src/profiles/store.js';
import { validateProfileList } from '../../../src/profiles/validate.js';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { captureLogs } from '../../support/logs.js';
import { hostAllowed } from '../../../src/config/allowed-hosts.js';
import { offlineLdapProfile } from '../../support/profiles.js';
import { builtinProviders } from '../../../src/providers/registry.js';
import { TIB_RULES } from '../../support/rules.js';

const SECRET = 'admin-api-test-secret';
const ldap = (id: string, extra: Record<string, unknown> = {}) => offlineLdapProfile(id, extra);

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => fs.rm(d, { recursive: true, force: true }))));

async function setup(initial: unknown[], opts: { secret?: string; ops?: FsOps } = {}) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'admin-api-'));
  dirs.push(dir);
  const file = path.join(dir, 'profiles.json');
  await fs.writeFile(file, JSON.stringify(initial));
  const loaded = await loadProfilesFile(file, undefined, TIB_RULES);
  const store = new ProfileStore(loaded.profiles, { path: file, backupDir: dir, keep: 10, hash: loaded.hash, ops: opts.ops, rules: TIB_RULES });
  const app = express();
  app.use('/api', adminApiRouter({ store, secret: opts.secret ?? SECRET, log: getLogger('API'), providers: builtinProviders }));
  const onDisk = async () => validateProfileList(JSON.parse(await fs.readFile(file, 'utf8')), undefined, TIB_RULES).profiles.map((p) => p.ID);
  return { app, store, file, dir, onDisk, agent: () => request(app) };
}

describe('authorisation', () => {
  it('401 with TIB envelope for a missing or wrong Authorization', async () => {
    const { agent } = await setup([]);
    for (const auth of [undefined, 'wrong', `Bearer ${SECRET}`, SECRET.toUpperCase(), SECRET.slice(0, -1)]) {
      const req = agent().get('/api/profiles');
      const res = await (auth === undefined ? req : req.set('Authorization', auth));
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.text).toBe('{"Status":"error","Error":"Authorization failed"}');
    }
  });

  it('an empty Secret disables the API (TIB leaves it open)', async () => {
    const { agent } = await setup([ldap('1')], { secret: '' });
    expect((await agent().get('/api/profiles')).status).toBe(401);
    expect((await agent().get('/api/profiles').set('Authorization', '')).status).toBe(401);
  });
});

describe('profiles', () => {
  let t: Awaited<ReturnType<typeof setup>>;
  beforeEach(async () => {
    t = await setup([ldap('b'), ldap('a')]);
  });
  const auth = (r: request.Test) => r.set('Authorization', SECRET);

  it('GET /api/profiles lists every profile ordered by ID, with ID ""', async () => {
    const res = await auth(t.agent().get('/api/profiles'));
    expect(res.status).toBe(200);
    expect(res.body.Status).toBe('ok');
    expect(res.body.ID).toBe('');
    expect(res.body.Data.map((p: { ID: string }) => p.ID)).toEqual(['a', 'b']);
    expect(Object.keys(res.body)).toEqual(['Status', 'ID', 'Data']);
  });

  it('GET /api/profiles on an empty store answers Data [] and ID ""', async () => {
    const empty = await setup([]);
    const res = await auth(empty.agent().get('/api/profiles'));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.text).toBe('{"Status":"ok","ID":"","Data":[]}');
  });

  it('GET one, and 404 "Profile not found"', async () => {
    const ok = await auth(t.agent().get('/api/profiles/a'));
    expect(ok.status).toBe(200);
    expect(ok.body.ID).toBe('a');
    expect(ok.body.Data.ProviderConfig.LDAPServer).toBe('ldap.example.com');
    const missing = await auth(t.agent().get('/api/profiles/zzz'));
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ Status: 'error', Error: 'Profile not found' });
  });

  it('POST creates (201, normalised Data) and writes the file', async () => {
    const res = await auth(t.agent().post('/api/profiles/c')).send(ldap('c'));
    expect(res.status).toBe(201);
    expect(res.body.ID).toBe('c');
    expect(res.body.Data.SSOOnlyForRegisteredUsers).toBe(false);
    expect(res.body.Data.ProviderConstraints).toEqual({ Domain: '', Group: '' });
    expect(await t.onDisk()).toEqual(['a', 'b', 'c']);
  });

  it('POST errors: decode, ID mismatch, exists, validation', async () => {
    const cases: Array<[request.Test, number, string]> = [
      [auth(t.agent().post('/api/profiles/c')), 400, 'Failed to decode body data'],
      [auth(t.agent().post('/api/profiles/c')).type('json').send('{not json'), 400, 'Failed to decode body data'],
      [auth(t.agent().post('/api/profiles/c')).send(ldap('d')), 400, 'Object ID and URI resource ID do not match'],
      [auth(t.agent().post('/api/profiles/a')).send(ldap('a')), 400, 'Object ID already exists'],
    ];
    for (const [req, status, message] of cases) {
      const res = await req;
      expect([res.status, res.body]).toEqual([status, { Status: 'error', Error: message }]);
    }
    const invalid = await auth(t.agent().post('/api/profiles/c')).send(ldap('c', { ProviderName: 'Nope' }));
    expect(invalid.status).toBe(400);
    expect(invalid.body.Error).toMatch(/^invalid profile: ProviderName: must be one of/);
    expect((await t.onDisk()).sort()).toEqual(['a', 'b']);
  });

  it('POST or PUT with a body that cannot be read answers 400 "Invalid request data" and changes nothing', async () => {
    const before = await fs.readFile(t.file, 'utf8');
    // Plain JSON declared as gzip: the body cannot be inflated.
    const notGzip = (r: request.Test) => r.set('Content-Encoding', 'gzip').type('json').send(JSON.stringify(ldap('a')));
    // A charset nothing can decode.
    const unknownCharset = (r: request.Test) => r.set('Content-Type', 'application/json; charset=no-such-charset').send(JSON.stringify(ldap('a')));
    for (const req of [
      notGzip(auth(t.agent().post('/api/profiles/a'))),
      notGzip(auth(t.agent().put('/api/profiles/a'))),
      unknownCharset(auth(t.agent().post('/api/profiles/a'))),
      unknownCharset(auth(t.agent().put('/api/profiles/a'))),
    ]) {
      const res = await req;
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.text).toBe('{"Status":"error","Error":"Invalid request data"}');
    }
    expect(t.store.list().map((p) => p.ID)).toEqual(['a', 'b']);
    expect(await fs.readFile(t.file, 'utf8')).toBe(before);
  });

  it('a body over 1 MB answers 413 "Request body too large" (TIB has no limit)', async () => {
    const huge = JSON.stringify(ldap('c', { Name: 'x'.repeat(1024 * 1024) }));
    const res = await auth(t.agent().post('/api/profiles/c')).type('json').send(huge);
    expect([res.status, res.body]).toEqual([413, { Status: 'error', Error: 'Request body too large' }]);
    expect(t.store.get('c')).toBeUndefined();
  });

  it('POST without a Content-Type still decodes JSON, as TIB', async () => {
    const res = await auth(t.agent().post('/api/profiles/c')).set('Content-Type', 'text/plain').send(JSON.stringify(ldap('c')));
    expect(res.status).toBe(201);
  });

  it('PUT replaces fully; 404 for a missing one; 400 for a mismatch', async () => {
    const res = await auth(t.agent().put('/api/profiles/a')).send(ldap('a', { Name: 'renamed' }));
    expect(res.status).toBe(200);
    expect(res.body.Data.Name).toBe('renamed');
    expect(t.store.get('a')?.Name).toBe('renamed');
    const missing = await auth(t.agent().put('/api/profiles/zzz')).send(ldap('zzz'));
    expect([missing.status, missing.body.Error]).toEqual([404, 'Object ID does not exist, operation not permitted']);
    const mismatch = await auth(t.agent().put('/api/profiles/a')).send(ldap('b'));
    expect([mismatch.status, mismatch.body.Error]).toEqual([400, 'Object ID and URI resource ID do not match']);
  });

  it('PUT with an empty, malformed or non-object body answers 400 "Failed to decode body data"', async () => {
    const bodies: Array<string | undefined> = [undefined, '{not json', '[]', '"a"'];
    for (const body of bodies) {
      const req = auth(t.agent().put('/api/profiles/a'));
      const res = await (body === undefined ? req : req.type('json').send(body));
      expect([res.status, res.body]).toEqual([400, { Status: 'error', Error: 'Failed to decode body data' }]);
    }
    expect(t.store.get('a')?.Name).toBe('');
  });

  it('DELETE answers Data {} and removes from file; 404 when missing', async () => {
    const res = await auth(t.agent().delete('/api/profiles/a'));
    expect(res.status).toBe(200);
    expect(res.text).toBe('{"Status":"ok","ID":"a","Data":{}}');
    expect(await t.onDisk()).toEqual(['b']);
    const missing = await auth(t.agent().delete('/api/profiles/a'));
    expect([missing.status, missing.body.Error]).toEqual([404, 'Object ID does not exist']);
  });

  it('POST /api/profiles/save flushes to disk', async () => {
    await fs.writeFile(t.file, '[]');
    const res = await auth(t.agent().post('/api/profiles/save'));
    expect([res.status, res.body]).toEqual([200, { Status: 'ok', ID: 'save', Data: {} }]);
    expect(await t.onDisk()).toEqual(['a', 'b']);
  });

  it('a wrong method on a known path is 405 with an empty body', async () => {
    for (const r of [auth(t.agent().patch('/api/profiles/a')), auth(t.agent().post('/api/profiles')), auth(t.agent().delete('/api/profiles'))]) {
      const res = await r;
      expect([res.status, res.text]).toEqual([405, '']);
    }
  });

  it('escapes <, > and & in JSON as Go does', async () => {
    await auth(t.agent().put('/api/profiles/a')).send(ldap('a', { Name: '<b>&' }));
    const res = await auth(t.agent().get('/api/profiles/a'));
    expect(res.text).toContain('"Name":"\\u003cb\\u003e\\u0026"');
  });

  it('concurrent writes are serialised and all land on disk', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `p${String(i).padStart(2, '0')}`);
    const results = await Promise.all(ids.map((id) => auth(t.agent().post(`/api/profiles/${id}`)).send(ldap(id))));
    expect(results.map((r) => r.status)).toEqual(ids.map(() => 201));
    expect(await t.onDisk()).toEqual(['a', 'b', ...ids]);
  });
});

describe('a failed write answers 400 "flush failed" and changes nothing', () => {
  // TIB's "flush failed", then the reason (what an operator acts on).
  const FLUSH_FAILED = { Status: 'error', Error: 'flush failed: EIO: injected' };
  /** Every write of profiles.json fails at its rename step (EIO), as on a full or broken disk. */
  const renameFails: FsOps = { ...realFs, rename: () => Promise.reject(new Error('EIO: injected')) };

  let t: Awaited<ReturnType<typeof setup>>;
  let before: string;
  beforeEach(async () => {
    t = await setup([ldap('a')], { ops: renameFails });
    before = await fs.readFile(t.file, 'utf8');
  });
  /** profiles.json is byte for byte what it was, and no temp file is left behind. */
  const expectFileUntouched = async () => {
    expect(await fs.readFile(t.file, 'utf8')).toBe(before);
    expect((await fs.readdir(t.dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  };

  it('on POST: the new profile is not kept in memory', async () => {
    const res = await t.agent().post('/api/profiles/b').set('Authorization', SECRET).send(ldap('b'));
    expect([res.status, res.body]).toEqual([400, FLUSH_FAILED]);
    expect(t.store.get('b')).toBeUndefined();
    await expectFileUntouched();
  });

  it('on PUT: the stored profile keeps its old content', async () => {
    const res = await t.agent().put('/api/profiles/a').set('Authorization', SECRET).send(ldap('a', { Name: 'renamed' }));
    expect([res.status, res.body]).toEqual([400, FLUSH_FAILED]);
    expect(t.store.get('a')?.Name).toBe('');
    await expectFileUntouched();
  });

  it('on DELETE: the profile is still there', async () => {
    const res = await t.agent().delete('/api/profiles/a').set('Authorization', SECRET);
    expect([res.status, res.body]).toEqual([400, FLUSH_FAILED]);
    expect(t.store.get('a')).toBeDefined();
    await expectFileUntouched();
  });
});

describe('the admin API in a running broker', () => {
  let b: TestBroker | undefined;
  afterEach(async () => {
    await b?.close();
    b = undefined;
  });

  it('GET /api/profiles/ (trailing slash) answers gorilla/mux\'s 404 text, not the list', async () => {
    b = await startTestBroker({ profiles: [ldap('a')], config: { Secret: SECRET } });
    const res = await request(b.url).get('/api/profiles/').set('Authorization', SECRET);
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toBe('404 page not found\n');
  });

  it('an empty Secret logs a startup warning that the admin API is disabled', async () => {
    b = await startTestBroker({ profiles: [], config: { Secret: '' } });
    const warnings = b.logs.filter((l) => l.includes('[WARN] MAIN: Secret is empty'));
    expect(warnings).toEqual([expect.stringContaining('Secret is empty: the admin API (/api/profiles) is disabled and answers 401 to every call')]);
    expect((await request(b.url).get('/api/profiles')).status).toBe(401);
  });

  it('a non-empty Secret logs no such warning', async () => {
    b = await startTestBroker({ profiles: [], config: { Secret: SECRET } });
    expect(b.logs.join('\n')).not.toContain('Secret is empty');
  });
});

describe('what the API guards: secret masks, no-store, safe IDs, nesting, AllowedIdPHosts, file modes', () => {
  let b: TestBroker | undefined;
  afterEach(async () => {
    await b?.close();
    b = undefined;
  });
  const auth = (r: request.Test) => r.set('Authorization', SECRET);
  const withAdmin = (id: string, password: string) =>
    ldap(id, { ProviderConfig: { ...ldap(id).ProviderConfig, LDAPAdminUser: 'cn=admin,dc=example,dc=org', LDAPAdminPassword: password, LDAPFilter: '(uid=*USERNAME*)' } });

  it('a profile holding a short value under a *Password key does not blind later log lines to that word', async () => {
    b = await startTestBroker({ profiles: [], config: { Secret: SECRET } });
    expect((await auth(request(b.url).post('/api/profiles/weak')).send(withAdmin('weak', 'login'))).status).toBe(201);
    const worded = ldap('worded', { ProviderConfig: { ...ldap('worded').ProviderConfig, SomeKey: '10.1.2.3', LDAPSearchPassword: 'redirect-target' } });
    expect((await auth(request(b.url).post('/api/profiles/worded')).send(worded)).status).toBe(201);
    getLogger('TEST').info('user login from 10.1.2.3 to redirect-target');
    expect(b.logs.join('\n')).toContain('user login from 10.1.2.3 to redirect-target');
  });

  it("a profile's real secret is masked while the profile exists, and no longer once it is deleted or changed", async () => {
    b = await startTestBroker({ profiles: [], config: { Secret: SECRET } });
    const logged = (text: string) => {
      b!.logs.length = 0;
      getLogger('TEST').info(`bind with ${text}`);
      return b!.logs.join('\n');
    };
    expect((await auth(request(b.url).post('/api/profiles/p')).send(withAdmin('p', 'directory-admin-pw-1'))).status).toBe(201);
    expect(logged('directory-admin-pw-1')).toContain('bind with [redacted]');
    expect((await auth(request(b.url).put('/api/profiles/p')).send(withAdmin('p', 'directory-admin-pw-2'))).status).toBe(200);
    expect(logged('directory-admin-pw-1')).toContain('bind with directory-admin-pw-1');
    expect(logged('directory-admin-pw-2')).toContain('bind with [redacted]');
    expect((await auth(request(b.url).delete('/api/profiles/p'))).status).toBe(200);
    expect(logged('directory-admin-pw-2')).toContain('bind with directory-admin-pw-2');
  });

  it('every /api answer, errors included, carries Cache-Control: no-store and Pragma: no-cache', async () => {
    b = await startTestBroker({ profiles: [ldap('a')], config: { Secret: SECRET } });
    const answers = [
      await auth(request(b.url).get('/api/profiles')),
      await auth(request(b.url).get('/api/profiles/a')),
      await auth(request(b.url).get('/api/profiles/nope')),
      await auth(request(b.url).post('/api/profiles/x')).send('{bad'),
      await request(b.url).get('/api/profiles'),
      await auth(request(b.url).patch('/api/profiles')),
    ];
    expect(answers.map((r) => r.status)).toEqual([200, 200, 404, 400, 401, 405]);
    for (const r of answers) expect([r.headers['cache-control'], r.headers.pragma]).toEqual(['no-store', 'no-cache']);
  });

  it('refuses IDs outside the safe set, naming the field, so a quote can never reach the realm header', async () => {
    b = await startTestBroker({ profiles: [], config: { Secret: SECRET } });
    for (const id of ['a"b', 'a\u0007b', 'x'.repeat(129)]) {
      const res = await auth(request(b.url).post(`/api/profiles/${encodeURIComponent(id)}`)).send(ldap(id));
      expect([res.status, res.body.Error]).toEqual([400, expect.stringMatching(/^invalid profile: ID: must be 1 to 128 letters, digits/)]);
    }
    expect(b.broker.store.list()).toEqual([]);
  });

  it('a profile can be named "Save" (routes are case-sensitive, as gorilla/mux); "save" is reserved', async () => {
    b = await startTestBroker({ profiles: [], config: { Secret: SECRET } });
    expect((await auth(request(b.url).post('/api/profiles/Save')).send(ldap('Save'))).status).toBe(201);
    expect(b.broker.store.list().map((p) => p.ID)).toEqual(['Save']);
    await expect(startTestBroker({ profiles: [ldap('save')] })).rejects.toMatchObject({
      problems: [expect.stringContaining('ID: "save" is reserved: POST /api/profiles/save saves the profile set to disk')],
    });
  });

  it('a deeply nested body is a 400 naming the field, not a crash or a 500', async () => {
    b = await startTestBroker({ profiles: [], config: { Secret: SECRET } });
    const deep = `${'{"x":'.repeat(50_000)}1${'}'.repeat(50_000)}`;
    const body = JSON.stringify(ldap('deep')).replace(/}$/, `,"Extra":${deep}}`);
    const res = await auth(request(b.url).post('/api/profiles/deep')).type('json').send(body);
    expect([res.status, res.body.Error]).toEqual([400, 'invalid profile: Extra.x.x: is nested more than 32 levels deep']);
  });

  it('with AllowedIdPHosts set, refuses a profile pointing at another host, naming the field', async () => {
    b = await startTestBroker({ profiles: [ldap('a')], config: { Secret: SECRET, AllowedIdPHosts: ['ldap.example.com', '*.idp.example.com'] } });
    const elsewhere = ldap('b', { ProviderConfig: { ...ldap('b').ProviderConfig, LDAPServer: '10.0.0.7' } });
    const res = await auth(request(b.url).post('/api/profiles/b')).send(elsewhere);
    expect([res.status, res.body.Error]).toEqual([400, 'invalid profile: ProviderConfig.LDAPServer: host "10.0.0.7" is not in AllowedIdPHosts (tib.conf)']);
    expect((await auth(request(b.url).post('/api/profiles/c')).send(ldap('c'))).status).toBe(201);
    // The same rule holds for an edit on disk: the reload is rejected.
    await fs.writeFile(b.profilesPath, JSON.stringify([ldap('a'), elsewhere]));
    expect(await b.broker.reload()).toEqual({ ok: false, problems: [expect.stringContaining('ProviderConfig.LDAPServer: host "10.0.0.7" is not in AllowedIdPHosts')] });
  });

  it('at start, a profiles file naming a host outside AllowedIdPHosts is refused', async () => {
    await expect(startTestBroker({ profiles: [ldap('a')], config: { AllowedIdPHosts: ['other.example.com'] } })).rejects.toMatchObject({
      problems: [expect.stringContaining('profile "a" (#1): ProviderConfig.LDAPServer: host "ldap.example.com" is not in AllowedIdPHosts')],
    });
  });

  it('an admin write keeps profiles.json at 0600 and writes backups at 0600', async () => {
    b = await startTestBroker({ profiles: [ldap('a')], config: { Secret: SECRET } });
    await fs.chmod(b.profilesPath, 0o600);
    expect((await auth(request(b.url).post('/api/profiles/b')).send(ldap('b'))).status).toBe(201);
    expect((await fs.stat(b.profilesPath)).mode & 0o777).toBe(0o600);
    const backups = (await fs.readdir(b.dir)).filter((f) => f.startsWith('profiles_backup_'));
    expect(backups).toHaveLength(1);
    expect((await fs.stat(path.join(b.dir, backups[0]!))).mode & 0o777).toBe(0o600);
  });
});

describe('failed admin authentications', () => {
  it('are logged at WARN with the source address, once per source per minute, never with the header given', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'admin-api-'));
    dirs.push(dir);
    const file = path.join(dir, 'profiles.json');
    await fs.writeFile(file, '[]');
    let clock = 1_000_000;
    const app = express();
    app.use('/api', adminApiRouter({ store: new ProfileStore([], { path: file, backupDir: dir, keep: 3, rules: TIB_RULES }), secret: SECRET, log: getLogger('API'), providers: builtinProviders, now: () => clock }));
    const logs = captureLogs();
    try {
      for (let i = 0; i < 5; i++) expect((await request(app).get('/api/profiles').set('Authorization', `guess-${i}-value`)).status).toBe(401);
      const warned = () => logs.lines.filter((l) => l.includes('admin API authentication failed'));
      expect(warned()).toEqual([expect.stringMatching(/\[WARN\] API: admin API authentication failed remote="(::ffff:)?127\.0\.0\.1"/)]);
      clock += 60_000;
      await request(app).get('/api/profiles').set('Authorization', 'guess-again-value');
      expect(warned()).toHaveLength(2);
      expect(warned()[1]).toContain('(and 4 more from this source in the minute before, not logged)');
      expect(logs.lines.join('\n')).not.toMatch(/guess-/);
    } finally {
      logs.stop();
    }
  });

  it('stay bounded in memory and log lines when every failure comes from a new address', () => {
    const logs = captureLogs();
    try {
      const failed = failedAuthLogger(getLogger('API'), () => 5);
      for (let i = 0; i < 5000; i++) failed(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
      const lines = logs.lines.filter((l) => l.includes('admin API authentication failed'));
      expect(lines.length).toBe(1001);
      expect(lines[1000]).toContain('remote="other addresses"');
    } finally {
      logs.stop();
    }
  });
});

describe('repeated failed admin authentications from one source', () => {
  /** One call to the broker from a chosen loopback address (the whole of 127.0.0.0/8 is this machine's). */
  const call = (url: string, authorization: string, localAddress: string) =>
    new Promise<{ status: number; retryAfter: string | undefined }>((resolve, reject) => {
      const req = http.request(`${url}/api/profiles`, { headers: { Authorization: authorization }, localAddress }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }));
      });
      req.on('error', reject);
      req.end();
    });

  it('are answered 429 with Retry-After after 10 within a minute, the right secret too; another source keeps working', async () => {
    const b = await startTestBroker({ profiles: [], config: { Secret: SECRET } });
    const logs = captureLogs();
    try {
      for (let i = 0; i < 10; i++) expect((await call(b.url, `guess-${i}`, '127.0.0.1')).status).toBe(401);
      const slowed = await call(b.url, 'guess-10', '127.0.0.1');
      expect(slowed.status).toBe(429);
      expect(Number(slowed.retryAfter)).toBeGreaterThan(0);
      expect(Number(slowed.retryAfter)).toBeLessThanOrEqual(60);
      // The right secret from the throttled source waits too: a guess that hits is not told so.
      expect((await call(b.url, SECRET, '127.0.0.1')).status).toBe(429);
      expect((await call(b.url, SECRET, '127.0.0.2')).status).toBe(200);
      expect(logs.lines.filter((l) => l.includes('admin API authentication failed'))).toHaveLength(1);
    } finally {
      logs.stop();
      await b.close();
    }
  });

  it('have their suppressed count logged when the window ends, not only at the next failure', async () => {
    const logs = captureLogs();
    try {
      const failed = failedAuthLogger(getLogger('API'), Date.now, 200);
      for (let i = 0; i < 5; i++) failed('192.0.2.9');
      await new Promise((r) => setTimeout(r, 400));
      const lines = logs.lines.filter((l) => l.includes('admin API authentication failed'));
      expect(lines).toEqual([expect.stringContaining('remote="192.0.2.9"'), expect.stringContaining('admin API authentication failed 4 more times from this source in the last minute')]);
    } finally {
      logs.stop();
    }
  });
});

describe('LDAPServer against AllowedIdPHosts, and profile IDs at the length limit', () => {
  let b: TestBroker | undefined;
  afterEach(async () => {
    await b?.close();
    b = undefined;
  });
  const ldapAt = (id: string, server: string) => offlineLdapProfile(id, {}, { LDAPServer: server });
  const post = (p: ReturnType<typeof ldapAt>) => request((b as TestBroker).url).post(`/api/profiles/${p.ID}`).set('Authorization', SECRET).send(p);

  // The LDAP URL is ldap://<LDAPServer>:<port>: a '#', '?', '/' or '@' in LDAPServer ends the host part, so
  // the suffix check saw ".corp.example" while the broker would have connected to 127.0.0.1.
  it('refuses an LDAPServer that is not a plain host name or IP address, naming the field', async () => {
    b = await startTestBroker({ profiles: [], config: { Secret: SECRET, AllowedIdPHosts: ['*.corp.example'] } });
    for (const server of ['127.0.0.1#.corp.example', '127.0.0.1:1389/.corp.example', '127.0.0.1?.corp.example', 'x@127.0.0.1#a.corp.example']) {
      const res = await post(ldapAt('sneaky', server));
      expect([res.status, res.body.Error]).toEqual([400, expect.stringContaining('ProviderConfig.LDAPServer: must be a host name or an IP address')]);
    }
    // Host names as TIB profiles write them still pass: any case, a trailing dot, IPv6 with or without brackets.
    expect((await post(ldapAt('ok1', 'DC1.Corp.Example.'))).status).toBe(201);
  });

  // URLs give IPv6 hosts in canonical form ([::1]); LDAPServer and the entries are written as the operator likes.
  it('compares IPv6 addresses in any spelling, and IDN entries by their punycode', async () => {
    expect(hostAllowed('0:0:0:0:0:0:0:1', ['::1'])).toBe(true);
    expect(hostAllowed('[::1]', ['0:0::1'])).toBe(true);
    expect(hostAllowed('2001:DB8::0:1', ['[2001:db8::1]'])).toBe(true);
    expect(hostAllowed('::2', ['::1'])).toBe(false);
    expect(hostAllowed(new URL('https://bücher.corp.example/').hostname, ['bücher.corp.example'])).toBe(true);
    b = await startTestBroker({ profiles: [], config: { Secret: SECRET, AllowedIdPHosts: ['[::1]'] } });
    expect((await post(ldapAt('v6', '0:0:0:0:0:0:0:1'))).status).toBe(201);
  });

  it('a profile ID of exactly 128 characters is created, read and deleted; 129 is refused', async () => {
    b = await startTestBroker({ profiles: [], config: { Secret: SECRET } });
    const id = `${'a.b_c-d@'.repeat(16)}`;
    expect(id).toHaveLength(128);
    expect((await post(ldapAt(id, 'ldap.example.com'))).status).toBe(201);
    expect((await request(b.url).get(`/api/profiles/${id}`).set('Authorization', SECRET)).body.Data.ID).toBe(id);
    expect((await request(b.url).delete(`/api/profiles/${id}`).set('Authorization', SECRET)).status).toBe(200);
    const res = await post(ldapAt(`${id}x`, 'ldap.example.com'));
    expect(res.status).toBe(400);
  });

  it('without an allow-list too, the same values are refused at validation', async () => {
    b = await startTestBroker({ profiles: [], config: { Secret: SECRET } });
    expect((await post(ldapAt('bad', 'ldap.example.com/x'))).status).toBe(400);
    for (const [id, server] of [['v6', '::1'], ['v6b', '[::1]'], ['v4', '10.1.2.3'], ['name', 'ldap_1.example.com']] as const) {
      expect([id, (await post(ldapAt(id, server))).status]).toEqual([id, 201]);
    }
  });
});

describe('a profile written with a "did you mean" warning (UserGroupMaping: the key is ignored)', () => {
  it('answers the warnings in the envelope, logs them at WARN, and explain repeats them; a clean write is TIB\'s envelope', async () => {
    const { agent, store } = await setup([]);
    const typo = ldap('typo', { UserGroupMaping: { devs: 'team-devs' } });
    const warning = 'UserGroupMaping: unknown key, ignored; did you mean UserGroupMapping?';
    const logs = captureLogs();
    try {
      const created = await agent().post('/api/profiles/typo').set('Authorization', SECRET).send(JSON.stringify(typo));
      expect(created.status).toBe(201);
      expect(created.body).toEqual({ Status: 'ok', ID: 'typo', Data: store.get('typo'), Warnings: [warning] });
      expect(logs.lines.filter((l) => l.includes('with a warning'))).toEqual([expect.stringMatching(/\[WARN\] API: profile created with a warning: UserGroupMaping: unknown key, ignored; did you mean UserGroupMapping\? profile="typo"/)]);

      const updated = await agent().put('/api/profiles/typo').set('Authorization', SECRET).send(JSON.stringify({ ...typo, Name: 'again' }));
      expect([updated.status, updated.body.Warnings]).toEqual([200, [warning]]);
      const explained = await agent().post('/api/profiles/typo/explain').set('Authorization', SECRET).send(JSON.stringify({ dn: 'uid=alice,dc=example,dc=org', uid: 'alice', mail: 'alice@example.org', memberOf: ['devs'] }));
      expect([explained.status, explained.body.Warnings]).toEqual([200, [warning]]);

      // No warning: TIB's envelope, byte for byte, and nothing logged.
      const clean = await agent().put('/api/profiles/typo').set('Authorization', SECRET).send(JSON.stringify(ldap('typo')));
      expect(Object.keys(clean.body)).toEqual(['Status', 'ID', 'Data']);
      expect(logs.lines.filter((l) => l.includes('with a warning'))).toHaveLength(2);
      const quiet = await agent().post('/api/profiles/typo/explain').set('Authorization', SECRET).send(JSON.stringify({ dn: 'uid=alice,dc=example,dc=org', uid: 'alice', mail: 'alice@example.org' }));
      expect(Object.keys(quiet.body)).toEqual(['Status', 'ID', 'Data']);
    } finally {
      logs.stop();
    }
  });
});
