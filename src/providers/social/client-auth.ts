/**
 * How the broker authenticates as an OAuth client at a token endpoint, as TIB's Go client (golang.org/x/oauth2)
 * does it. RFC 6749 2.3.1 says to form-encode the id and secret before Base64, but many token endpoints compare
 * the Basic credentials without decoding them; Go escapes with url.QueryEscape, which leaves `-_.~` alone, so
 * ids like `broker-client` reach those endpoints unchanged (openid-client would send `broker%2Dclient`). And
 * Go's AuthStyleAutoDetect tries the Authorization header first and, when the endpoint refuses it, the body.
 */
import * as client from 'openid-client';

/** Go's url.QueryEscape: [A-Za-z0-9-_.~] kept, space as '+', every other UTF-8 byte as %XX (upper case). */
export function goQueryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (b === 0x20) out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The Authorization header value for client_secret_basic, escaped as Go's oauth2 does. */
export function basicAuthorization(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${goQueryEscape(clientId)}:${goQueryEscape(secret)}`).toString('base64')}`;
}

export type AuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

/**
 * The methods to try, in order. A secret-less client sends none. When discovery lists exactly one of basic
 * and post, that one; otherwise (both, neither, or no list) Go's auto-detect: basic, then post.
 */
export function authPlan(secret: string, supported: readonly string[] | undefined): AuthMethod[] {
  if (!secret) return ['none'];
  const basic = supported?.includes('client_secret_basic') ?? false;
  const post = supported?.includes('client_secret_post') ?? false;
  if (basic !== post) return [basic ? 'client_secret_basic' : 'client_secret_post'];
  return ['client_secret_basic', 'client_secret_post'];
}

/** The openid-client ClientAuth for a method; basic escapes like Go instead of openid-client's form encoding. */
export function clientAuthFor(method: AuthMethod, secret: string): client.ClientAuth {
  switch (method) {
    case 'none':
      return client.None();
    case 'client_secret_post':
      return client.ClientSecretPost(secret);
    case 'client_secret_basic':
      return (_as, c, _body, headers) => {
        headers.set('authorization', basicAuthorization(c.client_id, secret));
      };
  }
}

/** The token endpoint's answer behind an error openid-client raised because the answer was not a conforming one. */
function nonConformingAnswer(err: unknown): Response | undefined {
  if (!(err instanceof client.ClientError) || (err.code !== 'OAUTH_RESPONSE_IS_NOT_CONFORM' && err.code !== 'OAUTH_RESPONSE_IS_NOT_JSON')) return undefined;
  const res = err.cause as Partial<Response> | undefined; // undici's Response, maybe not this realm's class
  return typeof res?.status === 'number' && typeof res.clone === 'function' ? (res as Response) : undefined;
}

/**
 * Did the token endpoint refuse the client's authentication? RFC 6749 5.2: `invalid_client`, with 400, or
 * 401 (then usually with a WWW-Authenticate challenge, which openid-client reports before reading the body).
 * Real servers also answer 401 with a plain-text body and no challenge, or send the JSON error as text/html;
 * Go's auto-detect retries on any error, so these count too (a 400 only when its body says invalid_client).
 */
export async function isInvalidClient(err: unknown): Promise<boolean> {
  if (err instanceof client.ResponseBodyError) return (err.status === 400 || err.status === 401) && err.error === 'invalid_client';
  if (err instanceof client.WWWAuthenticateChallengeError) return err.status === 401;
  const res = nonConformingAnswer(err);
  if (res?.status === 401) return true;
  if (res?.status !== 400) return false;
  try {
    const body = JSON.parse((await res.clone().text()).slice(0, 4096)) as { error?: unknown };
    return body.error === 'invalid_client';
  } catch {
    return false;
  }
}

/**
 * Did the endpoint get past the client's authentication? `invalid_grant` is about the code, which is looked at
 * only once the client is authenticated: an endpoint that spent the code on a refused first attempt answers
 * the retry so, and the method of that retry is the one to use from then on.
 */
export function clientAuthAccepted(err: unknown): boolean {
  return err instanceof client.ResponseBodyError && err.error === 'invalid_grant';
}
