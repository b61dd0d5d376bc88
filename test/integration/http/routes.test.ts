/**
 * The broker's own routes, standalone and embedded under /tib (as the Tyk portal serves it): health,
 * TIB's 404/405 answers, the /auth envelopes for unknown profiles and for profiles that cannot be used.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import express from 'express';
import { createRouter } from '../../../src/http/app.js';
import { getLogger } from '../../../src/log.js';
import type { ProfileRuntime } from '../../../src/runtime.js';
import { builtinProviders } from '../../../src/providers/registry.js';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { offlineLdapProfile } from '../../support/profiles.js';

const samlProfile = {
  ID: 'saml-1',
  ActionType: 'GenerateOrLoginUserProfile',
  ProviderName: 'SAMLProvider',
  OrgID: '1',
  ReturnURL: 'http://dash.example.com/tap',
  ProviderConfig: {
    IDPMetadataURL: 'http://idp.example.com/metadata',
    CertLocation: '/etc/tib/sp.pem',
    SAMLBaseURL: 'http://tib.example.com/',
  },
};

const proxyProfile = {
  ID: 'proxy-1',
  ActionType: 'GenerateOrLoginUserProfile',
  ProviderName: 'ProxyProvider',
  OrgID: '1',
  ReturnURL: 'http://dash.example.com/tap',
  ProviderConfig: { TargetHost: 'http://127.0.0.1:1/check', OKCode: 200, ExtractUserNameFromBasicAuthHeader: true },
};

/** An LDAP profile (its directory is a closed port) with one of the token actions. */
const ldapWithAction = (id: string, ActionType: string, IdentityHandlerConfig: Record<string, unknown>) =>
  offlineLdapProfile(id, { ActionType, OrgID: '1', ReturnURL: 'http://app.example.com/done', IdentityHandlerConfig }, { LDAPServer: '127.0.0.1', LDAPPort: '1' });
const tokenProfile = ldapWithAction('token-1', 'GenerateTemporaryAuthToken', { DashboardCredential: 'dashboard-credential', TokenAuth: { BaseAPIID: 'api-1' } });
const oauthProfile = ldapWithAction('oauth-1', 'GenerateOAuthTokenForClient', {
  DashboardCredential: 'dashboard-credential',
  OAuth: { APIListenPath: 'oauth-api', BaseAPIID: 'api-2', ClientId: 'client-1', RedirectURI: 'http://app.example.com/cb', ResponseType: 'token' },
});

for (const mountPath of [undefined, '/tib']) {
  describe(`broker routes ${mountPath ? `mounted under ${mountPath}` : 'standalone'}`, () => {
    let b: TestBroker;
    beforeAll(async () => {
      b = await startTestBroker({ profiles: [samlProfile, proxyProfile, tokenProfile, oauthProfile], config: { Secret: 'admin-secret-value' }, mountPath });
    });
    afterAll(() => b.close());

    it('GET /health answers 200 with an empty body', async () => {
      const res = await request(b.url).get('/health');
      expect(res.status).toBe(200);
      expect(res.text).toBe('');
    });

    it('a wrong method on a known path answers 405 with an empty body', async () => {
      const res = await request(b.url).post('/health');
      expect(res.status).toBe(405);
      expect(res.text).toBe('');
    });

    it('an unknown path answers 404 text as gorilla/mux does', async () => {
      const res = await request(b.url).get('/nothing/here');
      expect(res.status).toBe(404);
      expect(res.text).toBe('404 page not found\n');
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
    });

    it('an unknown profile gives TIB 404 envelope on the start and the callback routes', async () => {
      for (const p of ['/auth/nope/ldap', '/auth/nope/ldap/callback']) {
        const res = await request(b.url).get(p);
        expect(res.status).toBe(404);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        expect(res.body).toEqual({ Status: 'error', Error: 'Profile nope not found' });
      }
    });

    it('SAMLProvider is built: a profile whose CertLocation cannot be read answers 500, never a 501', async () => {
      const res = await request(b.url).post('/auth/saml-1/saml');
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ Status: 'error', Error: 'Could not initialise provider' });
    });

    it('ProxyProvider is built: a login runs its provider (here an upstream on a closed port: 502), never a 501', async () => {
      for (const p of ['/auth/proxy-1/proxy', '/auth/proxy-1/proxy/callback']) {
        const res = await request(b.url).get(p).auth('alice', 'pw');
        expect(res.status).toBe(502);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        expect(res.text).toBe('{"Status":"error","Error":"Login failed"}');
      }
    });

    it('the token actions are built: a login runs its provider (here a directory that is down), never a 501', async () => {
      for (const id of ['token-1', 'oauth-1']) {
        for (const p of [`/auth/${id}/ldap`, `/auth/${id}/ldap/callback`]) {
          const res = await request(b.url).post(p).type('form').send({ username: 'user', password: 'pass' });
          expect(res.status).toBe(503);
          expect(res.headers['content-type']).toMatch(/^application\/json/);
          expect(res.body).toEqual({ Status: 'error', Error: 'Login failed' });
        }
      }
    });

    it('serves the admin API under the same prefix', async () => {
      const res = await request(b.url).get('/api/profiles').set('Authorization', 'admin-secret-value');
      expect(res.status).toBe(200);
      expect(res.body.Status).toBe('ok');
      expect(res.body.Data.map((p: { ID: string }) => p.ID)).toEqual(['oauth-1', 'proxy-1', 'saml-1', 'token-1']);
    });

    it('never logs the admin secret', () => {
      expect(b.logs.length).toBeGreaterThan(0);
      expect(b.logs.join('\n')).not.toContain('admin-secret-value');
    });
  });
}

describe('host application', () => {
  it('keeps its own routes when the broker is mounted', async () => {
    const b = await startTestBroker({ profiles: [], mountPath: '/tib' });
    try {
      const host = b.url.replace(/\/tib$/, '');
      expect((await request(host).get('/')).text).toBe('host application');
      expect((await request(b.url).get('/health')).status).toBe(200);
    } finally {
      await b.close();
    }
  });
});

describe('an unexpected error under /auth', () => {
  it('is logged at ERROR and answered 500, not turned into a silent 400 "Invalid request data"', async () => {
    const b = await startTestBroker({ profiles: [tokenProfile] });
    try {
      // Fault injection: the broker's own router and store, with a profile lookup that fails as a bug would.
      const failing = {
        get: () => {
          throw new Error('injected lookup failure');
        },
      } as unknown as ProfileRuntime;
      const app = express();
      app.use(createRouter({ runtime: failing, providers: builtinProviders, store: b.broker.store, secret: '', log: { http: getLogger('HTTP'), api: getLogger('API'), auth: getLogger('AUTH HANDLERS') } }));
      const res = await request(app).post('/auth/token-1/ADProvider').type('form').send('username=u&password=p');
      expect([res.status, res.body]).toEqual([500, { Status: 'error', Error: 'Internal error' }]);
      expect(b.logs.join('\n')).toMatch(/\[ERROR\] HTTP: unhandled error .*injected lookup failure/);
    } finally {
      await b.close();
    }
  });

  it('a malformed form body is still the client\'s 400, and an oversized one 413', async () => {
    const b = await startTestBroker({ profiles: [tokenProfile] });
    try {
      const bad = await request(b.url).post('/auth/token-1/ADProvider').set('Content-Type', 'multipart/form-data; boundary=x').send('--x\r\nnot a part header\r\n\r\n');
      expect([bad.status, bad.body]).toEqual([400, { Status: 'error', Error: 'Invalid request data' }]);
      const big = await request(b.url).post('/auth/token-1/ADProvider').type('form').send(`username=${'u'.repeat(70 * 1024)}`);
      expect([big.status, big.body]).toEqual([413, { Status: 'error', Error: 'Request body too large' }]);
      expect(b.logs.join('\n')).not.toContain('[ERROR]');
    } finally {
      await b.close();
    }
  });
});
