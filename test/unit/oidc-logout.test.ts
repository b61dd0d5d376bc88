/**
 * OpenID Connect RP-initiated logout's parameters (src/providers/social/logout.ts): the id token as
 * id_token_hint, else the sub as logout_hint, else nothing but the client_id the URL builder adds; no
 * end_session_endpoint: undefined (the broker goes on to the Tyk step); the OP's return needs a state.
 */
import { describe, expect, it } from '@jest/globals';
import type { LoginRequest } from '../../src/providers/provider.js';
import { createOidcLogout } from '../../src/providers/social/logout.js';
import type { OidcHandler } from '../../src/providers/social/oidc.js';
import type { LoginSession } from '../../src/state/login-sessions.js';

function logoutWith(endSession: string | undefined) {
  const asked: Record<string, string>[] = [];
  const handler = {
    endSessionUrl: (params: Record<string, string>) => {
      asked.push(params);
      return Promise.resolve(endSession ? new URL(`${endSession}?${new URLSearchParams(params).toString()}`) : undefined);
    },
  } as unknown as OidcHandler;
  return { logout: createOidcLogout({ handler, profileId: 'oidc', base: 'https://tib.example.com/tib' }), asked };
}
const session = (over: Partial<LoginSession> = {}): LoginSession => ({ segment: 'openid-connect', idToken: 'h.p.s', sub: 'alice', profile: 'oidc', userId: 'alice', createdAt: 0, ...over });
const ctx = { state: 'the-state', returnUrl: 'ignored' };
const request = (query: Record<string, unknown>) => ({ query }) as unknown as LoginRequest;

describe('OIDC logout', () => {
  it('id_token_hint from the kept login; post_logout_redirect_uri from CallbackBaseURL; the state', async () => {
    const { logout, asked } = logoutWith('https://idp.example.com/logout');
    expect(logout.baseUrl).toBe('https://tib.example.com/tib');
    expect(await logout.begin(session(), ctx)).toEqual({ kind: 'redirect', url: expect.stringContaining('https://idp.example.com/logout?') });
    expect(asked.at(-1)).toEqual({ post_logout_redirect_uri: 'https://tib.example.com/tib/auth/oidc/logout/callback', state: 'the-state', id_token_hint: 'h.p.s' });
  });

  it('without an id token, the sub as logout_hint; with nothing kept, no hint', async () => {
    const { logout, asked } = logoutWith('https://idp.example.com/logout');
    await logout.begin(session({ idToken: undefined }), ctx);
    expect(asked.at(-1)).toEqual({ post_logout_redirect_uri: 'https://tib.example.com/tib/auth/oidc/logout/callback', state: 'the-state', logout_hint: 'alice' });
    await logout.begin(undefined, ctx);
    expect(asked.at(-1)).toEqual({ post_logout_redirect_uri: 'https://tib.example.com/tib/auth/oidc/logout/callback', state: 'the-state' });
  });

  it('no end_session_endpoint: undefined', async () => {
    expect(await logoutWith(undefined).logout.begin(session(), ctx)).toBeUndefined();
  });

  it("the OP's return: finished with its state; refused without one or with an error", async () => {
    const { logout } = logoutWith('https://idp.example.com/logout');
    expect(await logout.receive(request({ state: 's1' }))).toEqual({ kind: 'finished', state: 's1' });
    expect(await logout.receive(request({}))).toMatchObject({ kind: 'failure', failure: { status: 400, class: 'state_invalid' } });
    expect(await logout.receive(request({ state: ['a', 'b'] }))).toMatchObject({ kind: 'failure' });
    expect(await logout.receive(request({ state: 's1', error: 'access_denied' }))).toMatchObject({ kind: 'failure', failure: { reason: expect.stringContaining('error=access_denied') } });
  });
});
