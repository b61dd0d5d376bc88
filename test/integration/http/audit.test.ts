/**
 * The audit log (issue 11, item 7): one JSON line per login that ended (LDAP against a real slapd: a success
 * with its teams and a wrong password) and per admin-API change (refused ones included), with the user as an
 * HMAC-SHA-256 under TYK_IB_AUDIT_KEY, never the user ID, a password, a token or a secret; the file is
 * created (or narrowed) to mode 0600. Bad Audit settings are refused at load time.
 */
import { createHmac } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { createAuditLog } from '../../../src/audit.js';
import { ConfigError, loadConfig } from '../../../src/config/load.js';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { ldapProfile, SERVICE_PW, startSlapd, SUFFIX, type Slapd } from '../../support/slapd.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const CRED = 'dashboard-credential-for-audit';
const ADMIN = 'dashboard-admin-secret-for-audit';
const SECRET = 'admin-api-secret-for-audit-tests';
const AUDIT_KEY = 'audit-key-for-tests-0123456789abcdef';
const SESSION_SECRET = 'session-secret-for-audit-tests-0123456789';
const MAPPING = { [`cn=admins,ou=groups,${SUFFIX}`]: 'team-admins', [`cn=developers,ou=groups,${SUFFIX}`]: 'team-devs' };

let slapd: Slapd;
let stub: TykStub;
let broker: TestBroker;
let dir: string;
let auditPath: string;

type Event = Record<string, unknown>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readEvents(): Promise<Event[]> {
  const text = await fs.readFile(auditPath, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Event);
}

/** The audit stream is written asynchronously: wait (bounded) until it holds `n` events. */
async function eventsAfter(n: number): Promise<Event[]> {
  for (let i = 0; i < 100; i++) {
    const events = await readEvents();
    if (events.length >= n) return events;
    await sleep(50);
  }
  throw new Error(`the audit log never reached ${n} events: ${JSON.stringify(await readEvents())}`);
}

const hmac = (userId: string) => `hmac-sha256:${createHmac('sha256', AUDIT_KEY).update(userId).digest('hex')}`;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'audit-'));
  auditPath = path.join(dir, 'audit.log');
  // A file an operator made world-readable: the broker narrows it before writing.
  await fs.writeFile(auditPath, '', { mode: 0o644 });
  await fs.chmod(auditPath, 0o644);
  [slapd, stub] = await Promise.all([startSlapd(), startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN })]);
  broker = await startTestBroker({
    config: {
      Secret: SECRET,
      SessionSecret: SESSION_SECRET,
      Audit: { Enabled: true, Path: auditPath, Key: AUDIT_KEY },
      TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } },
    },
    profiles: [{ ...ldapProfile(slapd, { id: 'directory', returnUrl: `${stub.url}/tap`, credential: CRED }), CustomUserGroupField: 'memberOf', UserGroupMapping: MAPPING }],
  });
}, 60_000);

afterAll(async () => {
  await broker?.close();
  await Promise.all([stub?.close(), slapd?.stop()]);
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('audit log', () => {
  it('writes one event per login: success with its teams, failure with a bounded reason; the user only as a keyed hash', async () => {
    expect((await request(broker.url).post('/auth/directory/ldap').type('form').send({ username: 'alice', password: 'alice-pass' })).status).toBe(302);
    expect((await request(broker.url).post('/auth/directory/ldap').type('form').send({ username: 'alice', password: 'wrong-password' })).status).toBe(401);
    const events = await eventsAfter(2);
    expect(events).toHaveLength(2);
    const [ok, bad] = events as [Event, Event];
    expect(ok).toMatchObject({ event: 'login', profile: 'directory', provider: 'ADProvider', outcome: 'success', user: hmac('alice'), client: '127.0.0.1' });
    expect(ok.teams).toEqual(expect.arrayContaining(['team-admins', 'team-devs']));
    expect(typeof ok.timestamp).toBe('string');
    // The provider refused before it established a user: no user field, and a reason from the closed set.
    expect(bad).toMatchObject({ event: 'login', profile: 'directory', outcome: 'failure', reason: 'bad_credentials', teams: [], client: '127.0.0.1' });
    expect(bad.user).toBeUndefined();
  });

  it('writes one event per admin-API change, refused ones included, and none for reads', async () => {
    const before = (await readEvents()).length;
    const api = (m: 'get' | 'post' | 'put' | 'delete', p: string) => request(broker.url)[m](`/api${p}`).set('Authorization', SECRET);
    const profile = { ...ldapProfile(slapd, { id: 'added', returnUrl: `${stub.url}/tap`, credential: CRED }) };
    expect((await api('get', '/profiles')).status).toBe(200);
    expect((await api('post', '/profiles/added').type('json').send(JSON.stringify(profile))).status).toBe(201);
    expect((await api('post', '/profiles/added').type('json').send(JSON.stringify(profile))).status).toBe(400);
    expect((await api('delete', '/profiles/added')).status).toBe(200);
    // Wrong secret: refused, and audited as such.
    expect((await request(broker.url).delete('/api/profiles/directory').set('Authorization', 'wrong')).status).toBe(401);
    const events = (await eventsAfter(before + 4)).slice(before);
    expect(events).toEqual([
      expect.objectContaining({ event: 'admin', operation: 'create', profile: 'added', outcome: 'success', status: 201, client: '127.0.0.1' }),
      expect.objectContaining({ event: 'admin', operation: 'create', profile: 'added', outcome: 'failure', status: 400 }),
      expect.objectContaining({ event: 'admin', operation: 'delete', profile: 'added', outcome: 'success', status: 200 }),
      expect.objectContaining({ event: 'admin', operation: 'delete', profile: 'directory', outcome: 'failure', status: 401 }),
    ]);
  });

  it('holds no secret, password or user ID, and is readable by its owner only', async () => {
    const text = await fs.readFile(auditPath, 'utf8');
    for (const secret of ['alice-pass', 'wrong-password', SECRET, 'wrong', ADMIN, CRED, AUDIT_KEY, SESSION_SECRET, SERVICE_PW, '"alice"', 'uid=alice']) {
      expect(text).not.toContain(secret);
    }
    expect((await fs.stat(auditPath)).mode & 0o777).toBe(0o600);
    // Nothing of it leaks into the application log either.
    expect(broker.logs.join('\n')).not.toContain('"event":"login"');
  });
});

describe('unauthenticated admin refusals', () => {
  const refusedEvents = (events: Event[]) => events.filter((e) => e.event === 'admin' && (e.status === 401 || e.status === 429));

  it('200 from one source write a bounded number of lines, the last carrying the count (written when the broker closes)', async () => {
    const file = path.join(dir, 'refusals.log');
    const b = await startTestBroker({ profiles: [], config: { Secret: SECRET, SessionSecret: SESSION_SECRET, Audit: { Enabled: true, Path: file, Key: AUDIT_KEY } } });
    try {
      for (let i = 0; i < 200; i++) expect([401, 429]).toContain((await request(b.url).delete(`/api/profiles/p${i}`).set('Authorization', `wrong-${i}`)).status);
    } finally {
      await b.close();
    }
    const events = (await fs.readFile(file, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Event);
    const refused = refusedEvents(events);
    expect(refused).toHaveLength(2);
    expect(refused[0]).toMatchObject({ operation: 'delete', profile: 'p0', status: 401, client: '127.0.0.1' });
    expect(refused[0]).not.toHaveProperty('count');
    expect(refused[1]).toMatchObject({ operation: 'delete', profile: 'p199', outcome: 'failure', client: '127.0.0.1', count: 199 });
    expect(events).toHaveLength(2);
  });

  it('the count is written when the window ends, without waiting for close or another refusal', async () => {
    const file = path.join(dir, 'refusals-timer.log');
    const audit = createAuditLog({ Enabled: true, Path: file, Key: AUDIT_KEY }, SESSION_SECRET, process.stdout, 200);
    try {
      for (let i = 0; i < 200; i++) audit.admin({ operation: 'delete', profile: `p${i}`, outcome: 'failure', status: 401, client: '192.0.2.7' });
      await sleep(400);
      const events = (await fs.readFile(file, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Event);
      expect(refusedEvents(events)).toEqual([expect.objectContaining({ profile: 'p0' }), expect.objectContaining({ profile: 'p199', count: 199 })]);
    } finally {
      await audit.close();
    }
  });
});

describe('Audit settings at load time', () => {
  async function load(conf: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) {
    const confPath = path.join(dir, `tib-${Math.random().toString(36).slice(2)}.conf`);
    await fs.writeFile(confPath, JSON.stringify(conf));
    return loadConfig({ confPath, env });
  }
  const problems = async (conf: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => {
    try {
      await load(conf, env);
      return '';
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return err.message;
    }
  };

  it('refuses an audit log without a key for the user hash, a short key, or a directory that is not there', async () => {
    expect(await problems({ Audit: { Enabled: true } })).toMatch(/Audit\.Key.*TYK_IB_AUDIT_KEY.*TYK_IB_SESSION_SECRET/);
    expect(await problems({ Audit: { Enabled: true, Key: 'short' } })).toMatch(/Audit\.Key.*at least 32/);
    expect(await problems({ Audit: { Enabled: true, Path: '/nonexistent-dir/audit.log' } }, { TYK_IB_SESSION_SECRET: SESSION_SECRET })).toMatch(/Audit\.Path.*nonexistent-dir/);
  });

  it('takes the key from TYK_IB_AUDIT_KEY and the switch from TYK_IB_AUDIT_ENABLED', async () => {
    const { config } = await load({}, { TYK_IB_AUDIT_ENABLED: 'true', TYK_IB_AUDIT_KEY: AUDIT_KEY, TYK_IB_AUDIT_PATH: auditPath });
    expect(config.Audit).toEqual({ Enabled: true, Path: auditPath, Key: AUDIT_KEY });
  });

  it('refuses a management port equal to the main port, and names TYK_IB_MANAGEMENT_PORT', async () => {
    expect(await problems({ Port: 4000, Management: { Port: 4000 } })).toMatch(/Management\.Port.*differ/);
    expect(await problems({}, { TYK_IB_MANAGEMENT_PORT: '70000' })).toMatch(/TYK_IB_MANAGEMENT_PORT.*65535/);
  });
});

describe('Audit.Path naming a directory', () => {
  it('is refused at load time naming the field and the fix (it passed --check, then the start failed with EISDIR)', async () => {
    const confPath = path.join(dir, 'audit-dir.conf');
    await fs.writeFile(confPath, JSON.stringify({ Audit: { Enabled: true, Path: dir, Key: 'k'.repeat(32) } }));
    let message = '';
    try {
      loadConfig({ confPath, env: {} });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      message = err.message;
    }
    expect(message).toContain(`Audit.Path: ${dir} is a directory: name the log file in it, e.g. ${path.join(dir, 'audit.log')}`);
    // A file in an existing directory is still fine.
    await fs.writeFile(confPath, JSON.stringify({ Audit: { Enabled: true, Path: path.join(dir, 'audit.log'), Key: 'k'.repeat(32) } }));
    expect(loadConfig({ confPath, env: {} }).config.Audit.Path).toBe(path.join(dir, 'audit.log'));
  });
});
