/**
 * The OIDC baseline: the same code flow done with openid-client alone on node:http. GET /start answers a 302
 * to the OP with state, nonce and PKCE (kept in memory under a cookie); GET /callback redeems the code,
 * checks the id_token, reads userinfo, asks /api/sso for a nonce and answers a bare 302.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { announce, answer, CLIENT_ID, CLIENT_SECRET, listen, ssoBody, wiring } from '../common.js';
import { ssoNonce } from './sso-node-http.js';

const w = wiring();
const port = Number(new URL(w.callbackUrl ?? '').port);
const config = await oidc.discovery(new URL(w.discoveryUrl ?? ''), CLIENT_ID, { client_secret: CLIENT_SECRET }, oidc.ClientSecretBasic(CLIENT_SECRET), { execute: [oidc.allowInsecureRequests] });
/** Logins in flight, bounded: the oldest goes first. */
const flows = new Map<string, { state: string; nonce: string; verifier: string }>();
const MAX_FLOWS = 10_000;

async function start(res: http.ServerResponse): Promise<void> {
  const flow = { state: oidc.randomState(), nonce: oidc.randomNonce(), verifier: oidc.randomPKCECodeVerifier() };
  const id = randomBytes(16).toString('base64url');
  flows.set(id, flow);
  if (flows.size > MAX_FLOWS) flows.delete(flows.keys().next().value as string);
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: w.callbackUrl ?? '',
    scope: 'openid email profile',
    state: flow.state,
    nonce: flow.nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(flow.verifier),
    code_challenge_method: 'S256',
  });
  res.writeHead(302, { Location: url.href, 'Set-Cookie': `flow=${id}; Path=/; HttpOnly; SameSite=Lax`, 'Cache-Control': 'no-store' });
  res.end();
}

async function callback(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const id = /(?:^|;\s*)flow=([^;]+)/.exec(req.headers.cookie ?? '')?.[1] ?? '';
  const flow = flows.get(id);
  flows.delete(id);
  if (!flow) return answer(res, undefined, 400);
  const tokens = await oidc.authorizationCodeGrant(config, new URL(req.url ?? '', w.callbackUrl), { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true });
  const info = await oidc.fetchUserInfo(config, tokens.access_token, tokens.claims()?.sub ?? '');
  const nonce = await ssoNonce(w.tykUrl, ssoBody(String(info.email), String(info.name ?? '')));
  answer(res, nonce ? `${w.returnUrl}?nonce=${encodeURIComponent(nonce)}` : undefined, 502);
}

const server = http.createServer((req, res) => {
  const path = (req.url ?? '').split('?')[0];
  const work = path === '/start' ? start(res) : path === '/callback' ? callback(req, res) : Promise.resolve(answer(res, undefined, 404));
  work.catch(() => answer(res, undefined, 500));
});
await listen(server, port);
announce(server);
