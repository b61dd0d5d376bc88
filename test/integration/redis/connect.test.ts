/**
 * The Redis client against real servers (issue 9 item 1): a password and a database number, an ACL user, TLS
 * with a test CA (and refused without it), a three-master Cluster and a Sentinel, each configured from tib.conf
 * alone and from the TYK_IB_* variables alone, each writing and reading real single-use marks. Connection problems are
 * logged once with host:port, never with a password.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Cluster } from 'ioredis';
import { loadConfig } from '../../../src/config/load.js';
import type { RedisSettings } from '../../../src/config/types.js';
import { closeRedis, createRedisClient, waitForRedis, type RedisClient } from '../../../src/state/redis-client.js';
import { RedisReplayCache } from '../../../src/state/replay-cache.js';
import { captureLogs } from '../../support/logs.js';
import { startCluster, startRedis, startSentinel, type TestCluster, type TestRedis, type TestSentinel } from '../../support/redis.js';
import { freePort } from '../../support/slapd.js';

const PASSWORD = 'redis-password-never-logged-1';
const ACL_PASSWORD = 'acl-password-never-logged-2';
const SENTINEL_PASSWORD = 'sentinel-password-never-logged-3';
const CLUSTER_PASSWORD = 'cluster-password-never-logged-4';
const SECRETS = [PASSWORD, ACL_PASSWORD, SENTINEL_PASSWORD, CLUSTER_PASSWORD];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-connect-'));
const logs = captureLogs();
const clients: RedisClient[] = [];
let plain: TestRedis;
let acl: TestRedis;
let tls: TestRedis;
let cluster: TestCluster;
let master: TestRedis;
let sentinel: TestSentinel;

beforeAll(async () => {
  [plain, acl, tls, cluster, master] = await Promise.all([
    startRedis({ password: PASSWORD }),
    startRedis({ password: PASSWORD, user: { name: 'tib', password: ACL_PASSWORD } }),
    startRedis({ tls: true }),
    startCluster({ password: CLUSTER_PASSWORD }),
    startRedis({ password: PASSWORD }),
  ]);
  sentinel = await startSentinel({ master, password: SENTINEL_PASSWORD, masterPassword: PASSWORD });
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map(closeRedis));
  await Promise.all([plain?.stop(), acl?.stop(), tls?.stop(), cluster?.stop(), master?.stop(), sentinel?.stop()]);
  for (const r of [plain, acl, tls, master]) if (r) fs.rmSync(r.dir, { recursive: true, force: true });
  fs.rmSync(dir, { recursive: true, force: true });
  logs.stop();
});

type Settings = Partial<RedisSettings>;
let n = 0;

/** The settings written into a tib.conf, loaded as the broker loads them. */
function fromFile(s: Settings): RedisSettings {
  const p = path.join(dir, `tib-${n++}.conf`);
  fs.writeFileSync(p, JSON.stringify({ BackEnd: { Name: 'redis', IdentityBackendSettings: s } }));
  return loadConfig({ confPath: p, env: {} }).config.BackEnd.IdentityBackendSettings;
}

/** The same settings as TYK_IB_* variables only (no file), in TIB's env formats. */
function fromEnv(s: Settings): RedisSettings {
  const env: NodeJS.ProcessEnv = { TYK_IB_OMITCONFIGFILE: 'true', TYK_IB_BACKEND_NAME: 'redis' };
  for (const [k, v] of Object.entries(s)) {
    const name = `TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_${k.toUpperCase()}`;
    env[name] = Array.isArray(v)
      ? v.join(',')
      : typeof v === 'object'
        ? Object.entries(v as Record<string, string>)
            .map(([h, p]) => `${h}:${p}`)
            .join(',')
        : String(v);
  }
  const { config } = loadConfig({ confPath: path.join(dir, 'absent.conf'), env });
  return config.BackEnd.IdentityBackendSettings;
}

async function connect(settings: RedisSettings): Promise<{ client: RedisClient; ready: boolean }> {
  const client = await createRedisClient(settings);
  clients.push(client);
  const ready = await waitForRedis(client, 10_000);
  return { client, ready };
}

/** A real single-use mark written and refused the second time; returns the key it used. */
async function roundTrip(client: RedisClient, id: string): Promise<string> {
  const marks = new RedisReplayCache(client, 'tib:');
  expect(await marks.firstUse('p', id, 60_000)).toBe(true);
  expect(await client.ttl(`tib:saml:assertion:p:${id}`)).toBeGreaterThan(50);
  expect(await marks.firstUse('p', id, 60_000)).toBe(false);
  return `tib:saml:assertion:p:${id}`;
}

const sources = [
  ['tib.conf', fromFile],
  ['TYK_IB_* variables', fromEnv],
] as const;

describe.each(sources)('from %s alone', (source, load) => {
  it('a password and a database number', async () => {
    const { client, ready } = await connect(load({ Host: '127.0.0.1', Port: plain.port, Password: PASSWORD, Database: 3, Timeout: 2 }));
    expect(ready).toBe(true);
    const marks = new RedisReplayCache(client, 'tib:');
    expect(await marks.firstUse('p', `db-${source}`, 60_000)).toBe(true);
    // It landed in database 3, not 0.
    expect(await plain.cli('-n', '3', 'EXISTS', `tib:saml:assertion:p:db-${source}`)).toBe('1');
    expect(await plain.cli('-n', '0', 'EXISTS', `tib:saml:assertion:p:db-${source}`)).toBe('0');
    expect(await marks.firstUse('p', `db-${source}`, 60_000)).toBe(false);
  });

  it('an ACL user (the default user would be refused without its own password)', async () => {
    const { client, ready } = await connect(load({ Addrs: [`127.0.0.1:${acl.port}`], Username: 'tib', Password: ACL_PASSWORD }));
    expect(ready).toBe(true);
    expect(await client.call('ACL', 'WHOAMI')).toBe('tib');
    await roundTrip(client, `acl-${source}`);
  });

  it('TLS verified with the test CA, TLS 1.2 to 1.3', async () => {
    const { client, ready } = await connect(load({ Hosts: { '127.0.0.1': String(tls.port) }, UseSSL: true, CAFile: tls.ca!.caCert, MinVersion: '1.2' }));
    expect(ready).toBe(true);
    await roundTrip(client, `tls-${source}`);
  });

  it('TLS without the CA is refused (the certificate is not trusted), and fails fast', async () => {
    const before = logs.lines.length;
    const { client, ready } = await connect(load({ Host: '127.0.0.1', Port: tls.port, UseSSL: true, Timeout: 2 }));
    expect(ready).toBe(false);
    const started = Date.now();
    await expect(new RedisReplayCache(client, 'tib:').firstUse('p', 'x', 60_000)).rejects.toThrow();
    // Under two Timeouts (2 s): one wait at most, with room for a loaded machine.
    expect(Date.now() - started).toBeLessThan(3900);
    const warned = logs.lines.slice(before).filter((l) => l.includes(`Redis 127.0.0.1:${tls.port} unreachable`));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatch(/CERT|certificate/i);
  });

  it('a three-master Redis Cluster, keys spread over the slots', async () => {
    const { client, ready } = await connect(load({ EnableCluster: true, Addrs: cluster.addrs, Password: CLUSTER_PASSWORD }));
    expect(ready).toBe(true);
    expect(client).toBeInstanceOf(Cluster);
    for (let i = 0; i < 12; i++) await roundTrip(client, `cluster-${source}-${i}`);
    // Several masters really hold keys (one per node at least over 12 random slots is near certain; check two).
    const marks = new RedisReplayCache(client, 'tib:');
    for (let i = 0; i < 30; i++) await marks.firstUse(`spread-${i}`, `${source}-${i}`, 60_000);
    const counts = await Promise.all(cluster.nodes.map((r) => r.cli('DBSIZE')));
    expect(counts.filter((c) => Number(c) > 0).length).toBeGreaterThanOrEqual(2);
  });

  it('Sentinel: the master found by name through a password-protected sentinel (wins over EnableCluster)', async () => {
    const { client, ready } = await connect(
      load({ MasterName: sentinel.masterName, Addrs: [`127.0.0.1:${sentinel.port}`], SentinelPassword: SENTINEL_PASSWORD, Password: PASSWORD, EnableCluster: true, Database: 1 }),
    );
    expect(ready).toBe(true);
    expect(client).not.toBeInstanceOf(Cluster);
    const marks = new RedisReplayCache(client, 'tib:');
    expect(await marks.firstUse('p', `sentinel-${source}`, 60_000)).toBe(true);
    expect(await master.cli('-n', '1', 'EXISTS', `tib:saml:assertion:p:sentinel-${source}`)).toBe('1');
    expect(await marks.firstUse('p', `sentinel-${source}`, 60_000)).toBe(false);
  });
});

describe('connection problems', () => {
  it('a Redis that is not there: one WARN with host:port and the cause, not one per retry; INFO when it comes', async () => {
    const port = await freePort();
    const before = logs.lines.length;
    const { client, ready } = await connect(fromFile({ Host: '127.0.0.1', Port: port, Password: PASSWORD, Timeout: 1 }));
    expect(ready).toBe(false);
    await new Promise((r) => setTimeout(r, 1500)); // several retries
    const lines = () => logs.lines.slice(before).filter((l) => l.includes(`127.0.0.1:${port}`));
    expect(lines()).toHaveLength(1);
    expect(lines()[0]).toMatch(new RegExp(`WARN.*Redis 127\\.0\\.0\\.1:${port} unreachable: ECONNREFUSED`));
    const late = await startRedis({ port, password: PASSWORD });
    try {
      expect(await waitForRedis(client, 5000)).toBe(true);
      expect(lines()[1]).toMatch(new RegExp(`INFO.*Redis 127\\.0\\.0\\.1:${port} reachable again`));
    } finally {
      client.disconnect();
      await late.stop();
      fs.rmSync(late.dir, { recursive: true, force: true });
    }
  }, 15_000);

  it('closing a connected client logs no outage (a sync command or a stopping broker said "unreachable: connection closed")', async () => {
    const { client, ready } = await connect(fromFile({ Host: '127.0.0.1', Port: plain.port, Password: PASSWORD }));
    expect(ready).toBe(true);
    const before = logs.lines.length;
    await closeRedis(client);
    expect(logs.lines.slice(before).filter((l) => l.includes('unreachable'))).toEqual([]);
  });

  it('a wrong password is reported without the password', async () => {
    const before = logs.lines.length;
    const { ready } = await connect(fromFile({ Host: '127.0.0.1', Port: plain.port, Password: 'wrong-password-never-logged-5' }));
    expect(ready).toBe(false);
    const line = logs.lines.slice(before).find((l) => l.includes(`Redis 127.0.0.1:${plain.port} unreachable`));
    expect(line).toMatch(/WRONGPASS|invalid/i);
    expect(line).not.toContain('wrong-password-never-logged-5');
  });

  it('no password ever appears in a log line', () => {
    expect(logs.lines.length).toBeGreaterThan(0);
    for (const l of logs.lines) for (const s of [...SECRETS, 'wrong-password-never-logged-5']) expect(l).not.toContain(s);
  });
});
