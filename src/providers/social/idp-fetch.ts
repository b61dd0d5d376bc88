/**
 * The HTTP client of one SocialProvider profile for every call to its identity providers: OpenID discovery,
 * token, userinfo, JWKS and the social presets. One keep-alive pool per profile, built at setup. TLS is
 * verified against the system roots, or only against the profile's CAFile when it has one (as LDAPCAFile);
 * the top-level SSLInsecureSkipVerify turns verification off, as TIB's does for http.DefaultClient.
 */
import fs from 'node:fs';
import { Agent, fetch as undiciFetch } from 'undici';
import { secondsSince, observeOutbound } from '../../metrics.js';
import { ProviderSetupError } from '../provider.js';

/** fetch, as the handlers and openid-client's customFetch use it. */
export type IdpFetch = (url: string | URL, init?: RequestInit) => Promise<Response>;

export interface IdpTransport {
  fetch: IdpFetch;
  close(): Promise<void>;
}

export interface IdpTransportOptions {
  /** PEM CA bundle to trust instead of the system roots. */
  ca?: Buffer;
  insecureSkipVerify: boolean;
}

/** The profile's CAFile, read at load time: a missing file or one without a certificate is a setup error. */
export function readCaFile(file: string, profileId: string): Buffer {
  const where = `SocialProvider profile "${profileId}": ProviderConfig.CAFile ${file}`;
  let pem: Buffer;
  try {
    pem = fs.readFileSync(file);
  } catch (err) {
    throw new ProviderSetupError(`${where} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new ProviderSetupError(`${where} holds no PEM certificate`);
  return pem;
}

/**
 * fetch rejects with a bare "fetch failed"; the reason an operator needs (a certificate the profile does not
 * trust, a refused connection) is in its cause. Kept a TypeError, which openid-client passes through as is.
 */
function withCause(err: unknown): unknown {
  const cause = err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (!(err instanceof TypeError) || !cause || typeof cause.message !== 'string') return err;
  const code = typeof cause.code === 'string' && !cause.message.includes(cause.code) ? `${cause.code} ` : '';
  return new TypeError(`${err.message}: ${code}${cause.message}`, { cause: err.cause });
}

/** A metric label for an IdP call, from its URL's shape (never the URL itself: paths vary per IdP). */
export function idpOperation(url: string | URL): string {
  let path: string;
  try {
    path = new URL(String(url)).pathname.toLowerCase();
  } catch {
    return 'other';
  }
  if (path.includes('/.well-known/')) return 'discovery';
  if (/(^|\/)(jwks|keys|certs)(\.json)?\/?$/.test(path)) return 'jwks';
  if (/token\/?$/.test(path)) return 'token';
  if (/(userinfo|\/user|\/me|\/emails)\/?$/.test(path)) return 'userinfo';
  return 'other';
}

export function createIdpTransport(o: IdpTransportOptions): IdpTransport {
  const agent = new Agent({ connect: { ca: o.ca, rejectUnauthorized: !o.insecureSkipVerify, minVersion: 'TLSv1.2' } });
  return {
    // undici's own fetch with its own Agent, so the pair matches whatever undici the Node runtime bundles.
    // Its Request/Response types are undici's; at runtime they are the same WHATWG shapes.
    fetch: async (url, init) => {
      const started = process.hrtime.bigint();
      try {
        const res = (await undiciFetch(url, { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher: agent })) as unknown as Response;
        // Headers are in; a 5xx is the IdP failing, a 4xx an answer (e.g. invalid_grant) the login handles.
        observeOutbound('idp', idpOperation(url), secondsSince(started), res.status < 500);
        return res;
      } catch (err) {
        observeOutbound('idp', idpOperation(url), secondsSince(started), false);
        throw withCause(err);
      }
    },
    close: () => agent.close(),
  };
}
