/**
 * A service account the directory refuses (a wrong LDAPAdminPassword, against the suite's slapd): the
 * failure's log line and reason name the LDAP result as directories and ldapsearch print it,
 * `invalidCredentials (49)`, with the setting to check; the client still gets only "Login failed".
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import request from 'supertest';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { ldapProfile, startSlapd, type Slapd } from '../../support/slapd.js';

const WRONG_PASSWORD = 'not-the-service-account-password';

let slapd: Slapd;
let broker: TestBroker;

beforeAll(async () => {
  slapd = await startSlapd();
  broker = await startTestBroker({
    config: { BruteForce: { UsernameLimit: 0, IPLimit: 0 } },
    profiles: [
      ldapProfile(slapd, {
        id: 'wrong-service-password',
        returnUrl: 'http://127.0.0.1:9/tap',
        credential: 'dashboard-credential-for-ldap-tests',
        providerConfig: { LDAPAdminPassword: WRONG_PASSWORD, LDAPTimeout: 3000, LDAPConnectTimeout: 1000 },
      }),
    ],
  });
}, 60_000);
afterAll(async () => {
  await broker?.close();
  await slapd?.stop();
});

it('a refused service-account bind names invalidCredentials (49) in the log line and the failure reason', async () => {
  const res = await request(broker.url).post('/auth/wrong-service-password/ldap').type('form').send({ username: 'alice', password: 'whatever' });
  expect(res.status).toBe(502);
  expect(res.body).toEqual({ Status: 'error', Error: 'Login failed' });

  const line = broker.logs.find((l) => l.includes('login failed') && l.includes('wrong-service-password'));
  expect(line).toBeDefined();
  expect(line).toContain(`reason="the directory refused the service account's bind: invalidCredentials (49)"`);
  expect(line).toContain('hint="the directory refused the service account: check ProviderConfig.LDAPAdminUser and LDAPAdminPassword"');
  expect(line).toMatch(/target="ldap:\/\/[^"]+:\d+"/);
  // ldapts's own wording of the code, hexadecimal, is gone; the password is in no line.
  expect(line).not.toContain('0x31');
  expect(broker.logs.join('\n')).not.toContain(WRONG_PASSWORD);
});
