/**
 * One set of checks for `--check`, the start and `profiles validate` (src/preflight.ts): what one refuses the
 * others refuse with the same message, and what the start warns about --check warns about too.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runToolCommand } from '../../../src/cli/cli.js';
import type { CliIo } from '../../../src/cli/io.js';
import { main } from '../../../src/main.js';
import { SAMPLE_SECRETS } from '../../../src/config/sample-secrets.js';
import { preflight, report } from '../../../src/preflight.js';
import { startTestBroker } from '../../support/broker.js';

const ADMIN_SECRET = 'checks-test-admin-secret-0123456789';
const tibConf = {
  Secret: ADMIN_SECRET,
  TykAPISettings: { DashboardConfig: { Endpoint: 'http://dashboard.example', Port: '3000', AdminSecret: 'checks-test-dashboard-admin' } },
};
const social = {
  ID: 'oidc',
  ActionType: 'GenerateOrLoginUserProfile',
  ProviderName: 'SocialProvider',
  ReturnURL: 'http://dashboard.example/tap',
  IdentityHandlerConfig: { DashboardCredential: 'checks-test-dashboard-credential' },
  ProviderConfig: {
    CallbackBaseURL: 'https://tib.example',
    UseProviders: [{ Name: 'openid-connect', Key: 'client', Secret: 'checks-test-client-secret', DiscoverURL: 'https://idp.example/.well-known/openid-configuration' }],
  },
};
const NO_SESSION_SECRET =
  'error: profiles.json: profile "oidc" (SocialProvider) signs its login cookie with TYK_IB_SESSION_SECRET, which is not set: set it to a random string of at least 32 characters';

let dir = '';
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'checks-'));
});
afterAll(() => fs.rm(dir, { recursive: true, force: true }));

let n = 0;
async function files(conf: unknown, profiles: unknown[]): Promise<{ conf: string; profiles: string }> {
  const d = path.join(dir, String(n++));
  await fs.mkdir(d);
  const c = path.join(d, 'tib.conf');
  const p = path.join(d, 'profiles.json');
  await fs.writeFile(c, JSON.stringify(conf));
  await fs.writeFile(p, JSON.stringify(profiles));
  return { conf: c, profiles: p };
}

async function validate(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => void out.push(t), err: (t) => void err.push(t), env };
  const code = await runToolCommand(['profiles', 'validate', ...argv], io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** The CLI's own main() (--check, or the start) with process.env as given; only runs that refuse before starting. */
async function refusedByMain(argv: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  const saved = { ...process.env };
  const written: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => void written.push(chunk)) as unknown as typeof process.stderr.write;
  for (const k of Object.keys(process.env)) if (k.startsWith('TYK_IB_') || k === 'SESSION_SECRET') delete process.env[k];
  Object.assign(process.env, env);
  try {
    return { code: await main(argv), stderr: written.join('') };
  } finally {
    process.stderr.write = write;
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

describe('a social profile without TYK_IB_SESSION_SECRET', () => {
  it('fails profiles validate (with or without -c), --check and the start, with the same error line', async () => {
    const f = await files(tibConf, [social]);
    for (const argv of [['-p', f.profiles], ['-p', f.profiles, '-c', f.conf]]) {
      const r = await validate(argv);
      expect(r.code).toBe(1);
      expect(r.err).toContain(NO_SESSION_SECRET);
      expect(r.out).toBe(`invalid: ${f.profiles}: 1 problem`);
    }
    const check = await refusedByMain(['--check', '-c', f.conf, '-p', f.profiles], {});
    expect(check.code).toBe(1);
    expect(check.stderr).toContain(NO_SESSION_SECRET);
    const start = await refusedByMain(['-c', f.conf, '-p', f.profiles], { TYK_IB_PORT: '0' });
    expect(start.code).toBe(1);
    expect(start.stderr).toContain(NO_SESSION_SECRET);
  });

  it('one too short fails validate too; one of 32 characters passes all three', async () => {
    const f = await files(tibConf, [social]);
    const short = await validate(['-p', f.profiles], { TYK_IB_SESSION_SECRET: 'x'.repeat(31) });
    expect(short.code).toBe(1);
    expect(short.err).toContain('signs its login cookie with TYK_IB_SESSION_SECRET, which has only 31 characters');
    expect(await validate(['-p', f.profiles], { TYK_IB_SESSION_SECRET: 'x'.repeat(32) })).toEqual({ code: 0, out: `ok: ${f.profiles}: 1 profile valid`, err: '' });
    const checked = await preflight({ confPath: f.conf, profilesPath: f.profiles, env: { TYK_IB_SESSION_SECRET: 'x'.repeat(32) }, strict: false });
    expect(checked.errors).toEqual([]);
  });
});

describe('an empty or misspelt admin Secret', () => {
  it('--check warns as the start does (the admin API and /metrics are off): never a plain ok', async () => {
    // What the start logs with no Secret.
    const b = await startTestBroker({ profiles: [], config: { Secret: '' } });
    const logged = b.logs.find((l) => l.includes('[WARN] MAIN: Secret is empty'));
    await b.close();
    const startMessage = /MAIN: (Secret is empty[^\n]*?every call)/.exec(logged ?? '')?.[1];
    expect(startMessage).toBe('Secret is empty: the admin API (/api/profiles) is disabled and answers 401 to every call');

    const { Secret: _, ...noSecret } = tibConf;
    for (const conf of [{ ...noSecret, Secret: '' }, { ...noSecret, Secrt: ADMIN_SECRET }]) {
      const f = await files(conf, []);
      const opts = { confPath: f.conf, profilesPath: f.profiles, env: {}, strict: false };
      const r = report(await preflight(opts), { ...opts, check: true });
      expect(r.stream).toBe('stdout');
      expect(r.text).toMatch(/^ok: .* are valid \(0 profiles, \d warnings\)/);
      expect(r.text).toContain(`warning: ${startMessage}, and so does /metrics (or serve it on the management listener, Management.Port); to use it, set Secret (or TYK_IB_SECRET) to a random string`);
      // --strict, as every warning.
      const strict = report(await preflight({ ...opts, strict: true }), { ...opts, check: true });
      expect(strict.stream).toBe('stderr');
      expect(strict.text).toContain(`error: ${startMessage}`);
    }
    const typo = await files({ ...noSecret, Secrt: ADMIN_SECRET }, []);
    const r = await preflight({ confPath: typo.conf, profilesPath: typo.profiles, env: {}, strict: false });
    expect(r.warnings).toContain('tib.conf: unknown key Secrt ignored; did you mean Secret?');
  });

  it('a Secret set is no such warning', async () => {
    const f = await files(tibConf, []);
    const r = await preflight({ confPath: f.conf, profilesPath: f.profiles, env: {}, strict: false });
    expect([...r.warnings, ...r.profileWarnings].join('\n')).not.toContain('Secret is empty');
  });
});

describe('a sample admin Secret from the repository', () => {
  it('--check says the admin API will be refused beyond loopback, as the start does, and not on loopback', async () => {
    const sample = SAMPLE_SECRETS[0] as string;
    const open = await files({ ...tibConf, Secret: sample, ListenAddress: '' }, []);
    const r = await preflight({ confPath: open.conf, profilesPath: open.profiles, env: {}, strict: false });
    expect(r.profileWarnings.join('\n')).toMatch(/Secret in .*tib\.conf \(the admin API secret\) is a sample/);
    const loopback = await files({ ...tibConf, Secret: sample, ListenAddress: '127.0.0.1' }, []);
    const l = await preflight({ confPath: loopback.conf, profilesPath: loopback.profiles, env: {}, strict: false });
    expect(l.profileWarnings.join('\n')).not.toContain('answer 403');
  });
});

describe('a password login with IPLimit on and no TrustedProxies (issue 17, finding 3)', () => {
  const ldap = {
    ID: 'ldap',
    ActionType: 'GenerateOrLoginUserProfile',
    ProviderName: 'ADProvider',
    ReturnURL: 'http://dashboard.example/tap',
    IdentityHandlerConfig: { DashboardCredential: 'checks-test-dashboard-credential' },
    ProviderConfig: { LDAPServer: '127.0.0.1', LDAPPort: '389', LDAPUserDN: 'uid=*USERNAME*,dc=example,dc=org' },
  };

  it('--check notes that a balancer must be listed, without a warning (--strict still passes); not with TrustedProxies, not for social profiles only', async () => {
    const f = await files(tibConf, [ldap]);
    for (const strict of [false, true]) {
      const opts = { confPath: f.conf, profilesPath: f.profiles, env: {}, strict };
      const r = report(await preflight(opts), { ...opts, check: true });
      expect(r.stream).toBe('stdout');
      expect(r.text).toMatch(/^ok: .* \(1 profile\)\n/);
      expect(r.text).toContain('note: BruteForce.IPLimit counts password logins per client address and TrustedProxies is empty');
    }
    const listed = await files({ ...tibConf, TrustedProxies: ['10.0.0.1'] }, [ldap]);
    const l = await preflight({ confPath: listed.conf, profilesPath: listed.profiles, env: {}, strict: false });
    expect(l.notes).toEqual([]);
    const socialOnly = await files(tibConf, [social]);
    const s = await preflight({ confPath: socialOnly.conf, profilesPath: socialOnly.profiles, env: { TYK_IB_SESSION_SECRET: 'x'.repeat(32) }, strict: false });
    expect(s.notes).toEqual([]);
  });
});
