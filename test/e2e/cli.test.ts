/**
 * The real CLI, built and run as an operator runs it: TIB's sample tib.conf and README profiles load
 * unmodified, /health answers, SIGHUP reloads (a bad file keeps the last good set), --check validates,
 * SIGTERM stops cleanly, and no secret reaches the output at debug level.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const fixtures = path.join(root, 'test/fixtures/tib');
const SESSION_SECRET = 'cli-test-session-secret-0123456789';
const SECRETS = ['test-secret', '54321', '12345', 'ADVANCED-API-USER-API-TOKEN', 'TYK-OAUTH-CLIENT-SECRET', 'GOOGLE OAUTH SECRET', SESSION_SECRET];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 15000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const r = await run(process.execPath, [path.join(root, 'dist/main.js'), ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('identity-broker CLI', () => {
  let dir: string;
  let conf: string;
  let profiles: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cli-test-'));
    conf = path.join(dir, 'tib.conf');
    profiles = path.join(dir, 'profiles.json');
    await fs.copyFile(path.join(fixtures, 'tib_sample.conf'), conf);
    await fs.copyFile(path.join(fixtures, 'readme-profiles.json'), profiles);
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  it('rejects an unknown flag with usage and exit code 2, as Go flag does', async () => {
    const r = await cli(['--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/-c/);
  });

  it('--check accepts TIB sample files and rejects a bad profile naming file, id and field', async () => {
    const ok = await cli(['--check', '-c', conf, '-p', profiles], { TYK_IB_SESSION_SECRET: SESSION_SECRET });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const bad = path.join(dir, 'bad-profiles.json');
    const list = JSON.parse(await fs.readFile(profiles, 'utf8')) as Array<Record<string, Record<string, unknown>>>;
    list[1]!.ProviderConfig!.LDAPPort = 389;
    await fs.writeFile(bad, JSON.stringify(list));
    const r = await cli(['--check', `--conf=${conf}`, '-p', bad], { TYK_IB_SESSION_SECRET: SESSION_SECRET });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('bad-profiles.json');
    expect(r.stderr).toContain('"2"');
    expect(r.stderr).toContain('ProviderConfig.LDAPPort');
  });

  it('--check on a deeply nested profiles file prints the clean problem, not a stack trace', async () => {
    const deep = path.join(dir, 'deep-profiles.json');
    const list = JSON.parse(await fs.readFile(profiles, 'utf8')) as Array<Record<string, unknown>>;
    const text = JSON.stringify(list).replace(/}\]$/, `,"Extra":${'['.repeat(200_000)}${']'.repeat(200_000)}}]`);
    await fs.writeFile(deep, text);
    const r = await cli(['--check', '-c', conf, '-p', deep], { TYK_IB_SESSION_SECRET: SESSION_SECRET });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('deep-profiles.json: profile "2" (#2): Extra[0][0]: is nested more than 32 levels deep');
    expect(r.stderr).not.toMatch(/RangeError|\n\s+at /);
  });

  it('a JSON syntax error in tib.conf names line and column, never the text around it', async () => {
    const bad = path.join(dir, 'syntax.conf');
    await fs.writeFile(bad, '{\n  "Secret": "cli-admin-secret-value",,\n  "Port": 1\n}');
    const r = await cli(['--check', '-c', bad, '-p', profiles]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/syntax\.conf: invalid JSON at line 2 column 38: expected double-quoted property name$/m);
    // V8's message would quote the 10 characters before the error: the end of the secret.
    expect(r.stderr).not.toContain('value');
  });

  it('the process guards log an unhandled rejection and keep running, and exit 1 on an uncaught exception', async () => {
    const script = `
      import { installProcessGuards } from ${JSON.stringify(path.join(root, 'dist/main.js'))};
      import { getLogger } from ${JSON.stringify(path.join(root, 'dist/log.js'))};
      installProcessGuards(getLogger('MAIN'));
      Promise.reject(new Error('injected rejection'));
      setTimeout(() => { console.log('still running'); throw new Error('injected exception'); }, 50);
      setTimeout(() => console.log('not reached'), 5000);
    `;
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script]);
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('exit', (code) => resolve({ code, out }));
    });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/\[ERROR\] MAIN: unhandled promise rejection .*reason="injected rejection"/);
    expect(r.out).toContain('still running');
    expect(r.out).toMatch(/\[ERROR\] MAIN: uncaught exception \(a bug\); exiting .*reason="injected exception"/);
    expect(r.out).not.toContain('not reached');
  });

  describe('running', () => {
    let child: ChildProcess;
    let output = '';
    let base: string;
    let exit: Promise<number | null>;
    beforeAll(async () => {
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      child = spawn(process.execPath, [path.join(root, 'dist/main.js'), '-c', conf, '-p', profiles], {
        env: { ...process.env, TYK_IB_PORT: String(port), TYK_LOGLEVEL: 'debug', TYK_IB_SESSION_SECRET: SESSION_SECRET },
      });
      child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
      exit = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
      await until('health', async () => ((await fetch(`${base}/health`)).status === 200 ? true : undefined));
    }, 30_000);
    afterAll(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });

    const ids = async () => {
      const res = await fetch(`${base}/api/profiles`, { headers: { Authorization: 'test-secret' } });
      return ((await res.json()) as { Data: Array<{ ID: string; Name: string }> }).Data;
    };

    it('serves TIB sample profiles', async () => {
      expect((await ids()).map((p) => p.ID)).toEqual(['1', '2']);
    });

    it('reloads a good file on SIGHUP and keeps the last good set on a bad one', async () => {
      const list = JSON.parse(await fs.readFile(path.join(fixtures, 'readme-profiles.json'), 'utf8')) as Array<Record<string, unknown>>;
      list[0]!.Name = 'renamed by SIGHUP';
      await fs.writeFile(profiles, JSON.stringify([list[0]]));
      child.kill('SIGHUP');
      await until('reload', async () => ((await ids()).length === 1 ? true : undefined));
      expect((await ids())[0]?.Name).toBe('renamed by SIGHUP');

      await fs.writeFile(profiles, '[{"ID": "x y", "ProviderName": "Nope"}]');
      child.kill('SIGHUP');
      await until('rejection logged', async () => (output.includes('"x y"') ? true : undefined));
      expect((await ids()).map((p) => p.ID)).toEqual(['1']);
    });

    it('survives a SIGHUP reload of a deeply nested file: rejected, logged, still serving the last good set', async () => {
      const list = JSON.parse(await fs.readFile(path.join(fixtures, 'readme-profiles.json'), 'utf8')) as Array<Record<string, unknown>>;
      await fs.writeFile(profiles, JSON.stringify([list[0]]).replace(/}\]$/, `,"Extra":${'{"x":'.repeat(100_000)}1${'}'.repeat(100_000)}}]`));
      child.kill('SIGHUP');
      await until('rejection logged', async () => (output.includes('Extra.x.x: is nested more than 32 levels deep') ? true : undefined));
      expect(child.exitCode).toBeNull();
      expect((await fetch(`${base}/health`)).status).toBe(200);
      expect((await ids()).map((p) => p.ID)).toEqual(['1']);
    });

    it('stops cleanly on SIGTERM without having logged a secret', async () => {
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
      expect(output).toContain('DEBUG');
      for (const s of SECRETS) expect(output).not.toContain(s);
    });
  });
});

describe('the shipped samples (what `npm start` runs)', () => {
  const samples = ['-c', path.join(root, 'config/tib.conf.json'), '-p', path.join(root, 'profiles/profiles.json')];
  const noSessionSecret = { TYK_IB_SESSION_SECRET: undefined, SESSION_SECRET: undefined };

  it('pass --check with a session secret, and name the missing variable without one', async () => {
    const ok = await cli(['--check', ...samples], { TYK_IB_SESSION_SECRET: SESSION_SECRET });
    expect(ok).toMatchObject({ code: 0, stderr: '' });
    const missing = await cli(['--check', ...samples], noSessionSecret);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/portal-admins.*TYK_IB_SESSION_SECRET/);
  });

  it('scripts/start.sh serves /health with every sample profile usable, and stops on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn('sh', [path.join(root, 'scripts/start.sh')], { env: { ...process.env, ...noSessionSecret, TYK_IB_PORT: String(port) } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exit = new Promise((resolve) => child.on('exit', resolve));
    try {
      await until('health', async () => ((await fetch(`http://127.0.0.1:${port}/health`)).status === 200 ? true : undefined));
      expect(output).toContain('TYK_IB_SESSION_SECRET is not set; using a random one for this run');
      expect(output).toContain('loaded 3 profile(s)');
      expect(output).not.toContain('[ERROR]');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exit).toBe(0);
  });
});

describe('npm start (scripts/start.sh) on the shipped samples', () => {
  it('tells a newcomer the sample logins cannot work here and points to npm run demo', async () => {
    const port = await freePort();
    const child = spawn('sh', [path.join(root, 'scripts/start.sh')], { env: { ...process.env, TYK_IB_PORT: String(port) } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exit = new Promise((resolve) => child.on('exit', resolve));
    try {
      for (let i = 0; i < 200 && !output.includes('listening on'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(output).toContain('listening on');
      expect(output).toContain('for a sign-in that works on this machine, run npm run demo');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exit).toBe(0);
  });
});

describe('tool commands', () => {
  it('write their log to standard error, so their own output can be piped (sync against a Redis that is down)', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cli-tool-'));
    try {
      const conf = path.join(dir, 'tib.conf');
      const profiles = path.join(dir, 'profiles.json');
      await fs.writeFile(conf, JSON.stringify({
        BackEnd: { Name: 'redis', IdentityBackendSettings: { Host: '127.0.0.1', Port: await freePort(), Timeout: 1 } },
        TykAPISettings: { DashboardConfig: { Endpoint: 'http://127.0.0.1', Port: '1', AdminSecret: '' }, PortalAPIConfig: { Endpoint: 'http://127.0.0.1:1', AdminToken: 'portal-admin-token' } },
      }));
      await fs.writeFile(profiles, JSON.stringify([{
        ID: 'dev', ActionType: 'GenerateOrLoginDeveloperProfile', ProviderName: 'ADProvider', OrgID: '0', ReturnURL: 'http://127.0.0.1:1/sso',
        IdentityHandlerConfig: { DashboardCredential: 'portal-api-secret' },
        ProviderConfig: { LDAPServer: '127.0.0.1', LDAPPort: '1', LDAPUserDN: 'uid=*USERNAME*,ou=people,dc=example,dc=org', LDAPAdminUser: 'cn=admin,dc=example,dc=org', LDAPAdminPassword: 'ldap-admin-password', LDAPBaseDN: 'ou=people,dc=example,dc=org', LDAPFilter: '(uid=*USERNAME*)' },
        CustomUserGroupField: 'memberOf', UserGroupMapping: { devs: '12' }, Membership: { Authority: 'idp' }, Sync: { IntervalSeconds: 0 },
      }]));
      const r = await cli(['sync', 'dev', '-c', conf, '-p', profiles, '--json'], { TYK_IB_SESSION_SECRET: SESSION_SECRET });
      expect(r.code).toBe(2);
      expect(r.stdout).not.toMatch(/\[(WARN|INFO|ERROR)\]/);
      expect(r.stderr).toMatch(/\[WARN\] REDIS: Redis 127\.0\.0\.1:\d+ unreachable/);
      expect(`${r.stdout}${r.stderr}`).not.toMatch(/ldap-admin-password|portal-admin-token/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
