/**
 * Failures name what was tried and the usual fix: a Tyk API call by its URL (never the Endpoint's
 * user:password), a directory by ldap(s)://host:port, an admin-API write by its reason without directory
 * paths.
 */
import { describe, expect, it } from '@jest/globals';
import { InvalidCredentialsError, NoSuchObjectError } from 'ldapts';
import { callFailure, networkHint, statusHint, tykTarget, upstreamFailure } from '../../src/actions/failures.js';
import { defaultConfig } from '../../src/config/load.js';
import { writeFailureReason } from '../../src/http/write-failure.js';
import { directoryFailure, directoryTarget } from '../../src/providers/ldap/ldap-errors.js';
import { TykCallError } from '../../src/tyk/client.js';

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
    // The LDAP result by its RFC 4511 name and number, then the directory's diagnostic when it sent one.
    expect(directoryFailure(new InvalidCredentialsError(''), cfg).reason).toBe("the directory refused the service account's bind: invalidCredentials (49)");
    expect(directoryFailure(new InvalidCredentialsError('80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v4563'), cfg).reason).toBe(
      "the directory refused the service account's bind: invalidCredentials (49): 80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v4563",
    );
    expect(directoryFailure(new NoSuchObjectError(''), cfg).reason).toBe('directory answered: noSuchObject (32)');
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
