/**
 * The Redis client's pure part (issue 9 item 1): TIB's address precedence (Addrs, Hosts, Host+Port,
 * localhost:6379), the client kind (Sentinel wins over Cluster), Timeout, credentials, TLS files and versions,
 * and the fail-fast options; plus what the loader refuses or warns about.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { ConfigError, defaultConfig, loadConfig } from '../../src/config/load.js';
import type { RedisSettings } from '../../src/config/types.js';
import { describeTargets, planRedis, redisAddresses, retryDelay, type RedisPlan } from '../../src/state/redis-client.js';

const settings = (over: Partial<RedisSettings> = {}): RedisSettings => ({ ...defaultConfig().BackEnd.IdentityBackendSettings, ...over });
const files: Record<string, string> = { '/ca.pem': 'CA', '/cert.pem': 'CERT', '/key.pem': 'KEY' };
const readFile = (p: string) => {
  const f = files[p];
  if (f === undefined) throw new Error(`no ${p}`);
  return f;
};
const plan = (over: Partial<RedisSettings> = {}): RedisPlan => planRedis(settings(over), readFile);

describe('addresses, in TIB order', () => {
  it('Addrs first, then Hosts, then Host:Port when Port is set, then localhost:6379', () => {
    expect(redisAddresses(settings({ Addrs: ['a:1', '[::1]:2'], Hosts: { h: '3' }, Host: 'x', Port: 4 }))).toEqual([
      { host: 'a', port: 1 },
      { host: '::1', port: 2 },
    ]);
    expect(redisAddresses(settings({ Hosts: { h: '3' }, Host: 'x', Port: 4 }))).toEqual([{ host: 'h', port: 3 }]);
    expect(redisAddresses(settings({ Host: 'x', Port: 4 }))).toEqual([{ host: 'x', port: 4 }]);
    expect(redisAddresses(settings({ Port: 4 }))).toEqual([{ host: 'localhost', port: 4 }]);
    expect(redisAddresses(settings({ Host: 'x' }))).toEqual([{ host: 'localhost', port: 6379 }]);
    expect(redisAddresses(settings())).toEqual([{ host: 'localhost', port: 6379 }]);
  });
  it('a Sentinel setup without any address asks the Sentinel default port', () => {
    expect(redisAddresses(settings({ MasterName: 'm' }))).toEqual([{ host: 'localhost', port: 26379 }]);
  });
});

describe('client kind', () => {
  it('one node by default, with database, ACL user and password', () => {
    const p = plan({ Host: 'r', Port: 6390, Database: 3, Username: 'u', Password: 'pw' });
    expect(p.kind).toBe('single');
    if (p.kind !== 'single') return;
    expect(p.address).toEqual({ host: 'r', port: 6390 });
    expect(p.options).toMatchObject({ db: 3, username: 'u', password: 'pw', lazyConnect: true });
    expect(describeTargets(p)).toBe('r:6390');
  });
  it('Cluster with EnableCluster, credentials on every node', () => {
    const p = plan({ EnableCluster: true, Addrs: ['a:1', 'b:2'], Password: 'pw', Username: 'u' });
    expect(p.kind).toBe('cluster');
    if (p.kind !== 'cluster') return;
    expect(p.nodes).toEqual([{ host: 'a', port: 1 }, { host: 'b', port: 2 }]);
    expect(p.options.redisOptions).toMatchObject({ password: 'pw', username: 'u' });
    expect(p.options.enableOfflineQueue).toBe(false);
    expect(describeTargets(p)).toBe('cluster a:1, b:2');
  });
  it('Sentinel when MasterName is set, even with EnableCluster (as TIB)', () => {
    const p = plan({ EnableCluster: true, MasterName: 'mymaster', SentinelPassword: 'spw', Password: 'pw', Database: 2, Addrs: ['s1:26379', 's2:26379'] });
    expect(p.kind).toBe('sentinel');
    if (p.kind !== 'sentinel') return;
    expect(p.sentinels).toEqual([{ host: 's1', port: 26379 }, { host: 's2', port: 26379 }]);
    expect(p.options).toMatchObject({ name: 'mymaster', sentinelPassword: 'spw', password: 'pw', db: 2 });
    expect(describeTargets(p)).toBe('master "mymaster" via sentinel(s) s1:26379, s2:26379');
  });
});

describe('failing fast', () => {
  it('Timeout in seconds (0 = 5) bounds connecting and every command; nothing waits in a queue', () => {
    const single = plan();
    expect(single.options).toMatchObject({ connectTimeout: 5000, commandTimeout: 5000, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    expect(plan({ Timeout: 2 }).options).toMatchObject({ connectTimeout: 2000, commandTimeout: 2000 });
    expect(plan({ Timeout: -3 }).options).toMatchObject({ connectTimeout: 5000 }); // as TIB: not positive means 5 s
    const cluster = plan({ EnableCluster: true, Timeout: 2 });
    if (cluster.kind === 'cluster') expect(cluster.options.redisOptions).toMatchObject({ connectTimeout: 2000, commandTimeout: 2000 });
  });
  it('reconnects with a growing delay, capped at about 2 s', () => {
    expect(retryDelay(1)).toBeLessThan(retryDelay(4));
    for (const n of [1, 5, 20, 1000]) expect(retryDelay(n)).toBeLessThan(2100);
  });
});

describe('TLS', () => {
  it('none without UseSSL, whatever the files', () => {
    expect(plan({ CAFile: '/ca.pem' }).options).not.toHaveProperty('tls');
  });
  it('TLS 1.2 to 1.3 by default, verified, with the CA and the client pair', () => {
    const p = plan({ UseSSL: true, CAFile: '/ca.pem', CertFile: '/cert.pem', KeyFile: '/key.pem' });
    expect(p.options).toMatchObject({ tls: { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', rejectUnauthorized: true, ca: 'CA', cert: 'CERT', key: 'KEY' } });
  });
  it('versions by TIB name, SSLInsecureSkipVerify, and a lone CertFile ignored (both or neither, as TIB)', () => {
    const p = plan({ UseSSL: true, MinVersion: '1.0', MaxVersion: '1.2', SSLInsecureSkipVerify: true, CertFile: '/cert.pem' });
    expect(p.options).toMatchObject({ tls: { minVersion: 'TLSv1', maxVersion: 'TLSv1.2', rejectUnauthorized: false } });
    expect((p.options as { tls: object }).tls).not.toHaveProperty('cert');
  });
  it('Sentinel speaks TLS to the sentinels and to the master; Cluster to every node', () => {
    const s = plan({ UseSSL: true, MasterName: 'm', Addrs: ['s:1'] });
    expect(s.options).toMatchObject({ enableTLSForSentinelMode: true, sentinelTLS: { minVersion: 'TLSv1.2' }, tls: { minVersion: 'TLSv1.2' } });
    const c = plan({ UseSSL: true, EnableCluster: true });
    if (c.kind === 'cluster') expect(c.options.redisOptions).toMatchObject({ tls: { minVersion: 'TLSv1.2' } });
  });
});

describe('the loader', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-conf-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const load = (settingsJson: Record<string, unknown>, backEnd: Record<string, unknown> = { Name: 'redis' }) => {
    const p = path.join(dir, `tib-${n++}.conf`);
    fs.writeFileSync(p, JSON.stringify({ BackEnd: { ...backEnd, IdentityBackendSettings: settingsJson } }));
    return loadConfig({ confPath: p, env: {} });
  };
  const problems = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      if (err instanceof ConfigError) return err.problems.join('\n');
      throw err;
    }
    return '';
  };
  it('refuses a database other than 0 on a Cluster, naming the file and field', () => {
    expect(problems(() => load({ EnableCluster: true, Database: 2 }))).toMatch(/tib-\d+\.conf: BackEnd\.IdentityBackendSettings\.Database: Redis Cluster has only database 0/);
  });
  it('refuses unreadable TLS files when Redis is used over TLS', () => {
    expect(problems(() => load({ UseSSL: true, CAFile: path.join(dir, 'missing.pem') }))).toMatch(/IdentityBackendSettings\.CAFile: cannot read/);
    expect(problems(() => load({ UseSSL: true, CAFile: path.join(dir, 'missing.pem') }, { Name: 'in_memory' }))).toBe('');
  });
  it('refuses a port out of range', () => {
    expect(problems(() => load({ Port: 70000 }))).toMatch(/IdentityBackendSettings\.Port: must be between 0 and 65535/);
  });
  it('warns that Host without Port is ignored, as in TIB', () => {
    expect(load({ Host: 'redis.internal' }).warnings.join('\n')).toMatch(/IdentityBackendSettings\.Host: ignored because Port is 0/);
  });
});

describe('Redis settings refused at load, naming the key and never the password', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-refused-'));
  let n = 0;
  function refusal(conf: unknown, env: NodeJS.ProcessEnv = {}): string {
    const file = path.join(dir, `tib-${n++}.conf`);
    fs.writeFileSync(file, JSON.stringify(conf));
    try {
      loadConfig({ confPath: file, env });
    } catch (err) {
      return (err as Error).message;
    }
    return 'accepted';
  }
  const redis = (settings: Record<string, unknown>) => ({ BackEnd: { Name: 'redis', IdentityBackendSettings: settings } });
  const K = 'BackEnd.IdentityBackendSettings';
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('ports outside 1-65535 in Addrs and Hosts', () => {
    expect(refusal(redis({ Addrs: ['127.0.0.1:99999'] }))).toContain(`${K}.Addrs: "127.0.0.1:99999": the port must be between 1 and 65535`);
    expect(refusal(redis({ Addrs: ['127.0.0.1:0'] }))).toContain(`${K}.Addrs`);
    expect(refusal(redis({ Hosts: { 'redis.local': '70000' } }))).toContain(`${K}.Hosts: port of redis.local`);
    expect(refusal({}, { TYK_IB_BACKEND_NAME: 'redis', TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_ADDRS: 'a:6379,b:65536' })).toContain('TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_ADDRS: "b:65536"');
    expect(refusal(redis({ Addrs: ['127.0.0.1:6379', '[::1]:6380'] }))).toBe('accepted');
  });

  it('an address written as a URL with a password: refused without the password', () => {
    const message = refusal(redis({ Addrs: ['redis://default:hunter2-never-shown@redis.local:6379'] }));
    expect(message).toContain(`${K}.Addrs`);
    expect(message).toContain('redis.local:6379');
    expect(message).not.toContain('hunter2');
  });

  it('a negative or timer-overflowing Timeout, a negative MaxActive', () => {
    expect(refusal(redis({ Port: 6379, Timeout: -1 }))).toContain(`${K}.Timeout: must be between 0`);
    expect(refusal(redis({ Port: 6379, Timeout: 3_000_000 }))).toContain(`${K}.Timeout`);
    expect(refusal({}, { TYK_IB_STORAGE_STORAGETYPE: 'redis', TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_TIMEOUT: '-2' })).toContain('TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_TIMEOUT: must be between 0');
    expect(refusal(redis({ Port: 6379, MaxActive: -5 }))).toContain(`${K}.MaxActive: must not be negative`);
    expect(refusal(redis({ Port: 6379, Timeout: 3600, MaxActive: 0 }))).toBe('accepted');
  });
});
