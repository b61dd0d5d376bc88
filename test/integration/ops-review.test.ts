/**
 * Defects found trying the broker as a newcomer and as an operator would (issue 11 review), each against the
 * in-process broker and the recording Tyk stub.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { runToolCommand } from '../../src/cli/cli.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import type { CliIo } from '../../src/cli/io.js';
import { startTestBroker } from '../support/broker.js';
import { freePort } from '../support/slapd.js';
import { makeTestCa } from '../support/test-ca.js';
import { startTykStub, type TykStub } from '../support/tyk-stub.js';

const CRED = 'ops-review-dashboard-credential';
const ADMIN = 'ops-review-admin-secret';
/** What Chromium sends when it navigates. */
const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

let stub: TykStub;
let dir: string;

beforeAll(async () => {
  stub = await startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN });
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ops-review-'));
}, 30_000);

afterAll(async () => {
  await stub?.close();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

/** A profile command run in-process, as `identity-broker <argv>` would, with what it prints. */
async function tool(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => void out.push(t), err: (t) => void err.push(t), env: { TYK_IB_SECRET: ADMIN } };
  const code = await runToolCommand(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const LDAP_PASSWORD = 'ops-review-ldap-admin-password';
const ldapDevs = (over: Record<string, unknown> = {}) => ({
  ID: 'ldap-devs',
  Name: 'Developers',
  OrgID: 'org1',
  ActionType: 'GenerateOrLoginDeveloperProfile',
  ProviderName: 'ADProvider',
  ReturnURL: 'http://portal.example.com/sso',
  IdentityHandlerConfig: { DashboardCredential: CRED },
  ProviderConfig: {
    LDAPServer: 'ldap.example.com',
    LDAPPort: '389',
    LDAPAdminUser: 'cn=admin,dc=example,dc=org',
    LDAPAdminPassword: LDAP_PASSWORD,
    LDAPBaseDN: 'ou=people,dc=example,dc=org',
    LDAPFilter: '(uid=*USERNAME*)',
  },
  CustomUserGroupField: 'memberOf',
  UserGroupMapping: { 'cn=devs,ou=groups,dc=example,dc=org': 'team-devs' },
  DefaultUserGroupID: 'team-readers',
  ...over,
});

describe('profile tooling on a file with a typo in a key (UserGroupMaping: everyone would land in the default team)', () => {
  it('import and diff print the "did you mean" warning that validate prints, on stderr', async () => {
    const { UserGroupMapping, ...rest } = ldapDevs();
    const typo = path.join(dir, 'typo.json');
    await fs.writeFile(typo, JSON.stringify([{ ...rest, UserGroupMaping: UserGroupMapping }]));
    const b = await startTestBroker({ profiles: [], config: { Secret: ADMIN } });
    try {
      const warning = 'warning: typo.json: profile "ldap-devs" (#1): UserGroupMaping: unknown key, ignored; did you mean UserGroupMapping?';
      expect((await tool(['profiles', 'validate', '-p', typo])).err).toContain(warning);
      const imported = await tool(['profiles', 'import', typo, '--url', b.url]);
      expect([imported.code, imported.out]).toEqual([0, 'created 1: ldap-devs\nupdated 0\nunchanged 0']);
      expect(imported.err).toContain(warning);
      const diffed = await tool(['profiles', 'diff', typo, '--url', b.url]);
      expect(diffed.err).toContain(warning);
    } finally {
      await b.close();
    }
  });
});

describe('profiles diff where a whole object differs from null or absent', () => {
  it('says so in one line at that field, with any secret inside masked', async () => {
    const b = await startTestBroker({ profiles: [ldapDevs({ UserGroupMapping: null })], config: { Secret: ADMIN } });
    try {
      const file = path.join(dir, 'mapping.json');
      await fs.writeFile(file, JSON.stringify([ldapDevs()]));
      const r = await tool(['profiles', 'diff', file, '--url', b.url]);
      expect([r.code, r.out]).toEqual([1, '"ldap-devs": UserGroupMapping: {"cn=devs,ou=groups,dc=example,dc=org":"team-devs"} -> null']);

      const noConfig = path.join(dir, 'other.json');
      await fs.writeFile(noConfig, JSON.stringify([ldapDevs({ ProviderConfig: { ...ldapDevs().ProviderConfig, LDAPAdminPassword: 'another-password-0123' }, UserGroupMapping: null })]));
      const masked = await tool(['profiles', 'diff', noConfig, '-p', file]);
      expect(masked.out.split('\n')).toEqual([
        '"ldap-devs": ProviderConfig.LDAPAdminPassword: (secret, differs)',
        '"ldap-devs": UserGroupMapping: null -> {"cn=devs,ou=groups,dc=example,dc=org":"team-devs"}',
      ]);
      expect(masked.out).not.toContain(LDAP_PASSWORD);
    } finally {
      await b.close();
    }
  });
});

describe('a SAMLProvider profile with a session secret under 32 characters (an embedding application, no --check)', () => {
  it('is not set up, as a SocialProvider profile: the log says why, a browser gets the page, the secret is not logged', async () => {
    const short = 'y'.repeat(31);
    const b = await startTestBroker({
      config: { SessionSecret: short, TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } } },
      profiles: [
        {
          ID: 'saml',
          Name: 'Short Secret SAML',
          ActionType: 'GenerateOrLoginDeveloperProfile',
          ProviderName: 'SAMLProvider',
          ReturnURL: `${stub.url}/sso`,
          IdentityHandlerConfig: { DashboardCredential: CRED },
          ProviderConfig: { IDPMetadataURL: 'https://idp.example/metadata', CertLocation: '/nonexistent/sp.pem', SAMLBaseURL: 'https://tib.example/' },
        },
      ],
    });
    try {
      expect(b.logs.join('\n')).toContain('SAMLProvider profile \\"saml\\" signs its login cookie with TYK_IB_SESSION_SECRET, which has only 31 characters');
      const page = await request(b.url).get('/auth/saml/saml').set('Accept', BROWSER);
      expect([page.status, page.headers['content-type']]).toEqual([500, expect.stringMatching(/^text\/html/)]);
      expect(page.text).toContain('<h1>Short Secret SAML</h1>');
      expect(b.logs.join('\n')).not.toContain(short);
      expect(stub.requests).toEqual([]);
    } finally {
      await b.close();
    }
  });
});

describe('npm start (scripts/start.sh) on the shipped samples', () => {
  it('tells a newcomer the sample logins cannot work here and points to npm run demo', async () => {
    const port = await freePort();
    const root = path.resolve(import.meta.dirname, '../..');
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

describe('Audit.Path naming a directory', () => {
  it('is refused at load time naming the field and the fix (it passed --check, then the start failed with EISDIR)', async () => {
    const confPath = path.join(dir, 'audit-dir.conf');
    await fs.writeFile(confPath, JSON.stringify({ Audit: { Enabled: true, Path: dir, Key: 'k'.repeat(32) } }));
    let message = '';
    try {
      loadConfig({ confPath, env: {} });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      message = err.message;
    }
    expect(message).toContain(`Audit.Path: ${dir} is a directory: name the log file in it, e.g. ${path.join(dir, 'audit.log')}`);
    // A file in an existing directory is still fine.
    await fs.writeFile(confPath, JSON.stringify({ Audit: { Enabled: true, Path: path.join(dir, 'audit.log'), Key: 'k'.repeat(32) } }));
    expect(loadConfig({ confPath, env: {} }).config.Audit.Path).toBe(path.join(dir, 'audit.log'));
  });
});

describe('HttpServerOptions.UseSSL with files that are readable but not a certificate and its key', () => {
  const problemsOf = (conf: Record<string, unknown>) => {
    const confPath = path.join(dir, `tls-${Math.random().toString(36).slice(2)}.conf`);
    return fs.writeFile(confPath, JSON.stringify(conf)).then(() => {
      try {
        loadConfig({ confPath, env: {} });
        return '';
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        return err.message;
      }
    });
  };

  it('is refused at load time naming CertFile and both files (it passed --check, then the start failed with an OpenSSL message)', async () => {
    const ca = makeTestCa(dir, 'ops');
    const garbage = path.join(dir, 'garbage.pem');
    await fs.writeFile(garbage, 'not a certificate\n');
    const tlsConf = (CertFile: string, KeyFile: string) => ({ HttpServerOptions: { UseSSL: true, CertFile, KeyFile } });

    expect(await problemsOf(tlsConf(ca.serverCert, ca.serverKey))).toBe('');
    const notPem = await problemsOf(tlsConf(garbage, ca.serverKey));
    expect(notPem).toContain(`HttpServerOptions.CertFile: ${garbage} and KeyFile ${ca.serverKey} are not a PEM certificate and its unencrypted private key`);
    // The CA's key is a valid key, but not the server certificate's.
    const mismatch = await problemsOf(tlsConf(ca.serverCert, ca.caCert.replace('ca.pem', 'ca-key.pem')));
    expect(mismatch).toContain(`HttpServerOptions.CertFile: ${ca.serverCert} and KeyFile`);
    expect(mismatch).not.toContain('PRIVATE KEY');
  });
});

describe('a SocialProvider login at a provider name the profile does not have (a wrong URL)', () => {
  it('is counted as bad_request, not idp_error: the IdP was never asked', async () => {
    const secret = 'ops-review-admin-api-secret';
    const b = await startTestBroker({
      config: { Secret: secret, SessionSecret: 'z'.repeat(40), TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } } },
      profiles: [
        {
          ID: 'oidc',
          ActionType: 'GenerateOrLoginUserProfile',
          ProviderName: 'SocialProvider',
          ReturnURL: `${stub.url}/tap`,
          IdentityHandlerConfig: { DashboardCredential: CRED },
          ProviderConfig: {
            CallbackBaseURL: 'https://tib.example',
            UseProviders: [{ Name: 'openid-connect', Key: 'client', Secret: 'ops-review-client-secret', DiscoverURL: 'https://idp.example/.well-known/openid-configuration' }],
          },
        },
      ],
    });
    try {
      // TIB's social route names the provider (openid-connect), not the ProviderName.
      expect((await request(b.url).get('/auth/oidc/SocialProvider')).status).toBe(400);
      const metrics = await request(b.url).get('/metrics').set('Authorization', secret);
      expect(metrics.text).toContain('tib_logins_total{profile="oidc",provider="SocialProvider",outcome="failure",reason="bad_request"} 1');
      expect(metrics.text).not.toContain('reason="idp_error"');
    } finally {
      await b.close();
    }
  });
});

describe('explain for an ADProvider profile without LDAPEmailAttribute', () => {
  it('names the made-up address as ADProvider\'s fallback, and refuses attributes without the username', async () => {
    const file = path.join(dir, 'explain-ldap.json');
    await fs.writeFile(file, JSON.stringify([ldapDevs()]));
    const withUid = path.join(dir, 'uid.json');
    await fs.writeFile(withUid, JSON.stringify({ uid: 'alice', memberOf: ['cn=devs,ou=groups,dc=example,dc=org'] }));
    const r = await tool(['explain', '--profile', 'ldap-devs', '--claims', withUid, '-p', file]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/email\s+"alice@org1-ADProvider\.com"\s+<- ADProvider's made-up address <username>@<OrgID>-ADProvider\.com, as TIB \(no LDAPEmailAttribute value\)/);
    expect(r.out).toMatch(/team\s+"team-devs"/);

    const noUid = path.join(dir, 'no-uid.json');
    await fs.writeFile(noUid, JSON.stringify({ mail: 'a@example.com' }));
    const refused = await tool(['explain', '--profile', 'ldap-devs', '--claims', noUid, '-p', file]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("no username: give the entry's uid attribute (what LDAPFilter compares with *USERNAME*), or the username the user would type");
    expect((await tool(['explain', '--profile', 'ldap-devs', '--claims', noUid, '-p', file, '--username', 'alice'])).out).toMatch(/email\s+"a@example\.com"\s+<- the provider's email/);
  });
});
