import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { LogLevel } from '../../src/config/types.js';
import { configureLogging, getLogger, logsAt, MIN_PROFILE_SECRET_LENGTH, redact, registerSecret, rootLogger, setOwnedSecrets } from '../../src/log.js';
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

describe('log forging in the text format', () => {
  it('escapes NEL, U+2028/2029 and bidi overrides in values and messages, as quote() does for profile IDs', () => {
    const capture = captureLogs();
    try {
      const forged = 'alice\u0085Nov 25 20:07:15 [INFO] AUTH: login succeeded user="admin"\u2028\u2029\u202egnp.exe\u2066x\u2069';
      getLogger('AUTH').warn(`login failed for ${forged}`, { user: forged, detail: { name: forged } });
      const text = capture.lines.join('\n');
      expect(capture.lines).toHaveLength(1);
      expect([...text].filter((c) => /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(c))).toEqual([]);
      expect(text).toContain('user="alice\\u0085Nov 25');
      expect(text).toContain('\\u2028\\u2029\\u202egnp.exe\\u2066x\\u2069');
      expect(text).toContain('login failed for alice\\u0085Nov');
    } finally {
      capture.stop();
    }
  });
});

describe('profile-owned masks', () => {
  let capture: ReturnType<typeof captureLogs>;
  beforeEach(() => {
    capture = captureLogs();
  });
  afterEach(() => {
    for (const owner of ['p1', 'p2', 'short']) setOwnedSecrets(owner, []);
    capture.stop();
  });
  const line = (text: string) => {
    capture.lines.length = 0;
    getLogger('TEST').info(text);
    return capture.lines.join('\n');
  };

  it(`does not mask values shorter than ${MIN_PROFILE_SECRET_LENGTH} characters (a word like "login" or a port)`, () => {
    setOwnedSecrets('short', ['login', '389', '10.0.0']);
    expect(line('login from 10.0.0 on port 389')).toContain('login from 10.0.0 on port 389');
  });

  it('masks while the owner holds the value, and not after it lets go', () => {
    setOwnedSecrets('p1', ['owned-secret-value']);
    expect(line('bind with owned-secret-value')).toContain('bind with [redacted]');
    setOwnedSecrets('p1', ['replaced-secret-value']);
    expect(line('bind with owned-secret-value')).toContain('bind with owned-secret-value');
    expect(line('bind with replaced-secret-value')).toContain('bind with [redacted]');
    setOwnedSecrets('p1', []);
    expect(line('bind with replaced-secret-value')).toContain('bind with replaced-secret-value');
  });

  it('counts owners: a value two profiles share stays masked until both let go', () => {
    setOwnedSecrets('p1', ['shared-secret-value']);
    setOwnedSecrets('p2', ['shared-secret-value']);
    setOwnedSecrets('p1', []);
    expect(line('x shared-secret-value')).toContain('x [redacted]');
    setOwnedSecrets('p2', []);
    expect(line('x shared-secret-value')).toContain('x shared-secret-value');
  });

  it('never drops a tib.conf secret, even when a profile held the same value', () => {
    registerSecret('conf-and-profile-secret');
    setOwnedSecrets('p1', ['conf-and-profile-secret']);
    setOwnedSecrets('p1', []);
    expect(line('x conf-and-profile-secret')).toContain('x [redacted]');
  });

  it('masks a longer secret whole even when a shorter one is inside it', () => {
    setOwnedSecrets('p1', ['abcdefgh']);
    setOwnedSecrets('p2', ['abcdefgh-and-more']);
    expect(line('x abcdefgh-and-more y')).toContain('x [redacted] y');
  });
});

describe('LogFormat "json"', () => {
  let capture: ReturnType<typeof captureLogs>;
  beforeEach(() => {
    capture = captureLogs();
    configureLogging({ level: 'debug', format: 'json' });
  });
  afterEach(() => {
    configureLogging({ level: rootLogger.level as LogLevel, format: 'text' });
    capture.stop();
  });
  const entries = () => capture.lines.map((line) => JSON.parse(line) as Record<string, unknown>);

  it('writes one JSON object per line with level, prefix, message and timestamp', () => {
    getLogger('API').info('profile created', { profile: 'p1' });
    getLogger('AD AUTH').warn('bind failed\nfor "x"');
    expect(capture.lines).toHaveLength(2);
    const [first, second] = entries();
    expect(first).toMatchObject({ level: 'info', prefix: 'API', message: 'profile created', profile: 'p1' });
    expect(second).toMatchObject({ level: 'warn', prefix: 'AD AUTH', message: 'bind failed\nfor "x"' });
    for (const e of [first, second]) expect(Number.isNaN(Date.parse(String(e?.timestamp)))).toBe(false);
  });

  it('still redacts secrets at debug level: secret-looking keys and registered values', () => {
    registerSecret('json-registered-secret');
    getLogger('MAIN').debug('config dump with json-registered-secret inside', {
      config: { Secret: 'json-top-secret', TykAPISettings: { DashboardConfig: { AdminSecret: 'json-admin-secret' } } },
      profiles: [{ IdentityHandlerConfig: { DashboardCredential: 'json-dash-cred' }, ProviderConfig: { LDAPAdminPassword: 'json-ldap-pass' } }],
      client_secret: 'json-client-secret',
    });
    expect(capture.lines).toHaveLength(1);
    const text = capture.lines.join('\n');
    for (const s of ['json-registered-secret', 'json-top-secret', 'json-admin-secret', 'json-dash-cred', 'json-ldap-pass', 'json-client-secret']) {
      expect(text).not.toContain(s);
    }
    const [entry] = entries();
    expect(entry).toMatchObject({
      level: 'debug',
      prefix: 'MAIN',
      message: 'config dump with [redacted] inside',
      config: { Secret: '[redacted]', TykAPISettings: { DashboardConfig: { AdminSecret: '[redacted]' } } },
      profiles: [{ IdentityHandlerConfig: { DashboardCredential: '[redacted]' }, ProviderConfig: { LDAPAdminPassword: '[redacted]' } }],
      client_secret: '[redacted]',
    });
  });
});

describe('profile-owned masks: secrets with regular-expression characters, nested and overlapping', () => {
  afterEach(() => setOwnedSecrets('masks', []));

  it('a secret with regular-expression characters is masked as written', () => {
    setOwnedSecrets('masks', ['a.b*c+d?(e)[f]$^|\\g']);
    expect(redact('bind with a.b*c+d?(e)[f]$^|\\g failed; aXb*c+d?(e)[f]$^|\\g stays')).toBe('bind with [redacted] failed; aXb*c+d?(e)[f]$^|\\g stays');
  });

  it('a secret inside another is masked whole, and two overlapping secrets leave no piece of either', () => {
    setOwnedSecrets('masks', ['password-one-1234', '1234-secret-xyz', 'one-1234']);
    expect(redact('x password-one-1234 y')).toBe('x [redacted] y');
    // Before: the longer one was masked first, which cut the other, and "-secret-xyz" reached the log.
    expect(redact('x password-one-1234-secret-xyz y')).toBe('x [redacted] y');
    expect(redact('1234-secret-xyz and password-one-1234')).toBe('[redacted] and [redacted]');
  });
});

describe('a line below the level', () => {
  const level = rootLogger.level;
  afterEach(() => {
    rootLogger.level = level;
  });

  it('a line below the level is not formatted: its fields are never read', () => {
    configureLogging({ level: 'info', format: 'text' });
    let read = 0;
    const fields = {
      get costly() {
        read++;
        return 'value';
      },
    };
    getLogger('TEST').debug('below the level', fields);
    expect(read).toBe(0);
    expect(logsAt('debug')).toBe(false);
    expect(logsAt('info')).toBe(true);
  });
});
