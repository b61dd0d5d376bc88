/**
 * The brute-force guard itself (src/login/brute-force.ts), in memory and on a real three-node Redis Cluster:
 * a parallel burst gets exactly the limit through (attempts are counted before the password is checked),
 * attempts the directory could not judge give their points back, a lockout is logged once, and the settings
 * are checked in tib.conf and in a profile, each problem naming its key.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig, ConfigError } from '../../../src/config/load.js';
import { getLogger } from '../../../src/log.js';
import { bruteForceProblems } from '../../../src/config/brute-force.js';
import { BruteForceGuard, usernameKey } from '../../../src/state/brute-force.js';
import { validateProfile } from '../../../src/profiles/validate.js';
import { closeRedis, createRedisClient, waitForRedis, type RedisClient } from '../../../src/state/redis-client.js';
import { captureLogs } from '../../support/logs.js';
import { startCluster, type TestCluster } from '../../support/redis.js';
import { FIRST } from '../../support/rules.js';

const log = getLogger('TEST');
const guard = (settings: Partial<{ UsernameLimit: number; IPLimit: number; WindowSeconds: number; BlockSeconds: number }>, redis?: RedisClient, profileId = 'p') =>
  new BruteForceGuard({ profileId, settings: { UsernameLimit: 5, IPLimit: 0, WindowSeconds: 60, BlockSeconds: 60, ...settings }, log, redis, keyPrefix: 'tib:', logSecret: 'a-session-secret' });

describe('in memory', () => {
  it('a parallel burst of 20 guesses for one username gets exactly 5 through, and one lockout line', async () => {
    const capture = captureLogs();
    try {
      const g = guard({ UsernameLimit: 5 });
      const results = await Promise.all(Array.from({ length: 20 }, () => g.admit('alice', '192.0.2.1')));
      expect(results.filter((r) => r.allowed)).toHaveLength(5);
      expect(capture.lines.filter((l) => l.includes('locked out'))).toHaveLength(1);
    } finally {
      capture.stop();
    }
  });

  it('username spellings the directory treats alike share a counter', () => {
    expect(usernameKey(' ALICE ')).toBe(usernameKey('alice'));
    expect(usernameKey('Zoe\u0308')).toBe(usernameKey('zoë'));
    expect(usernameKey('alice')).not.toBe(usernameKey('alice2'));
  });

  it('attempts the directory could not judge give their points back', async () => {
    const g = guard({ UsernameLimit: 2, IPLimit: 2 });
    for (let i = 0; i < 5; i++) {
      const r = await g.admit('bob', '192.0.2.2');
      if (!r.allowed) throw new Error(`refused at ${i}`);
      await r.attempt.undecided();
    }
  });

  it('a username lockout does not use up the IP budget; an IP lockout does not count usernames', async () => {
    const g = guard({ UsernameLimit: 1, IPLimit: 3 });
    expect((await g.admit('carol', '192.0.2.3')).allowed).toBe(true);
    for (let i = 0; i < 5; i++) expect((await g.admit('carol', '192.0.2.3')).allowed).toBe(false);
    // The locked username's retries did not count against the IP: two more users still get through.
    expect((await g.admit('dave', '192.0.2.3')).allowed).toBe(true);
    expect((await g.admit('erin', '192.0.2.3')).allowed).toBe(true);
    expect((await g.admit('frank', '192.0.2.3')).allowed).toBe(false);
    // frank was refused by the IP limit before his own counter was touched: from elsewhere he has his full limit.
    expect((await g.admit('frank', '192.0.2.4')).allowed).toBe(true);
  });

  it('a success resets the username counter and gives the IP its point back', async () => {
    const g = guard({ UsernameLimit: 2, IPLimit: 2 });
    for (let i = 0; i < 4; i++) {
      const r = await g.admit('gina', '192.0.2.5');
      if (!r.allowed) throw new Error(`refused at ${i}`);
      await r.attempt.succeeded();
    }
  });

  it('a client with a device cookie for the user counts only as its own pair: the address and the user limits do not refuse it', async () => {
    const g = guard({ UsernameLimit: 1, IPLimit: 1 });
    expect((await g.admit('ida', '192.0.2.8')).allowed).toBe(true);
    expect((await g.admit('ida', '192.0.2.8')).allowed).toBe(false);
    const r = await g.admit('ida', '192.0.2.8', { device: 'device-of-ida' });
    expect(r.allowed).toBe(true);
    // Its own pair has the same limit.
    expect((await g.admit('ida', '192.0.2.8', { device: 'device-of-ida' })).allowed).toBe(false);
  });

  it('past IPLimit, a peer forwarding X-Forwarded-For outside TrustedProxies is counted per forwarded client', async () => {
    const g = guard({ UsernameLimit: 0, IPLimit: 2 });
    for (let i = 0; i < 2; i++) expect((await g.admit(`u${i}`, '192.0.2.9', { forwardedClient: '198.51.100.1' })).allowed).toBe(true);
    expect((await g.admit('u2', '192.0.2.9', { forwardedClient: '198.51.100.1' })).allowed).toBe(false);
    expect((await g.admit('u3', '192.0.2.9')).allowed).toBe(false);
    expect((await g.admit('u4', '192.0.2.9', { forwardedClient: '198.51.100.2' })).allowed).toBe(true);
  });

  it('limits of 0 turn the guard off', async () => {
    const g = guard({ UsernameLimit: 0, IPLimit: 0 });
    expect(g.enabled).toBe(false);
    for (let i = 0; i < 10; i++) expect((await g.admit('henry', '192.0.2.6')).allowed).toBe(true);
  });

  it('the log hash is keyed: stable for one secret, different for another, never the username', () => {
    const a = guard({});
    const b = new BruteForceGuard({ profileId: 'p', settings: { UsernameLimit: 5, IPLimit: 0, WindowSeconds: 60, BlockSeconds: 60 }, log, keyPrefix: 'tib:', logSecret: 'another-secret' });
    expect(a.userHash('alice')).toMatch(/^[0-9a-f]{12}$/);
    expect(a.userHash('ALICE')).toBe(a.userHash('alice'));
    expect(b.userHash('alice')).not.toBe(a.userHash('alice'));
  });
});

describe('on a Redis Cluster (three masters)', () => {
  let cluster: TestCluster;
  let clients: RedisClient[] = [];
  beforeAll(async () => {
    cluster = await startCluster();
    const { config } = loadConfig({
      confPath: path.join(os.tmpdir(), 'absent-brute-force.conf'),
      env: { TYK_IB_OMITCONFIGFILE: 'true', TYK_IB_BACKEND_NAME: 'redis', TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_ENABLECLUSTER: 'true', TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_ADDRS: cluster.addrs.join(',') },
    });
    clients = [await createRedisClient(config.BackEnd.IdentityBackendSettings), await createRedisClient(config.BackEnd.IdentityBackendSettings)];
    for (const c of clients) expect(await waitForRedis(c, 10_000)).toBe(true);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => closeRedis(c)));
    await cluster?.stop();
  });

  it('two replicas share the counters: a burst spread over both gets exactly the limit through', async () => {
    const [a, b] = clients.map((c) => guard({ UsernameLimit: 3, IPLimit: 0 }, c, 'cluster')) as [BruteForceGuard, BruteForceGuard];
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).admit('ivy', '192.0.2.7')));
    expect(results.filter((r) => r.allowed)).toHaveLength(3);
    // Many users, so the keys land on different nodes of the cluster: each counts on its own slot.
    for (let i = 0; i < 20; i++) expect((await a.admit(`user-${i}`, '192.0.2.7')).allowed).toBe(true);
    const ttl = await (clients[0] as RedisClient).ttl(`tib:lockout:cluster:user:${usernameKey('ivy')}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);
  });
});

describe('settings', () => {
  it('ranges are checked, each problem naming its key', () => {
    expect(bruteForceProblems({ UsernameLimit: 5, IPLimit: 50, WindowSeconds: 900, BlockSeconds: 900 })).toEqual([]);
    expect(bruteForceProblems({ UsernameLimit: -1, IPLimit: 50, WindowSeconds: 0, BlockSeconds: 10_000_000 }).map((p) => p.field)).toEqual(['UsernameLimit', 'WindowSeconds', 'BlockSeconds']);
  });

  it('tib.conf and TYK_IB_* variables: BruteForce and TrustedProxies are read and checked at load', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'brute-force-conf-'));
    try {
      const conf = path.join(dir, 'tib.conf');
      fs.writeFileSync(conf, JSON.stringify({ BruteForce: { UsernameLimit: 3, WindowSeconds: 0 }, TrustedProxies: ['10.0.0.1', 'proxy.internal'] }));
      let problems: string[] = [];
      try {
        loadConfig({ confPath: conf, env: {} });
      } catch (err) {
        problems = (err as ConfigError).problems;
      }
      expect(problems).toEqual([expect.stringContaining('tib.conf: BruteForce.WindowSeconds: must be between 1'), expect.stringContaining('tib.conf: TrustedProxies: "proxy.internal" is not an IP address')]);

      const { config } = loadConfig({ confPath: conf, env: { TYK_IB_BRUTEFORCE_WINDOWSECONDS: '60', TYK_IB_BRUTEFORCE_IPLIMIT: '0', TYK_IB_TRUSTEDPROXIES: '10.0.0.1,10.1.0.0/16' } });
      expect(config.BruteForce).toEqual({ UsernameLimit: 3, IPLimit: 0, WindowSeconds: 60, BlockSeconds: 900 });
      expect(config.TrustedProxies).toEqual(['10.0.0.1', '10.1.0.0/16']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a profile override is checked: wrong types, ranges and unknown keys name the field', () => {
    const raw = {
      ID: 'ldap',
      OrgID: 'org',
      ActionType: 'GenerateOrLoginUserProfile',
      ProviderName: 'ADProvider',
      ProviderConfig: { LDAPServer: 'ldap.example.com', LDAPPort: '389', LDAPUserDN: 'uid=*USERNAME*,dc=example', BruteForce: { UsernameLimit: -1, IPLimit: '5', BlockSecs: 5 } },
    };
    const { problems } = validateProfile(raw, FIRST);
    expect(problems.map((p) => p.field).sort()).toEqual(['ProviderConfig.BruteForce.BlockSecs', 'ProviderConfig.BruteForce.IPLimit', 'ProviderConfig.BruteForce.UsernameLimit']);
    const ok = validateProfile({ ...raw, ProviderConfig: { ...raw.ProviderConfig, BruteForce: { UsernameLimit: 0, BlockSeconds: 60 } } }, FIRST);
    expect(ok.problems).toEqual([]);
  });
});
