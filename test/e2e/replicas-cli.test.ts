/**
 * Two replicas as an operator runs them: two processes of the built CLI, configured from TYK_IB_* variables
 * alone, sharing one password-protected redis-server (BackEnd and profile storage). A profile created through
 * one replica's admin API is served by the other at once (pub/sub), and a lockout earned on one replica holds
 * on the other without the directory being asked.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startRedis, type TestRedis } from '../support/redis.js';
import { freePort, serviceAccountSearch, startSlapd, type Slapd } from '../support/slapd.js';

const root = path.resolve(import.meta.dirname, '../..');
const SECRET = 'replicas-admin-secret-0123456789';
const REDIS_PASSWORD = 'replicas-redis-password';

interface Replica {
  url: string;
  proc: ChildProcess;
  output: string[];
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 15000, every = 50): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

describe('two broker processes on one Redis', () => {
  let dir: string;
  let redis: TestRedis;
  let slapd: Slapd;
  const replicas: Replica[] = [];

  const start = async (seed: string): Promise<Replica> => {
    const port = await freePort();
    const env = {
      ...process.env,
      TYK_IB_OMITCONFIGFILE: 'true',
      TYK_IB_SECRET: SECRET,
      TYK_IB_PORT: String(port),
      TYK_IB_BACKEND_NAME: 'redis',
      TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_ADDRS: `127.0.0.1:${redis.port}`,
      TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_PASSWORD: REDIS_PASSWORD,
      TYK_IB_STORAGE_STORAGETYPE: 'redis',
      TYK_IB_SESSION_SECRET: 'replicas-session-secret-0123456789',
    };
    const proc = spawn(process.execPath, [path.join(root, 'dist/main.js'), '-p', seed], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    proc.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
    proc.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
    const replica = { url: `http://127.0.0.1:${port}`, proc, output };
    replicas.push(replica);
    await until('the replica to be ready', async () => ((await fetch(`${replica.url}/ready`)).status === 200 ? true : undefined));
    return replica;
  };

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'replicas-'));
    [redis, slapd] = await Promise.all([startRedis({ password: REDIS_PASSWORD }), startSlapd()]);
  });
  afterAll(async () => {
    await Promise.all(
      replicas.map(
        (r) =>
          new Promise<void>((resolve) => {
            if (r.proc.exitCode !== null) return resolve();
            r.proc.once('exit', () => resolve());
            r.proc.kill('SIGTERM');
          }),
      ),
    );
    await Promise.all([redis?.stop(), slapd?.stop()]);
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('share profiles and lockouts', async () => {
    // Each replica has its own copy of the seed file, as on separate hosts: only Redis connects them.
    const seeds = [path.join(dir, 'a.json'), path.join(dir, 'b.json')];
    await Promise.all(seeds.map((f) => fs.writeFile(f, '[]\n')));
    const [a, b] = [await start(seeds[0] as string), await start(seeds[1] as string)];

    const profile = {
      ID: 'shared-ldap',
      OrgID: 'org-1',
      ActionType: 'GenerateOrLoginUserProfile',
      ProviderName: 'ADProvider',
      ReturnURL: 'http://127.0.0.1:1/tap',
      IdentityHandlerConfig: { DashboardCredential: 'replicas-dashboard-credential' },
      ProviderConfig: { ...serviceAccountSearch(slapd), BruteForce: { UsernameLimit: 2, IPLimit: 0 } },
    };
    const created = await fetch(`${b.url}/api/profiles/shared-ldap`, { method: 'POST', headers: { Authorization: SECRET }, body: JSON.stringify(profile) });
    expect(created.status).toBe(201);
    const createdAt = Date.now();
    // Served by the other process through pub/sub: within seconds (room for a loaded machine), far below the
    // 15 s safety-net re-read.
    await until('replica A to serve the profile', async () => ((await fetch(`${a.url}/auth/shared-ldap/ldap`)).status === 200 ? true : undefined), 5000, 20);
    expect(Date.now() - createdAt).toBeLessThan(5000);

    const login = async (r: Replica, username = 'alice') => {
      const before = await slapd.binds();
      const res = await fetch(`${r.url}/auth/shared-ldap/ldap`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        body: new URLSearchParams({ username, password: 'not-her-password' }),
      });
      return { status: res.status, binds: (await slapd.binds()) - before };
    };
    // B's search connection binds as the service account once (the guard counts the entry the search finds),
    // so the binds counted below are users'.
    expect((await login(b, 'bob')).status).toBe(401);
    // Two wrong passwords on A reach the directory; the third attempt, on B, is refused without a bind.
    expect((await login(a)).binds).toBeGreaterThan(0);
    expect((await login(a)).binds).toBeGreaterThan(0);
    expect(await login(b)).toEqual({ status: 401, binds: 0 });

    const logs = replicas.flatMap((r) => r.output).join('');
    expect(logs).toContain('locked out');
    expect(logs).not.toContain(REDIS_PASSWORD);
    expect(logs).not.toContain(SECRET);
  });
});
