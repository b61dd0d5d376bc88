import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { configProblems } from '../support/config-problems.js';
import { defaultConfig, describeConfig, loadConfig, settingNamer, settingPhrase } from '../../src/config/load.js';
import { jsonSyntaxProblem } from '../../src/config/json-syntax.js';
import { leaves, type Leaf } from '../../src/config/schema.js';
import { checkProfileNeeds } from '../../src/profiles/needs.js';
import { closest, didYouMean, editDistance } from '../../src/config/suggest.js';
import type { Config } from '../../src/config/types.js';
import type { Profile } from '../../src/profiles/profile.js';
import { validateProfile } from '../../src/profiles/validate.js';
import { builtinProviders } from '../../src/providers/registry.js';
import { FIRST } from '../support/rules.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'config-test-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
function confFile(content: unknown): string {
  const p = path.join(dir, `tib-${n++}.conf`);
  fs.writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}
function get(obj: unknown, p: string[]): unknown {
  return p.reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], obj);
}
function nest(p: string[], v: unknown): Record<string, unknown> {
  return p.reduceRight<unknown>((acc, k) => ({ [k]: acc }), v) as Record<string, unknown>;
}

/** A value of the leaf's kind that differs from the default and passes validation, in JSON and env form. */
function sample(leaf: Leaf, jsonPath: string[]): { json: unknown; env: string; expected: unknown } {
  const key = jsonPath.join('.');
  if (key === 'BackEnd.Name') return { json: 'redis', env: 'redis', expected: 'redis' };
  if (key === 'Storage.storage_type') return { json: 'file', env: 'file', expected: 'file' };
  if (key === 'LogFormat') return { json: 'json', env: 'json', expected: 'json' };
  if (key === 'TrustedProxies') return { json: ['10.0.0.1', 'fd00::/8'], env: '10.0.0.1,fd00::/8', expected: ['10.0.0.1', 'fd00::/8'] };
  if (key === 'AllowedIdPHosts') return { json: ['idp.example.com', '*.corp.example'], env: 'idp.example.com,*.corp.example', expected: ['idp.example.com', '*.corp.example'] };
  if (key.endsWith('Version')) return { json: '1.3', env: '1.3', expected: '1.3' };
  if (key.endsWith('Config.Endpoint')) return { json: 'https://tyk.example.com', env: 'https://tyk.example.com', expected: 'https://tyk.example.com' };
  if (key.endsWith('Config.Port')) return { json: '8443', env: '8443', expected: '8443' };
  if (key === 'HttpServerOptions.UseSSL') return { json: false, env: 'false', expected: false };
  // Enabled, the audit log needs a key (checked in test/integration/audit.test.ts).
  if (key === 'Audit.Enabled') return { json: false, env: 'false', expected: false };
  switch (leaf.kind) {
    case 'string':
      return { json: `value-of-${leaf.json}`, env: `value-of-${leaf.json}`, expected: `value-of-${leaf.json}` };
    case 'int':
      return { json: 42, env: '42', expected: 42 };
    case 'bool':
      return { json: true, env: 'true', expected: true };
    case 'list':
      return { json: ['h1:6379', 'h2:6380'], env: 'h1:6379,h2:6380', expected: ['h1:6379', 'h2:6380'] };
    case 'map':
      return { json: { h1: '6379', h2: '6380' }, env: 'h1:6379,h2:6380', expected: { h1: '6379', h2: '6380' } };
    case 'any':
      return { json: { x: 1 }, env: '', expected: { x: 1 } };
  }
}

describe('every tib.conf field', () => {
  const all = leaves();
  it('covers the fields of TIB (docs/tib-behaviour.md §1.2) and their variable names', () => {
    const envs = all.map((l) => l.env);
    for (const name of [
      'TYK_IB_SECRET', 'TYK_IB_PORT', 'TYK_IB_PROFILEDIR', 'TYK_IB_SSLINSECURESKIPVERIFY',
      'TYK_IB_HTTPSERVEROPTIONS_USESSL', 'TYK_IB_HTTPSERVEROPTIONS_CERTFILE', 'TYK_IB_HTTPSERVEROPTIONS_KEYFILE',
      'TYK_IB_HTTPSERVEROPTIONS_SSLINSECURESKIPVERIFY', 'TYK_IB_BACKEND_NAME',
      'TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_DATABASE', 'TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_HOSTS',
      'TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_MAXIDLE', 'TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_MAXACTIVE',
      'TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_PASSWORD', 'TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_ENABLECLUSTER',
      'TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_CAFILE', 'TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_CERTFILE',
      'TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_KEYFILE', 'TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_MAXVERSION',
      'TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_MINVERSION', 'TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_ADDRS',
      'TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_MASTERNAME', 'TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_SENTINELPASSWORD',
      'TYK_IB_TYKAPISETTINGS_GATEWAYCONFIG_ENDPOINT', 'TYK_IB_TYKAPISETTINGS_GATEWAYCONFIG_PORT',
      'TYK_IB_TYKAPISETTINGS_GATEWAYCONFIG_ADMINSECRET', 'TYK_IB_TYKAPISETTINGS_DASHBOARDCONFIG_ENDPOINT',
      'TYK_IB_TYKAPISETTINGS_DASHBOARDCONFIG_PORT', 'TYK_IB_TYKAPISETTINGS_DASHBOARDCONFIG_ADMINSECRET',
      'TYK_IB_STORAGE_STORAGETYPE', 'TYK_IB_STORAGE_MONGOCONF_MONGOURL', 'TYK_IB_STORAGE_MONGOCONF_MONGOUSESSL',
      'TYK_IB_STORAGE_MONGOCONF_MONGOSSLINSECURESKIPVERIFY', 'TYK_IB_STORAGE_MONGOCONF_SESSIONCONSISTENCY',
      'TYK_IB_STORAGE_MONGOCONF_DRIVER', 'TYK_IB_STORAGE_MONGOCONF_DIRECTCONNECTION',
    ]) {
      expect(envs).toContain(name);
    }
  });

  for (const { leaf, jsonPath, env } of all) {
    const key = jsonPath.join('.');
    const v = sample(leaf, jsonPath);
    it(`${key} from the file`, () => {
      const { config } = loadConfig({ confPath: confFile(nest(jsonPath, v.json)), env: {} });
      expect(get(config, jsonPath)).toEqual(v.expected);
    });
    it(`${key} from the file with a lower-cased key`, () => {
      const { config } = loadConfig({ confPath: confFile(nest(jsonPath.map((p) => p.toLowerCase()), v.json)), env: {} });
      expect(get(config, jsonPath)).toEqual(v.expected);
    });
    if (env && leaf.kind !== 'any') {
      it(`${key} from ${env}, over the file`, () => {
        const other = leaf.kind === 'int' ? 7 : leaf.kind === 'bool' ? false : v.json;
        const { config } = loadConfig({ confPath: confFile(nest(jsonPath, other)), env: { [env]: v.env } });
        expect(get(config, jsonPath)).toEqual(v.expected);
      });
    }
    if (leaf.kind !== 'any') {
      it(`${key} of the wrong JSON type is an error naming the file and key`, () => {
        const wrong = leaf.kind === 'string' ? 12 : 'text';
        const p = configProblems(() => loadConfig({ confPath: confFile(nest(jsonPath, wrong)), env: {} }));
        expect(p.join('\n')).toMatch(new RegExp(`tib-\\d+\\.conf: ${key.replace(/\./g, '\\.')}: must be`));
      });
    }
  }
});

describe('TIB compatibility', () => {
  it("loads TIB's tib_sample.conf unmodified", () => {
    const { config } = loadConfig({ confPath: path.resolve(import.meta.dirname, '../fixtures/tib/tib_sample.conf'), env: {} });
    expect(config.Secret).toBe('test-secret');
    expect(config.Port).toBe(0);
    expect(config.BackEnd.Name).toBe('in_memory');
    expect(config.BackEnd.IdentityBackendSettings.Hosts).toEqual({ localhost: '6379' });
    expect(config.BackEnd.IdentityBackendSettings.MaxActive).toBe(2000);
    expect(config.TykAPISettings.GatewayConfig).toEqual({ Endpoint: 'http://localhost', Port: '80', AdminSecret: '54321' });
    expect(config.TykAPISettings.DashboardConfig).toEqual({ Endpoint: 'http://localhost', Port: '3000', AdminSecret: '12345' });
    expect(config.HttpServerOptions.CertFile).toBe('./certs/server.pem');
    expect(config.Storage.storage_type).toBe('file');
  });

  it('defaults match TIB', () => {
    const c = defaultConfig();
    expect(c.Port).toBe(0);
    expect(c.BackEnd.Name).toBe('in_memory');
    expect(c.TykAPISettings.DashboardConfig.Port).toBe('');
    expect(c.ProfileBackupCount).toBe(10);
  });

  it('TYK_IB_OMITCONFIGFILE=true discards file values and the file may be missing', () => {
    const file = confFile({ Secret: 'from-file', Port: 4000 });
    const { config, warnings } = loadConfig({ confPath: file, env: { TYK_IB_OMITCONFIGFILE: 'TRUE', TYK_IB_PORT: '5000' } });
    expect(config.Secret).toBe('');
    expect(config.Port).toBe(5000);
    expect(warnings.join()).toContain('TYK_IB_OMITCONFIGFILE');
    expect(loadConfig({ confPath: path.join(dir, 'missing.conf'), env: { TYK_IB_OMITCONFIGFILE: 'true' } }).config.Port).toBe(0);
  });

  it('accepts Go integer and boolean syntaxes', () => {
    const file = confFile({});
    const envs: Array<[string, number]> = [['0x1F', 31], ['0o17', 15], ['017', 15], ['0b101', 5], ['-3', -3], ['0x_1F', 31]];
    for (const [raw, value] of envs) {
      expect(loadConfig({ confPath: file, env: { TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_TIMEOUT: raw } }).config.BackEnd.IdentityBackendSettings.Timeout).toBe(value);
    }
    for (const raw of ['1', 't', 'T', 'TRUE', 'true', 'True']) {
      expect(loadConfig({ confPath: file, env: { TYK_IB_SSLINSECURESKIPVERIFY: raw } }).config.SSLInsecureSkipVerify).toBe(true);
    }
    for (const raw of ['0', 'f', 'F', 'FALSE', 'false', 'False']) {
      expect(loadConfig({ confPath: file, env: { TYK_IB_SSLINSECURESKIPVERIFY: raw } }).config.SSLInsecureSkipVerify).toBe(false);
    }
  });

  it('a present but empty variable sets "" for strings', () => {
    const { config } = loadConfig({ confPath: confFile({ Secret: 'x' }), env: { TYK_IB_SECRET: '' } });
    expect(config.Secret).toBe('');
  });

  it('TYK_IB_SESSION_SECRET wins over the deprecated SESSION_SECRET', () => {
    const file = confFile({});
    expect(loadConfig({ confPath: file, env: { SESSION_SECRET: 'old-one' } }).config.SessionSecret).toBe('old-one');
    const both = loadConfig({ confPath: file, env: { SESSION_SECRET: 'old-one', TYK_IB_SESSION_SECRET: 'new-one' } });
    expect(both.config.SessionSecret).toBe('new-one');
    expect(both.warnings.join()).toContain('SESSION_SECRET');
  });

  it('TYK_LOGLEVEL maps as TIB does', () => {
    const file = confFile({});
    expect(loadConfig({ confPath: file, env: { TYK_LOGLEVEL: 'DEBUG' } }).config.LogLevel).toBe('debug');
    expect(loadConfig({ confPath: file, env: { TYK_LOGLEVEL: 'verbose' } }).config.LogLevel).toBe('info');
  });

  it('warns about unknown keys', () => {
    const { warnings } = loadConfig({ confPath: confFile({ Secrett: 'typo' }), env: {} });
    expect(warnings.join()).toContain('unknown key Secrett');
  });
});

describe('errors name the key, the variable or the file, and all are reported', () => {
  it('collects every bad variable instead of stopping at the first', () => {
    const p = configProblems(() =>
      loadConfig({
        confPath: confFile({}),
        env: {
          TYK_IB_PORT: 'eighty',
          TYK_IB_SSLINSECURESKIPVERIFY: 'yes',
          TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_HOSTS: 'a:1:2',
          TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_DATABASE: '',
        },
      }),
    );
    expect(p).toHaveLength(4);
    expect(p.join('\n')).toContain('TYK_IB_PORT: invalid integer "eighty"');
    expect(p.join('\n')).toContain('TYK_IB_SSLINSECURESKIPVERIFY: invalid boolean "yes"');
    expect(p.join('\n')).toContain('TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_HOSTS: invalid map item "a:1:2"');
    expect(p.join('\n')).toContain('TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_DATABASE: invalid integer ""');
  });

  it('a missing file names the path', () => {
    const missing = path.join(dir, 'nope.conf');
    expect(configProblems(() => loadConfig({ confPath: missing, env: {} }))[0]).toContain(`${missing}: file not found`);
  });

  it('a JSON syntax error names the file and the line', () => {
    const p = configProblems(() => loadConfig({ confPath: confFile('{\n  "Secret": "x",\n  "Port": ,\n}'), env: {} }));
    expect(p[0]).toMatch(/tib-\d+\.conf: invalid JSON at line 3/);
  });

  it('a JSON syntax error gives line and column only, never the text around it (it may be a secret)', () => {
    for (const [text, where] of [
      ['{\n  "Secret": "hunter2-admin-secret" "Port": 1\n}', 'line 2 column 36'],
      ['{\n  "Secret": "hunter2-admin-secret",\n  "Port": ,\n}', 'line 3 column 11'],
      ['{"Secret": "hunter2-admin-secret', 'line 1 column 33'],
    ] as const) {
      const [p] = configProblems(() => loadConfig({ confPath: confFile(text), env: {} }));
      // Then what the parser expected, in its own words (src/config/json-syntax.ts).
      expect(p).toMatch(new RegExp(`tib-\\d+\\.conf: invalid JSON at ${where}: \\w`));
      expect(p).not.toContain('hunter2');
    }
  });

  it.each([
    ['{"a": , "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb": 1}', 'invalid JSON at line 1 column 7'],
    ['{"aaaaaaaaaaaaaaaaaaaaaaaa": ,}', 'invalid JSON at line 1 column 30'],
    ['{"aaaaaaaaaaaaaaaaaaaa":\n , "bbbbbbbbbbbbbbbbbbbbbbbbbbbb": 1}', 'invalid JSON at line 2 column 2'],
    ['{"a": ,}', 'invalid JSON at line 1 column 7'],
    ['[,,]', 'invalid JSON'],
    ['[1,2', 'invalid JSON at line 1 column 5'],
    ['tru', 'invalid JSON at line 1 column 4'],
  ])('locates a syntax error in %j without quoting it', (text, expected) => {
    let err: unknown;
    try {
      JSON.parse(text);
    } catch (e) {
      err = e;
    }
    // The location, then ": " and what the parser expected (test/unit/cli-checks.test.ts).
    expect(jsonSyntaxProblem(text, err).split(': ')[0]).toBe(expected);
  });

  it('AllowedIdPHosts entries must be host names, IP addresses or *.suffix wildcards', () => {
    const p = configProblems(() => loadConfig({ confPath: confFile({ AllowedIdPHosts: ['idp.example.com', 'https://idp.example.com', '*'] }), env: {} }));
    expect(p).toEqual([
      expect.stringMatching(/tib-\d+\.conf: AllowedIdPHosts: "https:\/\/idp.example.com" is not a host name/),
      expect.stringMatching(/tib-\d+\.conf: AllowedIdPHosts: "\*" is not a host name/),
    ]);
    expect(loadConfig({ confPath: confFile({}), env: { TYK_IB_ALLOWEDIDPHOSTS: 'idp.example.com,*.corp.example' } }).config.AllowedIdPHosts).toEqual(['idp.example.com', '*.corp.example']);
  });

  it('refuses Mongo storage, unknown backends, bad TLS versions and missing HTTPS files', () => {
    const p = configProblems(() =>
      loadConfig({
        confPath: confFile({
          Storage: { storage_type: 'mongo' },
          BackEnd: { Name: 'etcd', IdentityBackendSettings: { MinVersion: '1.3', MaxVersion: '1.2', Addrs: ['nohost'] } },
          HttpServerOptions: { UseSSL: true, CertFile: '/nonexistent/cert.pem' },
          TykAPISettings: { DashboardConfig: { Endpoint: 'localhost:3000', Port: 'x' } },
        }),
        env: {},
      }),
    ).join('\n');
    expect(p).toContain('Storage.storage_type: Mongo profile storage is not supported yet');
    expect(p).toContain('BackEnd.Name: must be "in_memory" or "redis", got "etcd"');
    expect(p).toContain('BackEnd.IdentityBackendSettings.MinVersion: 1.3 is above MaxVersion 1.2');
    expect(p).toContain('BackEnd.IdentityBackendSettings.Addrs: "nohost" is not host:port');
    expect(p).toContain('HttpServerOptions.CertFile: cannot read /nonexistent/cert.pem');
    expect(p).toContain('HttpServerOptions.KeyFile: is required when UseSSL is true');
    expect(p).toContain('TykAPISettings.DashboardConfig.Endpoint: must be a scheme and host');
    expect(p).toContain('TykAPISettings.DashboardConfig.Port: must be a port number as a string');
  });
});

describe('describeConfig', () => {
  it('never contains a secret', () => {
    const { config } = loadConfig({
      confPath: confFile({
        Secret: 'admin-api-secret-1',
        BackEnd: { IdentityBackendSettings: { Password: 'redis-pass-2', SentinelPassword: 'sentinel-pass-3' } },
        TykAPISettings: { GatewayConfig: { AdminSecret: 'gw-secret-4' }, DashboardConfig: { AdminSecret: 'dash-secret-5' } },
        Storage: { mongo: { mongo_url: 'mongodb://user:mongo-pass-6@db/tib' } },
      }),
      env: { TYK_IB_SESSION_SECRET: 'session-secret-7' },
    });
    const text = JSON.stringify(describeConfig(config));
    for (let i = 1; i <= 7; i++) expect(text).not.toMatch(new RegExp(`-${i}[^0-9]`));
    expect(text).toContain('[redacted]');
  });
});

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
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'did-you-mean-'));
    const file = path.join(dir, 'tib.conf');
    fs.writeFileSync(file, JSON.stringify({ Secrett: 'x', TykAPISettings: { GatewayConfig: { Endpiont: 'http://gw' } } }));
    const { warnings } = loadConfig({ confPath: file, env: { TYK_IB_PROT: '1' } });
    expect(warnings).toEqual([
      'tib.conf: unknown key TykAPISettings.GatewayConfig.Endpiont ignored; did you mean TykAPISettings.GatewayConfig.Endpoint?',
      'tib.conf: unknown key Secrett ignored; did you mean Secret?',
      'TYK_IB_PROT: unknown variable, ignored; did you mean TYK_IB_PORT?',
    ]);
    fs.rmSync(dir, { recursive: true });
    const v = validateProfile({ ID: 'p', ActionType: 'GenerateOrLoginUserProfile', ProviderName: 'ProxyProvider', ProviderConfig: { TargetHost: 'http://up', OKCod: 200 }, Nmae: 'x', IdentityHandlerConfig: { DashboardCredentail: 'c' } }, FIRST);
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

describe('the admin Secret', () => {
  it('under 32 characters is a warning naming the fix, never the value; empty (API off) or 32 characters are not', () => {
    const warned = (Secret: string) => loadConfig({ confPath: confFile({ Secret }), env: {} }).warnings.filter((w) => w.includes('admin API secret'));
    expect(warned('admin')).toEqual([expect.stringContaining('Secret (the admin API secret) is 5 characters: a short secret can be guessed; use at least 32, e.g. the output of: openssl rand -base64 32')]);
    expect(warned('x'.repeat(31))).toHaveLength(1);
    expect(warned('x'.repeat(32))).toEqual([]);
    expect(warned('')).toEqual([]);
    expect(warned('admin').join('')).not.toContain('"admin"');
  });
});

describe('what the profiles need from tib.conf', () => {
  const profile = (over: Partial<Profile>): Profile => ({ ID: 'p', ActionType: 'GenerateOrLoginUserProfile', ProviderName: 'ADProvider', IdentityHandlerConfig: { DashboardCredential: 'c' }, ...over }) as Profile;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'needs-'));
  const ctx = { source: { file: 'tib.conf', fromEnv: new Set<string>() }, profilesPath: path.join(dir, 'profiles.json'), secretVariable: 'TYK_IB_SESSION_SECRET', cookieProviders: builtinProviders.cookieProviders };
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

  it('a portal profile in "idp" membership or naming teams needs PortalAPIConfig, named with the fix', () => {
    const c = withTyk();
    const idp = profile({ ID: 'dev', ActionType: 'GenerateOrLoginDeveloperProfile', Membership: { Authority: 'idp', Teams: 'all', RegisteredOnly: false, DefaultRole: 'consumer-team-member', RoleMapping: {}, OnPortalError: 'fail' } });
    const named = profile({ ID: 'named', ActionType: 'GenerateOrLoginDeveloperProfile', UserGroupMapping: { devs: 'Acme/Developers' }, DefaultUserGroupID: '' });
    const errors = checkProfileNeeds(c, [idp, named], ctx).errors;
    expect(errors).toEqual([
      expect.stringContaining('profile "dev" (GenerateOrLoginDeveloperProfile) reconciles portal accounts (Membership.Authority "idp") through the portal\'s admin API, but TykAPISettings.PortalAPIConfig.Endpoint in tib.conf is not set'),
      expect.stringContaining('TykAPISettings.PortalAPIConfig.AdminToken in tib.conf is not set: set it to an admin user\'s API credential'),
      expect.stringContaining('profile "named" (GenerateOrLoginDeveloperProfile) names portal teams by name or CID ("Acme/Developers")'),
      expect.stringContaining('PortalAPIConfig.AdminToken'),
    ]);
    // tib.conf's, or the profile's own.
    c.TykAPISettings.PortalAPIConfig = { Endpoint: 'http://portal:3001', AdminToken: 't' };
    expect(checkProfileNeeds(c, [idp, named], ctx).errors).toEqual([]);
    const own = defaultConfig();
    own.TykAPISettings = withTyk().TykAPISettings;
    const ownTargets = { ...idp, TykAPISettings: { PortalAPIConfig: { Endpoint: 'http://portal-b:3001', AdminToken: 'b' } } };
    expect(checkProfileNeeds(own, [ownTargets], ctx).errors).toEqual([]);
    // A plain team ID in "portal" mode needs nothing new: TIB's wire.
    expect(checkProfileNeeds(withTyk(), [profile({ ActionType: 'GenerateOrLoginDeveloperProfile', UserGroupMapping: { devs: '12' }, DefaultUserGroupID: '' })], ctx).errors).toEqual([]);
  });

  it("a profile's own DashboardConfig replaces tib.conf's for its checks", () => {
    const c = withTyk();
    c.TykAPISettings.DashboardConfig.Endpoint = '';
    const own = profile({ TykAPISettings: { DashboardConfig: { Endpoint: 'http://dash-b', Port: '3000' } } });
    expect(checkProfileNeeds(c, [own], ctx).errors).toEqual([]);
    expect(checkProfileNeeds(c, [profile({})], ctx).errors).toEqual([expect.stringContaining('TykAPISettings.DashboardConfig.Endpoint in tib.conf is not set')]);
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
