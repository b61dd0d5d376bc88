/**
 * The pure parts of honest checks and messages: the "did you mean" distance, what a profile needs from
 * tib.conf (named by file key or variable), the hints attached to Tyk API and directory failures, and the
 * admin API's write-failure reason (no directory paths).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { InvalidCredentialsError } from 'ldapts';
import { callFailure, networkHint, statusHint, tykTarget, upstreamFailure } from '../../src/actions/failures.js';
import { defaultConfig, loadConfig, settingNamer, settingPhrase } from '../../src/config/load.js';
import { checkProfileNeeds } from '../../src/config/profile-needs.js';
import { closest, didYouMean, editDistance } from '../../src/config/suggest.js';
import type { Config } from '../../src/config/types.js';
import { writeFailureReason } from '../../src/http/write-failure.js';
import type { Profile } from '../../src/profiles/profile.js';
import { validateProfile } from '../../src/profiles/validate.js';
import { directoryFailure, directoryTarget } from '../../src/providers/ldap/ldap-errors.js';
import { TykCallError } from '../../src/tyk/client.js';

describe('did you mean', () => {
  it('counts a swap of neighbours as one edit, and ignores case', () => {
    expect(editDistance('endpiont', 'endpoint')).toBe(1);
    expect(editDistance('abc', 'abc')).toBe(0);
    expect(editDistance('', 'abc')).toBe(3);
    expect(closest('usergroupmaping', ['UserGroupMapping', 'UserGroupSeparator'])).toBe('UserGroupMapping');
  });

  it('suggests only what is close enough to be a typo', () => {
    expect(didYouMean('Endpiont', ['Endpoint', 'Port', 'AdminSecret'])).toBe('; did you mean Endpoint?');
    expect(didYouMean('Colour', ['Endpoint', 'Port', 'AdminSecret'])).toBe('');
    expect(didYouMean('Prot', ['Port'])).toBe('; did you mean Port?');
    // A hostile key length costs nothing.
    expect(closest('x'.repeat(100_000), ['Endpoint'])).toBeUndefined();
  });

  it('in tib.conf, profiles and variables', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'check-honest-'));
    const file = path.join(dir, 'tib.conf');
    fs.writeFileSync(file, JSON.stringify({ Secrett: 'x', TykAPISettings: { GatewayConfig: { Endpiont: 'http://gw' } } }));
    const { warnings } = loadConfig({ confPath: file, env: { TYK_IB_PROT: '1' } });
    expect(warnings).toEqual([
      'tib.conf: unknown key TykAPISettings.GatewayConfig.Endpiont ignored; did you mean TykAPISettings.GatewayConfig.Endpoint?',
      'tib.conf: unknown key Secrett ignored; did you mean Secret?',
      'TYK_IB_PROT: unknown variable, ignored; did you mean TYK_IB_PORT?',
    ]);
    fs.rmSync(dir, { recursive: true });
    const v = validateProfile({ ID: 'p', ActionType: 'GenerateOrLoginUserProfile', ProviderName: 'ProxyProvider', ProviderConfig: { TargetHost: 'http://up', OKCod: 200 }, Nmae: 'x', IdentityHandlerConfig: { DashboardCredentail: 'c' } });
    expect(v.warnings.map((w) => `${w.field}: ${w.message}`)).toEqual([
      'Nmae: unknown key, ignored; did you mean Name?',
      'ProviderConfig.OKCod: not an option of ProxyProvider, ignored; did you mean OKCode?',
      'IdentityHandlerConfig.DashboardCredentail: unknown key, ignored; did you mean DashboardCredential?',
    ]);
  });
});

describe('settings are named by where they came from', () => {
  it('the file key, or the variable that set it, or the variable in env-only mode', () => {
    const fromFile = { file: 'tib.conf', fromEnv: new Set<string>() };
    const fromEnv = { file: 'tib.conf', fromEnv: new Set(['Port']) };
    const envOnly = { file: undefined, fromEnv: new Set<string>() };
    expect(settingNamer(fromFile)('Port')).toBe('tib.conf: Port');
    expect(settingNamer(fromEnv)('Port')).toBe('TYK_IB_PORT');
    expect(settingPhrase(fromFile, 'TykAPISettings.DashboardConfig.Endpoint')).toBe('TykAPISettings.DashboardConfig.Endpoint in tib.conf');
    expect(settingPhrase(envOnly, 'TykAPISettings.DashboardConfig.Endpoint')).toBe('TYK_IB_TYKAPISETTINGS_DASHBOARDCONFIG_ENDPOINT');
  });
});

describe('what the profiles need from tib.conf', () => {
  const profile = (over: Partial<Profile>): Profile => ({ ID: 'p', ActionType: 'GenerateOrLoginUserProfile', ProviderName: 'ADProvider', IdentityHandlerConfig: { DashboardCredential: 'c' }, ...over }) as Profile;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'needs-'));
  const ctx = { source: { file: 'tib.conf', fromEnv: new Set<string>() }, profilesPath: path.join(dir, 'profiles.json'), secretVariable: 'TYK_IB_SESSION_SECRET' };
  const withTyk = (): Config => {
    const c = defaultConfig();
    c.TykAPISettings.DashboardConfig = { Endpoint: 'http://dash', Port: '3000', AdminSecret: 'a' };
    c.TykAPISettings.GatewayConfig = { Endpoint: 'http://gw', Port: '8080', AdminSecret: 'g' };
    return c;
  };

  it('nothing when everything is there', () => {
    const all = (['GenerateOrLoginUserProfile', 'GenerateOrLoginDeveloperProfile', 'GenerateOAuthTokenForClient', 'GenerateTemporaryAuthToken'] as const).map((a) => profile({ ID: a, ActionType: a }));
    expect(checkProfileNeeds(withTyk(), all, ctx)).toEqual({ errors: [], warnings: [] });
  });

  it('the OAuth action needs the Dashboard only to delete the previous token', () => {
    const c = withTyk();
    c.TykAPISettings.DashboardConfig.Endpoint = '';
    const oneToken = checkProfileNeeds(c, [profile({ ActionType: 'GenerateOAuthTokenForClient' })], ctx).errors;
    expect(oneToken).toEqual([expect.stringContaining("deletes the user's previous token through the Dashboard")]);
    const disabled = profile({ ActionType: 'GenerateOAuthTokenForClient', IdentityHandlerConfig: { DisableOneTokenPerAPI: true } });
    expect(checkProfileNeeds(c, [disabled], ctx).errors).toEqual([]);
  });

  it('the session secret: SAML profiles sign cookies too', () => {
    const c = withTyk();
    c.SessionSecret = 'x'.repeat(31);
    expect(checkProfileNeeds(c, [profile({ ProviderName: 'SAMLProvider' })], ctx).errors).toEqual([expect.stringContaining('(SAMLProvider) signs its login cookie with TYK_IB_SESSION_SECRET, which has only 31 characters')]);
    c.SessionSecret = 'x'.repeat(32);
    expect(checkProfileNeeds(c, [profile({ ProviderName: 'SAMLProvider' })], ctx).errors).toEqual([]);
  });
});

describe('Tyk API failures name the URL and the usual fix', () => {
  const config = defaultConfig();
  config.TykAPISettings.DashboardConfig = { Endpoint: 'https://user:pw@dash.example', Port: '3000', AdminSecret: 'a' };
  config.TykAPISettings.GatewayConfig = { Endpoint: 'http://gw.example', Port: '', AdminSecret: 'g' };
  const dash = tykTarget(config, 'DashboardCredential');

  it('never the user:password of the Endpoint', () => {
    expect(dash.base).toBe('https://dash.example:3000');
    expect(tykTarget(config, 'GatewayConfig.AdminSecret').base).toBe('http://gw.example');
  });

  it('by status', () => {
    const r = upstreamFailure('POST /api/sso', 401, undefined, dash);
    expect(r).toEqual({
      kind: 'failure',
      failure: {
        reason: 'POST /api/sso answered 401',
        status: 502,
        message: 'Login failed',
        target: 'POST https://dash.example:3000/api/sso',
        hint: "the Dashboard refused the profile's credential: check IdentityHandlerConfig.DashboardCredential against the portal's PORTAL_API_SECRET (or the Dashboard user's API key)",
      },
    });
    expect(statusHint(tykTarget(config, 'DashboardConfig.AdminSecret'), 403)).toContain("check TykAPISettings.DashboardConfig.AdminSecret against the Dashboard's admin_secret");
    expect(statusHint(tykTarget(config, 'GatewayConfig.AdminSecret'), 401)).toContain('check TykAPISettings.GatewayConfig.AdminSecret');
    expect(statusHint(dash, 404)).toContain('no such endpoint at https://dash.example:3000: check that TykAPISettings.DashboardConfig.Endpoint and Port');
    expect(statusHint(dash, 400)).toBeUndefined();
  });

  it('by network error', () => {
    const err = (kind: 'network' | 'timeout', code: string) => new TykCallError(kind, '/api/keys', `POST /api/keys: ${code}`);
    expect(networkHint(dash, err('network', 'ECONNREFUSED'))).toBe('nothing listens at https://dash.example:3000: check TykAPISettings.DashboardConfig.Endpoint and Port, and that the Dashboard runs');
    expect(networkHint(dash, err('network', 'ENOTFOUND'))).toContain('does not resolve');
    expect(networkHint(dash, err('network', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'))).toContain('TLS failed');
    expect(networkHint(dash, err('network', 'DEPTH_ZERO_SELF_SIGNED_CERT'))).toContain('TLS failed');
    expect(networkHint(dash, err('timeout', 'no answer within 800 ms'))).toContain('raise TykAPISettings.Timeout');
    expect(callFailure(err('network', 'ECONNREFUSED'), 'x', dash)).toMatchObject({ failure: { target: 'https://dash.example:3000/api/keys', status: 502 } });
  });
});

describe('directory failures name ldap(s)://host:port', () => {
  const cfg = { LDAPServer: 'ldap.example', LDAPPort: '636', LDAPUseSSL: true, LDAPStartTLS: false, LDAPCAFile: '' } as Parameters<typeof directoryFailure>[1];
  it('target and hints', () => {
    expect(directoryTarget({ ...cfg, LDAPServer: '::1', LDAPUseSSL: false, LDAPStartTLS: true, LDAPPort: '389' })).toBe('ldap://[::1]:389 (StartTLS)');
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:636'), { code: 'ECONNREFUSED' });
    expect(directoryFailure(refused, cfg)).toEqual({
      status: 503,
      reason: 'directory unreachable: ECONNREFUSED',
      target: 'ldaps://ldap.example:636',
      hint: 'nothing listens at ldaps://ldap.example:636: check ProviderConfig.LDAPServer and LDAPPort (389 for ldap:// and StartTLS, 636 for LDAPS), and that the directory runs',
    });
    const tls = Object.assign(new Error('unable to verify the first certificate'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    expect(directoryFailure(tls, cfg).hint).toContain('set ProviderConfig.LDAPCAFile');
    expect(directoryFailure(new InvalidCredentialsError('Invalid Credentials'), cfg)).toMatchObject({ status: 502, hint: expect.stringContaining('check ProviderConfig.LDAPAdminUser and LDAPAdminPassword') });
  });
});

describe('admin-API write failures: the reason, without directory paths', () => {
  it('cuts paths to file names and adds the usual fix', () => {
    expect(writeFailureReason("flush failed: EACCES: permission denied, open '/srv/tib/.profiles.json.1.abc.tmp'")).toBe(
      "flush failed: EACCES: permission denied, open '.profiles.json.1.abc.tmp' (the broker's user cannot write the profiles file, its directory or ProfileDir)",
    );
    expect(writeFailureReason("flush failed: ENOSPC: no space left on device, write '/var/backups/tib/profiles_backup_17.json'")).toBe(
      "flush failed: ENOSPC: no space left on device, write 'profiles_backup_17.json' (the disk is full)",
    );
    expect(writeFailureReason('flush failed: EIO: injected')).toBe('flush failed: EIO: injected');
    expect(writeFailureReason('flush failed: Redis is unreachable')).toBe('flush failed: Redis is unreachable');
  });
});
