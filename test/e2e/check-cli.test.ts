/**
 * `--check` and startup, run as an operator runs them (the built CLI): what cannot work is an error naming the
 * file (or, in env-only mode, the variable), the profile and the field, with the fix; unknown keys and
 * variables get a "did you mean"; --strict makes every warning an error; the result is written once, to one
 * stream (stdout when valid, stderr when not), and counts "1 profile".
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

/** What --check notes for a password login with IPLimit on and no TrustedProxies (src/preflight.ts). */
const IPLIMIT_NOTE = 'BruteForce.IPLimit counts password logins per client address and TrustedProxies is empty: behind a load balancer or proxy, every client arrives from its address (past the limit each client it names in X-Forwarded-For is counted apart); list its address in TrustedProxies (TYK_IB_TRUSTEDPROXIES)';
const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const SECRET_32 = 'check-cli-session-secret-32chars';
/** Variables of the machine running the suite must not leak into these runs. */
const CLEAN = Object.fromEntries(Object.keys(process.env).filter((k) => k.startsWith('TYK_IB_') || k === 'SESSION_SECRET').map((k) => [k, undefined]));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  try {
    // The timeout ends a broker that should have refused to start but did not (then the test fails on code).
    const r = await run(process.execPath, [path.join(root, 'dist/main.js'), ...args], { env: { ...process.env, ...CLEAN, ...env }, timeout: 20_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const tibConf = {
  // 32 characters or more: a shorter admin Secret is a warning (issue 17), and "valid" below expects none.
  Secret: 'check-cli-admin-secret-0123456789',
  TykAPISettings: {
    GatewayConfig: { Endpoint: 'http://gateway.example', Port: '8080', AdminSecret: 'check-cli-gateway-secret' },
    DashboardConfig: { Endpoint: 'http://dashboard.example', Port: '3000', AdminSecret: 'check-cli-dashboard-admin' },
  },
};

const ldap = (over: Record<string, unknown> = {}, providerConfig: Record<string, unknown> = {}) => ({
  ID: 'ldap-dev',
  Name: 'LDAP developers',
  OrgID: 'org-1',
  ActionType: 'GenerateOrLoginDeveloperProfile',
  ProviderName: 'ADProvider',
  ReturnURL: 'http://portal.example/sso',
  IdentityHandlerConfig: { DashboardCredential: 'check-cli-dashboard-credential' },
  ProviderConfig: {
    LDAPServer: 'ldap.example',
    LDAPPort: '389',
    LDAPAdminUser: 'cn=broker,dc=example,dc=org',
    LDAPAdminPassword: 'check-cli-ldap-password',
    LDAPBaseDN: 'dc=example,dc=org',
    LDAPFilter: '(uid=*USERNAME*)',
    ...providerConfig,
  },
  ...over,
});

const oauth = {
  ...ldap({ ID: 'ldap-oauth', ActionType: 'GenerateOAuthTokenForClient' }),
  IdentityHandlerConfig: {
    DashboardCredential: 'check-cli-dashboard-credential',
    OAuth: { APIListenPath: 'oauth-api', RedirectURI: 'http://app.example/cb', ResponseType: 'token', ClientId: 'client-1', BaseAPIID: 'api-1' },
  },
};

const social = {
  ID: 'oidc',
  Name: 'OIDC',
  OrgID: 'org-1',
  ActionType: 'GenerateOrLoginUserProfile',
  ProviderName: 'SocialProvider',
  ReturnURL: 'http://dashboard.example/tap',
  IdentityHandlerConfig: { DashboardCredential: 'check-cli-dashboard-credential' },
  ProviderConfig: {
    CallbackBaseURL: 'https://tib.example',
    UseProviders: [{ Name: 'openid-connect', Key: 'client', Secret: 'check-cli-client-secret', DiscoverURL: 'https://idp.example/.well-known/openid-configuration' }],
  },
};

let dir: string;
let n = 0;
/** Writes tib.conf (an object, or raw text) and profiles.json to a fresh directory; returns the -c/-p args. */
async function files(conf: unknown, profiles: unknown[]): Promise<{ args: string[]; conf: string; profiles: string; dir: string }> {
  const d = path.join(dir, String(n++));
  await fs.mkdir(d);
  const c = path.join(d, 'tib.conf');
  const p = path.join(d, 'profiles.json');
  await fs.writeFile(c, typeof conf === 'string' ? conf : JSON.stringify(conf));
  await fs.writeFile(p, JSON.stringify(profiles));
  return { args: ['-c', c, '-p', p], conf: c, profiles: p, dir: d };
}

/** A failed check: exit 1, everything on stderr, nothing on stdout. */
function failed(r: Run): string {
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 1, stdout: '' });
  return r.stderr;
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'check-cli-'));
});
afterAll(() => fs.rm(dir, { recursive: true, force: true }));

describe('--check: the result, once, on one stream', () => {
  it('valid: "ok" and "1 profile" on stdout, nothing on stderr, exit 0', async () => {
    const f = await files(tibConf, [ldap()]);
    const r = await cli(['--check', ...f.args]);
    // The note on TrustedProxies (an LDAP profile with the default IPLimit) is no warning: the count says none.
    expect(r).toEqual({ code: 0, stdout: `ok: ${f.conf} and ${f.profiles} are valid (1 profile)\nnote: ${IPLIMIT_NOTE}\n`, stderr: '' });
  });

  it('counts "2 profiles"', async () => {
    const f = await files(tibConf, [ldap(), oauth]);
    expect((await cli(['--check', ...f.args])).stdout).toContain('are valid (2 profiles)');
  });

  it('invalid: the verdict, then every problem, all on stderr', async () => {
    const f = await files({ ...tibConf, Port: 70000 }, [ldap()]);
    const err = failed(await cli(['--check', ...f.args]));
    expect(err.split('\n')[0]).toBe(`${f.conf} and ${f.profiles} are not valid (1 error):`);
    expect(err).toContain('error: tib.conf: Port: must be between 0 and 65535, got 70000');
  });
});

describe('what cannot work is an error naming the file, the profile and the field, with the fix', () => {
  it('a Dashboard endpoint the action needs', async () => {
    const conf = { ...tibConf, TykAPISettings: { ...tibConf.TykAPISettings, DashboardConfig: { Endpoint: '', Port: '', AdminSecret: '' } } };
    const f = await files(conf, [ldap()]);
    const err = failed(await cli(['--check', ...f.args]));
    expect(err).toContain(
      'error: profiles.json: profile "ldap-dev" (GenerateOrLoginDeveloperProfile) finds and updates the developer through the Dashboard, but TykAPISettings.DashboardConfig.Endpoint in tib.conf is not set: set it to the Dashboard\'s scheme and host, e.g. "http://tyk-dashboard" with Port "3000"',
    );
  });

  it('a Gateway endpoint and secret for GenerateOAuthTokenForClient', async () => {
    const conf = { ...tibConf, TykAPISettings: { ...tibConf.TykAPISettings, GatewayConfig: { Endpoint: '', Port: '', AdminSecret: '' } } };
    const f = await files(conf, [oauth]);
    const err = failed(await cli(['--check', ...f.args]));
    expect(err).toMatch(/profile "ldap-oauth" \(GenerateOAuthTokenForClient\) authorizes the OAuth client on the Gateway's API, but TykAPISettings\.GatewayConfig\.Endpoint in tib\.conf is not set/);
    expect(err).toMatch(/profile "ldap-oauth" .* TykAPISettings\.GatewayConfig\.AdminSecret in tib\.conf is not set: set it to the Gateway's secret/);
  });

  it('a missing DashboardCredential (portal SSO; dashboard SSO without the admin secret)', async () => {
    const conf = { ...tibConf, TykAPISettings: { ...tibConf.TykAPISettings, DashboardConfig: { ...tibConf.TykAPISettings.DashboardConfig, AdminSecret: '' } } };
    const f = await files(conf, [ldap({ IdentityHandlerConfig: {} }), { ...social, IdentityHandlerConfig: null }]);
    const err = failed(await cli(['--check', ...f.args], { TYK_IB_SESSION_SECRET: SECRET_32 }));
    expect(err).toContain('profile "ldap-dev" (GenerateOrLoginDeveloperProfile): IdentityHandlerConfig.DashboardCredential: is required');
    expect(err).toContain('profile "oidc" (GenerateOrLoginUserProfile): IdentityHandlerConfig.DashboardCredential is not set and neither is TykAPISettings.DashboardConfig.AdminSecret in tib.conf');
  });

  it('an LDAPFilter without *USERNAME*', async () => {
    const f = await files(tibConf, [ldap({}, { LDAPFilter: '(objectClass=person)' })]);
    expect(failed(await cli(['--check', ...f.args]))).toContain('profiles.json: profile "ldap-dev" (#1): ProviderConfig.LDAPFilter: must contain *USERNAME*');
  });

  it('a ProfileDir that does not exist, or is not a directory', async () => {
    const missing = await files({ ...tibConf, ProfileDir: path.join(dir, 'no-such-dir') }, [ldap()]);
    expect(failed(await cli(['--check', ...missing.args]))).toMatch(/error: ProfileDir in tib\.conf ".*no-such-dir" does not exist: profile backups are written there/);
    const file = await files({ ...tibConf, ProfileDir: path.join(dir, 'a-file') }, [ldap()]);
    await fs.writeFile(path.join(dir, 'a-file'), '');
    expect(failed(await cli(['--check', ...file.args]))).toMatch(/ProfileDir in tib\.conf ".*a-file" is not a directory/);
    // With the admin API off (no Secret) nothing is ever written there: a warning.
    const off = await files({ ...tibConf, Secret: '', ProfileDir: path.join(dir, 'no-such-dir') }, [ldap()]);
    const r = await cli(['--check', ...off.args]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(/warning: ProfileDir in tib\.conf ".*no-such-dir" does not exist.*\(only used by the admin API, which is off\)/);
  });

  it('a TYK_IB_SESSION_SECRET shorter than 32 characters when a profile signs cookies with it; 32 pass', async () => {
    const f = await files(tibConf, [social]);
    const err = failed(await cli(['--check', ...f.args], { TYK_IB_SESSION_SECRET: SECRET_32.slice(1) }));
    expect(err).toContain('profile "oidc" (SocialProvider) signs its login cookie with TYK_IB_SESSION_SECRET, which has only 31 characters: set it to a random string of at least 32 characters');
    expect(err).not.toContain(SECRET_32.slice(1));
    expect((await cli(['--check', ...f.args], { TYK_IB_SESSION_SECRET: SECRET_32 })).code).toBe(0);
    expect(failed(await cli(['--check', ...f.args]))).toContain('profile "oidc" (SocialProvider) signs its login cookie with TYK_IB_SESSION_SECRET, which is not set');
    // No profile needs it: a warning only.
    const ldapOnly = await files(tibConf, [ldap()]);
    const r = await cli(['--check', ...ldapOnly.args], { TYK_IB_SESSION_SECRET: 'short' });
    expect([r.code, r.stdout]).toEqual([0, expect.stringContaining('warning: TYK_IB_SESSION_SECRET has only 5 characters')]);
  });

  it('an admin Secret shorter than 32 characters: a warning with the fix (TIB accepts any), never the value; 32 pass', async () => {
    const f = await files({ ...tibConf, Secret: 'hunter2-weak' }, [ldap()]);
    const r = await cli(['--check', ...f.args]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toContain('warning: tib.conf: Secret (the admin API secret) is 12 characters: a short secret can be guessed; use at least 32, e.g. the output of: openssl rand -base64 32');
    expect(r.stdout).not.toContain('hunter2-weak');
    const env = await cli(['--check', ...(await files({ ...tibConf, Secret: '' }, [ldap()])).args], { TYK_IB_SECRET: 'admin' });
    expect(env.stdout).toContain('warning: TYK_IB_SECRET (the admin API secret) is 5 characters');
    expect((await cli(['--check', ...(await files({ ...tibConf, Secret: SECRET_32 }, [ldap()])).args])).stdout).not.toContain('admin API secret');
  });

  it('an empty tib.conf says what cannot work', async () => {
    const empty = await files('', [ldap()]);
    expect(failed(await cli(['--check', ...empty.args]))).toContain(
      'tib.conf: the file is empty, so nothing is configured: no TykAPISettings (no login can reach the Dashboard or the Gateway to finish) and no Secret (the admin API is off)',
    );
    const braces = await files('{}', [ldap()]);
    const err = failed(await cli(['--check', ...braces.args]));
    expect(err).toContain('warning: tib.conf: sets nothing: every setting has its default');
    expect(err).toContain('profile "ldap-dev" (GenerateOrLoginDeveloperProfile) finds and updates the developer through the Dashboard, but TykAPISettings.DashboardConfig.Endpoint in tib.conf is not set');
  });

  it('env-only mode names the variable, not a file', async () => {
    const f = await files(tibConf, [oauth]);
    const err = failed(await cli(['--check', '-p', f.profiles], { TYK_IB_OMITCONFIGFILE: 'true', TYK_IB_TYKAPISETTINGS_DASHBOARDCONFIG_ENDPOINT: 'http://dashboard.example' }));
    // The warning: no TYK_IB_SECRET, so the admin API is off, as the start warns (test/integration/profiles/checks.test.ts).
    expect(err.split('\n')[0]).toBe(`the TYK_IB_* variables and ${f.profiles} are not valid (2 errors, 1 warning):`);
    expect(err).toContain('warning: Secret is empty: the admin API (/api/profiles) is disabled and answers 401 to every call');
    expect(err).toContain('but TYK_IB_TYKAPISETTINGS_GATEWAYCONFIG_ENDPOINT is not set');
    expect(err).toContain('but TYK_IB_TYKAPISETTINGS_GATEWAYCONFIG_ADMINSECRET is not set');
    expect(err).not.toMatch(/tib\.conf/);
    // A bad value from a variable names the variable too.
    const port = failed(await cli(['--check', '-p', f.profiles], { TYK_IB_OMITCONFIGFILE: 'true', TYK_IB_PORT: '70000' }));
    expect(port).toContain('error: TYK_IB_PORT: must be between 0 and 65535, got 70000');
  });

  it('startup refuses the same, with the same message, and serves nothing', async () => {
    const f = await files(tibConf, [ldap({}, { LDAPFilter: '(objectClass=person)' })]);
    const err = failed(await cli(f.args, { TYK_IB_PORT: '0' }));
    expect(err.split('\n')[0]).toBe(`${f.conf} and ${f.profiles} cannot work, so the broker does not start (1 error):`);
    expect(err).toContain('ProviderConfig.LDAPFilter: must contain *USERNAME*');
  });
});

describe('"did you mean" for unknown keys and variables; --strict', () => {
  it('tib.conf: a misspelt key is named with the right one (and what it breaks is an error)', async () => {
    const conf = { ...tibConf, TykAPISettings: { ...tibConf.TykAPISettings, DashboardConfig: { Endpiont: 'http://dashboard.example', Port: '3000', AdminSecret: 'x' } } };
    const f = await files(conf, [ldap()]);
    const err = failed(await cli(['--check', ...f.args]));
    expect(err).toContain('warning: tib.conf: unknown key TykAPISettings.DashboardConfig.Endpiont ignored; did you mean TykAPISettings.DashboardConfig.Endpoint?');
    expect(err).toContain('error: profiles.json: profile "ldap-dev" (GenerateOrLoginDeveloperProfile) finds and updates the developer through the Dashboard, but TykAPISettings.DashboardConfig.Endpoint in tib.conf is not set');
  });

  it('profiles: UserGroupMaping and a ProviderConfig typo are warnings with the right key; --strict makes them errors', async () => {
    const f = await files(tibConf, [ldap({ UserGroupMaping: { admins: 'team-1' } }, { LDAPBaseDNN: 'x' })]);
    const r = await cli(['--check', ...f.args]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toBe(
      [
        `ok: ${f.conf} and ${f.profiles} are valid (1 profile, 2 warnings)`,
        'warning: profiles.json: profile "ldap-dev" (#1): UserGroupMaping: unknown key, ignored; did you mean UserGroupMapping?',
        'warning: profiles.json: profile "ldap-dev" (#1): ProviderConfig.LDAPBaseDNN: not an option of ADProvider, ignored; did you mean LDAPBaseDN?',
        `note: ${IPLIMIT_NOTE}`,
        '',
      ].join('\n'),
    );
    const strict = failed(await cli(['--check', '--strict', ...f.args]));
    expect(strict).toContain('error: profiles.json: profile "ldap-dev" (#1): UserGroupMaping: unknown key, ignored; did you mean UserGroupMapping? (a warning; an error with --strict)');
    expect(strict.split('\n')[0]).toContain('(2 errors)');
  });

  it('an unknown TYK_IB_* variable', async () => {
    const f = await files(tibConf, [ldap()]);
    const r = await cli(['--check', ...f.args], { TYK_IB_TYKAPISETTINGS_DASHBOARDCONFIG_ENDPIONT: 'http://x' });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('warning: TYK_IB_TYKAPISETTINGS_DASHBOARDCONFIG_ENDPIONT: unknown variable, ignored; did you mean TYK_IB_TYKAPISETTINGS_DASHBOARDCONFIG_ENDPOINT?');
    expect((await cli(['--check', '--strict', ...f.args], { TYK_IB_SESION_SECRET: 'x' })).stderr).toContain('TYK_IB_SESION_SECRET: unknown variable, ignored; did you mean TYK_IB_SESSION_SECRET?');
  });

  it("TIB's own sample files still pass (their extra keys stay tolerated)", async () => {
    const conf = path.join(root, 'test/fixtures/tib/tib_sample.conf');
    for (const p of ['readme-profiles.json', 'readme-ldap-profiles.json']) {
      const r = await cli(['--check', '-c', conf, '-p', path.join(root, 'test/fixtures/tib', p)], { TYK_IB_SESSION_SECRET: SECRET_32 });
      expect([r.code, r.stderr]).toEqual([0, '']);
    }
  });
});
