/**
 * Second review of issue 8 (hardening), probing it as an outside checker would: hostile profile values
 * against the AllowedIdPHosts allow-list, and token endpoints that refuse client authentication in the
 * ways real servers do (401 without a JSON body, invalid_client sent as text/html).
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startTestBroker, type TestBroker } from '../support/broker.js';

const SECRET = 'review-hardening-admin-secret';
const ldap = (id: string, server: string) => ({
  ID: id,
  ActionType: 'GenerateOrLoginUserProfile',
  ProviderName: 'ADProvider',
  ReturnURL: 'http://dash.example.com/tap',
  IdentityHandlerConfig: { DashboardCredential: 'dash-credential-value' },
  ProviderConfig: { LDAPServer: server, LDAPPort: '389', LDAPUserDN: 'uid=*USERNAME*,dc=example,dc=org' },
});

describe('AllowedIdPHosts cannot be bypassed through LDAPServer', () => {
  let b: TestBroker | undefined;
  afterEach(async () => {
    await b?.close();
    b = undefined;
  });
  const post = (p: ReturnType<typeof ldap>) => request((b as TestBroker).url).post(`/api/profiles/${p.ID}`).set('Authorization', SECRET).send(p);

  // The LDAP URL is ldap://<LDAPServer>:<port>: a '#', '?', '/' or '@' in LDAPServer ends the host part, so
  // the suffix check saw ".corp.example" while the broker would have connected to 127.0.0.1.
  it('refuses an LDAPServer that is not a plain host name or IP address, naming the field', async () => {
    b = await startTestBroker({ profiles: [], config: { Secret: SECRET, AllowedIdPHosts: ['*.corp.example'] } });
    for (const server of ['127.0.0.1#.corp.example', '127.0.0.1:1389/.corp.example', '127.0.0.1?.corp.example', 'x@127.0.0.1#a.corp.example']) {
      const res = await post(ldap('sneaky', server));
      expect([res.status, res.body.Error]).toEqual([400, expect.stringContaining('ProviderConfig.LDAPServer: must be a host name or an IP address')]);
    }
    // Host names as TIB profiles write them still pass: any case, a trailing dot, IPv6 with or without brackets.
    expect((await post(ldap('ok1', 'DC1.Corp.Example.'))).status).toBe(201);
  });

  it('without an allow-list too, the same values are refused at validation', async () => {
    b = await startTestBroker({ profiles: [], config: { Secret: SECRET } });
    expect((await post(ldap('bad', 'ldap.example.com/x'))).status).toBe(400);
    for (const [id, server] of [['v6', '::1'], ['v6b', '[::1]'], ['v4', '10.1.2.3'], ['name', 'ldap_1.example.com']] as const) {
      expect([id, (await post(ldap(id, server))).status]).toEqual([id, 201]);
    }
  });
});
