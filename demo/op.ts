/**
 * The demo's OpenID Provider: oidc-provider (a certified OP library) with the demo users, standing in for the
 * organisation's IdP (Okta, Entra ID, Keycloak, Dex...). Its sign-in page lists the users instead of asking
 * for a password, and the broker, its only client, is trusted without a consent page.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import Provider, { interactionPolicy, type Interaction, type JWK } from 'oidc-provider';
import { esc, page, sendPage } from './html.js';
import { DEMO_USERS, userClaims, type DemoDirectory } from './users.js';

export interface DemoOpOptions {
  issuer: string;
  client: { id: string; secret: string; redirectUris: string[] };
  /** The landing page, linked from the OP's pages. */
  landing: string;
  /** Each user's groups now (the landing page changes them); the OP reads them at every sign-in. */
  directory: DemoDirectory;
}

/**
 * oidc-provider's policy, plus: every authorization request shows the user list, even with a session at the
 * OP, so that the next sign-in can be someone else (a real IdP would sign the same person in silently).
 */
function pickUserEveryTime(): interactionPolicy.DefaultPolicy {
  const { base, Check } = interactionPolicy;
  const policy = base();
  policy.get('login')?.checks.add(new Check('demo_pick_user', 'the demo asks which user signs in, every time', (ctx) => (ctx.oidc.result?.login ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT)));
  return policy;
}

function signingKey(): JWK {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...(privateKey.export({ format: 'jwk' }) as JWK), kid: `demo-${randomBytes(4).toString('hex')}`, alg: 'RS256', use: 'sig' };
}

export function createDemoOp(o: DemoOpOptions): { provider: Provider; app: express.Express } {
  const provider = new Provider(o.issuer, {
    clients: [
      {
        client_id: o.client.id,
        client_secret: o.client.secret,
        redirect_uris: o.client.redirectUris,
        response_types: ['code'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [signingKey()] },
    findAccount: (_ctx, id) => {
      const user = DEMO_USERS.find((u) => u.id === id);
      return user ? { accountId: id, claims: () => userClaims(user, o.directory.groupsOf(user.id)) } : undefined;
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'given_name', 'family_name'], groups: ['groups'] },
    scopes: ['openid', 'email', 'profile', 'groups'],
    // The claims in the id_token too, as many IdPs send them (the broker reads both).
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    interactions: { policy: pickUserEveryTime() },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    ttl: { AccessToken: 600, AuthorizationCode: 60, Grant: 3600, IdToken: 600, Interaction: 600, Session: 3600 },
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page('Demo OpenID Provider: error', `<h1>Sign-in error at the demo OpenID Provider</h1>
<p><code>${esc(out.error)}</code>: ${esc(out.error_description ?? '')}</p><p><a href="${esc(o.landing)}">Back to the demo</a></p>`);
    },
  });

  const app = express();
  app.disable('x-powered-by');
  app.get('/interaction/:uid', async (req, res, next) => {
    try {
      const interaction = await provider.interactionDetails(req, res);
      if (interaction.prompt.name === 'consent') return await grantConsent(provider, interaction, req, res);
      sendPage(res, 200, signInPage(String(req.params.uid), o));
    } catch (err) {
      next(err);
    }
  });
  app.post('/interaction/:uid/login', express.urlencoded({ extended: false, limit: '4kb' }), async (req: Request, res: Response, next: NextFunction) => {
    try {
      await provider.interactionDetails(req, res);
      const user = DEMO_USERS.find((u) => u.id === (req.body as Record<string, unknown> | undefined)?.user);
      if (!user) return sendPage(res, 400, signInPage(String(req.params.uid), o, 'Choose one of the listed users.'));
      await provider.interactionFinished(req, res, { login: { accountId: user.id } }, { mergeWithLastSubmission: false });
    } catch (err) {
      next(err);
    }
  });
  app.get('/interaction/:uid/abort', async (req, res, next) => {
    try {
      await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'The user cancelled the sign-in.' }, { mergeWithLastSubmission: false });
    } catch (err) {
      next(err);
    }
  });
  app.use(provider.callback());
  // An expired or unknown interaction (oidc-provider throws SessionNotFound): start again.
  app.use((_err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    sendPage(res, 400, page('Demo OpenID Provider', `<h1>This sign-in has expired</h1><p><a href="${esc(o.landing)}">Start again from the demo's landing page</a>.</p>`));
  });
  return { provider, app };
}

/** The broker is the demo OP's only client: grant what it asked for, as a first-party IdP does. */
async function grantConsent(provider: Provider, interaction: Interaction, req: Request, res: Response): Promise<void> {
  const details = interaction.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
  const grant = interaction.grantId
    ? await provider.Grant.find(interaction.grantId)
    : new provider.Grant({ accountId: interaction.session?.accountId, clientId: String(interaction.params.client_id) });
  if (!grant) throw new Error('grant not found');
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

function signInPage(uid: string, o: Pick<DemoOpOptions, 'landing' | 'directory'>, problem?: string): string {
  const { landing } = o;
  const action = `/interaction/${encodeURIComponent(uid)}/login`;
  const users = DEMO_USERS.map((u) => {
    const groups = o.directory.groupsOf(u.id);
    return `<tr><td><button type="submit" name="user" value="${esc(u.id)}">Sign in as ${esc(u.name)}</button></td>
<td>${esc(u.email)}</td><td>${groups.length ? groups.map((g) => `<code>${esc(g)}</code>`).join(' ') : '<em>none</em>'}</td><td>${esc(u.note)}</td></tr>`;
  });
  return page(
    'Demo OpenID Provider: sign in',
    `<p class="standin"><strong>Demo OpenID Provider</strong>: a stand-in for your organisation's identity provider
(Okta, Entra ID, Keycloak, Dex...), running inside <code>npm run demo</code>. It has no passwords: pick a user.</p>
<h1>Sign in</h1>
${problem ? `<p class="bad">${esc(problem)}</p>` : ''}
<form method="post" action="${esc(action)}">
<table><tr><th>User</th><th>Email</th><th><code>groups</code> claim</th><th>Shows</th></tr>
${users.join('\n')}</table>
</form>
<p><a href="/interaction/${esc(encodeURIComponent(uid))}/abort">Cancel</a> (the broker then shows its failure path: the profile's FailureRedirect) ·
<a href="${esc(landing)}">Back to the demo</a></p>`,
  );
}
