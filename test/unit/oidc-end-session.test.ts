/**
 * OidcHandler.endSessionUrl (src/providers/social/oidc.ts) against a discovery document served through the
 * profile's transport: the end_session_endpoint read once at discovery, with our client_id and the logout's
 * parameters; none in discovery (as many OAuth-only IdPs): undefined, so the broker goes on to the Tyk step.
 * (test/unit/oidc-logout.test.ts covers logout.ts with the handler stubbed; this covers the handler.)
 */
import { describe, expect, it } from '@jest/globals';
import { getLogger } from '../../src/log.js';
import { OidcHandler } from '../../src/providers/social/oidc.js';
import type { SocialProviderEntry } from '../../src/providers/social/social-config.js';

const ISSUER = 'https://idp.example.com';

function handlerWith(extra: Record<string, unknown>) {
  let discoveries = 0;
  const doc = { issuer: ISSUER, authorization_endpoint: `${ISSUER}/auth`, token_endpoint: `${ISSUER}/token`, jwks_uri: `${ISSUER}/jwks`, response_types_supported: ['code'], ...extra };
  const fetch = (url: string | URL) => {
    expect(String(url)).toBe(`${ISSUER}/.well-known/openid-configuration`);
    discoveries++;
    return Promise.resolve(new Response(JSON.stringify(doc), { status: 200, headers: { 'content-type': 'application/json' } }));
  };
  const entry = { Name: 'openid-connect', Key: 'broker', Secret: 'shh', DiscoverURL: `${ISSUER}/.well-known/openid-configuration`, Scopes: [] } as unknown as SocialProviderEntry;
  return { handler: new OidcHandler({ entry, profileId: 'p', log: getLogger('oidc-end-session-test'), fetch }), discoveries: () => discoveries };
}

describe('OidcHandler.endSessionUrl', () => {
  it("the discovery document's end_session_endpoint with the parameters and our client_id; discovery fetched once", async () => {
    const { handler, discoveries } = handlerWith({ end_session_endpoint: `${ISSUER}/session/end` });
    const url = await handler.endSessionUrl({ state: 's1', post_logout_redirect_uri: 'https://tib.example.com/auth/p/logout/callback' });
    expect(url?.origin + (url?.pathname ?? '')).toBe(`${ISSUER}/session/end`);
    expect(Object.fromEntries(url?.searchParams ?? [])).toEqual({ state: 's1', post_logout_redirect_uri: 'https://tib.example.com/auth/p/logout/callback', client_id: 'broker' });
    await handler.endSessionUrl({ state: 's2' });
    expect(discoveries()).toBe(1);
  });

  it('no end_session_endpoint in discovery: undefined', async () => {
    await expect(handlerWith({}).handler.endSessionUrl({ state: 's1' })).resolves.toBeUndefined();
    await expect(handlerWith({ end_session_endpoint: '' }).handler.endSessionUrl({ state: 's1' })).resolves.toBeUndefined();
  });
});
