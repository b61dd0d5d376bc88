import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { getLogger, redact, registerSecret } from '../../src/log.js';
import { captureLogs } from '../support/logs.js';

describe('log redaction', () => {
  let capture: ReturnType<typeof captureLogs>;
  beforeEach(() => {
    capture = captureLogs();
  });
  afterEach(() => capture.stop());

  it('hides values under secret-looking keys at debug level, nested and in arrays', () => {
    getLogger('TEST').debug('dump', {
      config: { Secret: 'top-secret-1', TykAPISettings: { DashboardConfig: { AdminSecret: 'admin-secret-2' } } },
      profiles: [{ IdentityHandlerConfig: { DashboardCredential: 'dash-cred-3' }, ProviderConfig: { LDAPAdminPassword: 'ldap-pass-4' } }],
      nonce: 'nonce-5',
      accessToken: 'tok-6',
    });
    const text = capture.lines.join('\n');
    expect(text).toContain('[redacted]');
    for (const s of ['top-secret-1', 'admin-secret-2', 'dash-cred-3', 'ldap-pass-4', 'nonce-5', 'tok-6']) {
      expect(text).not.toContain(s);
    }
    expect(text).toContain('TEST: dump');
  });

  it('masks registered secrets wherever they appear, even inside a message', () => {
    registerSecret('registered-value-xyz');
    getLogger('TEST').debug('connecting with registered-value-xyz to the directory', { detail: 'pw=registered-value-xyz' });
    const text = capture.lines.join('\n');
    expect(text).not.toContain('registered-value-xyz');
    expect(text).toContain('connecting with [redacted] to the directory');
  });

  it('keeps ordinary fields and does not mutate the caller object', () => {
    const meta = { profile: 'p1', password: 'pw-1234' };
    expect(redact(meta)).toEqual({ profile: 'p1', password: '[redacted]' });
    expect(meta.password).toBe('pw-1234');
  });
});
