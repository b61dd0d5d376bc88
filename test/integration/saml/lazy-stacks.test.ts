/**
 * A broker loads only the provider stacks its profiles use (issue 22, item 1; docs/performance.md "Idle
 * memory"): the built CLI with one LDAP profile never loads node-saml, openid-client or ioredis; a SAML
 * profile added through the admin API loads node-saml then, and a user signs in through it at once. The
 * child preloads test/support/module-log.js, which writes every module the ESM loader resolves to a file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { bareLdapProfile } from '../../support/profiles.js';
import { samlLogin } from '../../support/saml-driver.js';
import { makeSamlKeys, samlProfile, startTestIdp, type TestIdp } from '../../support/saml-idp.js';
import { freePort } from '../../support/slapd.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const root = path.resolve(import.meta.dirname, '../../..');
const CRED = 'dashboard-credential-for-lazy-stacks';
const ADMIN = 'dashboard-admin-secret-for-lazy-stacks';
const SECRET = 'lazy-stacks-admin-secret-0123456789abcdef';
const STACKS = { saml: '/node_modules/@node-saml/', oidc: '/node_modules/openid-client/', redis: '/node_modules/ioredis/' };

let dir: string;
let stub: TykStub;
let idp: TestIdp;
let child: ChildProcess;
let output = '';
let base: string;

const loaded = async (stack: keyof typeof STACKS) => (await fs.readFile(path.join(dir, 'modules.log'), 'utf8')).includes(STACKS[stack]);

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lazy-stacks-'));
  stub = await startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN });
  idp = await startTestIdp({ keys: await makeSamlKeys() });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const conf = { Port: port, ListenAddress: '127.0.0.1', Secret: SECRET, TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } } };
  await fs.writeFile(path.join(dir, 'tib.conf'), JSON.stringify(conf));
  await fs.writeFile(path.join(dir, 'profiles.json'), JSON.stringify([bareLdapProfile('ldap-only', { ReturnURL: 'http://dash.example.com/tap', IdentityHandlerConfig: { DashboardCredential: CRED } })]));
  const env: NodeJS.ProcessEnv = { ...process.env, MODULE_LOG: path.join(dir, 'modules.log'), TYK_IB_SESSION_SECRET: 'lazy-stacks-session-secret-0123456789abcdef', TYK_LOGLEVEL: 'info' };
  for (const k of Object.keys(env)) if (k.startsWith('TYK_IB_') && k !== 'TYK_IB_SESSION_SECRET') delete env[k];
  child = spawn(process.execPath, ['--import', path.join(root, 'test/support/module-log.js'), path.join(root, 'dist/main.js'), '-c', path.join(dir, 'tib.conf'), '-p', path.join(dir, 'profiles.json')], { stdio: ['ignore', 'pipe', 'pipe'], env });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  // A wait, not a timing assertion: a loaded machine may take a while to start a process.
  for (let i = 0; i < 800 && !output.includes('admin API: ') && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
  if (!output.includes('admin API: ')) throw new Error(`the broker did not start:\n${output}`);
}, 90_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exit = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exit;
  }
  await Promise.all([idp?.close(), stub?.close()]);
  await fs.rm(dir, { recursive: true, force: true });
});

describe('provider stacks are loaded by the first profile that needs them', () => {
  it('one LDAP profile: neither the SAML nor the OpenID Connect library, nor the Redis client, is loaded', async () => {
    expect(await fs.readFile(path.join(dir, 'modules.log'), 'utf8')).toContain('/node_modules/ldapts/');
    expect({ saml: await loaded('saml'), oidc: await loaded('oidc'), redis: await loaded('redis') }).toEqual({ saml: false, oidc: false, redis: false });
  });

  it('a SAML profile added through the admin API loads node-saml then, and a user signs in through it', async () => {
    const profile = samlProfile({ id: 'saml-added', idp, baseUrl: base, returnUrl: `${stub.url}/portal/sso/`, credential: CRED });
    const res = await fetch(`${base}/api/profiles/saml-added`, { method: 'POST', headers: { Authorization: SECRET, 'Content-Type': 'application/json' }, body: JSON.stringify(profile) });
    expect(res.status).toBe(201);
    expect(await loaded('saml')).toBe(true);
    // The write is answered once the profile is live: the login needs no wait.
    const login = await samlLogin(base, 'saml-added');
    expect(login.res.status).toBe(302);
    expect(login.res.headers.get('location')).toBe(`${stub.url}/portal/sso/?nonce=${stub.issuedNonces.at(-1)}`);
    expect(await loaded('oidc')).toBe(false);
  }, 60_000);
});
