/**
 * A broker loads only the provider stacks its profiles use (issue 22, item 1; docs/performance.md "Idle
 * memory"): the built CLI with one LDAP profile never loads node-saml, openid-client or ioredis; a SAML
 * profile added through the admin API loads node-saml then, and a user signs in through it at once. The
 * child preloads test/support/module-log.js, which writes every module the ESM loader resolves to a file.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startModuleLogBroker, type ModuleLogBroker } from '../../support/module-log-broker.js';
import { bareLdapProfile } from '../../support/profiles.js';
import { samlLogin } from '../../support/saml-driver.js';
import { makeSamlKeys, samlProfile, startTestIdp, type TestIdp } from '../../support/saml-idp.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const CRED = 'dashboard-credential-for-lazy-stacks';
const ADMIN = 'dashboard-admin-secret-for-lazy-stacks';
const SECRET = 'lazy-stacks-admin-secret-0123456789abcdef';
const STACKS = { saml: '/node_modules/@node-saml/', oidc: '/node_modules/openid-client/', redis: '/node_modules/ioredis/' };

let stub: TykStub;
let idp: TestIdp;
let broker: ModuleLogBroker;
let base: string;

const loaded = async (stack: keyof typeof STACKS) => (await broker.modules()).includes(STACKS[stack]);

beforeAll(async () => {
  stub = await startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN });
  idp = await startTestIdp({ keys: await makeSamlKeys() });
  const conf = { Secret: SECRET, TykAPISettings: { DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } } };
  broker = await startModuleLogBroker('lazy-stacks', conf, [bareLdapProfile('ldap-only', { ReturnURL: 'http://dash.example.com/tap', IdentityHandlerConfig: { DashboardCredential: CRED } })]);
  base = broker.base;
}, 90_000);

afterAll(async () => {
  await broker?.close();
  await Promise.all([idp?.close(), stub?.close()]);
});

describe('provider stacks are loaded by the first profile that needs them', () => {
  it('one LDAP profile: neither the SAML nor the OpenID Connect library, nor the Redis client, is loaded', async () => {
    expect(await broker.modules()).toContain('/node_modules/ldapts/');
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
