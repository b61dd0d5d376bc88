/**
 * Defects found trying the broker as a newcomer and as an operator would (issue 11 review), each against the
 * in-process broker and the recording Tyk stub.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startTestBroker } from '../support/broker.js';
import { startTykStub, type TykStub } from '../support/tyk-stub.js';

const CRED = 'ops-review-dashboard-credential';
const ADMIN = 'ops-review-admin-secret';
/** What Chromium sends when it navigates. */
const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

let stub: TykStub;

beforeAll(async () => {
  stub = await startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN });
}, 30_000);

afterAll(async () => {
  await stub?.close();
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
