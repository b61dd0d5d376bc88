/** OAuth 1.0a request signing (RFC 5849, HMAC-SHA1), for twitter: small enough to own, no dependency. */
import { createHmac, randomBytes } from 'node:crypto';

/** RFC 3986 percent-encoding, as OAuth 1.0a requires (stricter than encodeURIComponent). */
export function pct(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export interface OAuth1Credentials {
  consumerKey: string;
  consumerSecret: string;
  token?: string;
  tokenSecret?: string;
}

/** The Authorization header for a request; `params` are the extra oauth_* and body/query parameters. */
export function oauth1Header(method: string, url: string, creds: OAuth1Credentials, params: Record<string, string> = {}, now = Date.now()): string {
  const u = new URL(url);
  const oauth: Record<string, string> = {
    oauth_consumer_key: creds.consumerKey,
    oauth_nonce: randomBytes(16).toString('hex'),
    oauth_signature_method: 'HMAC-SHA1',
    oauth_timestamp: String(Math.floor(now / 1000)),
    oauth_version: '1.0',
    ...(creds.token ? { oauth_token: creds.token } : {}),
  };
  const all: Array<[string, string]> = [...Object.entries(oauth), ...Object.entries(params), ...u.searchParams.entries()];
  const normalized = all
    .map(([k, v]) => [pct(k), pct(v)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const baseUrl = `${u.protocol}//${u.host}${u.pathname}`;
  const base = [method.toUpperCase(), pct(baseUrl), pct(normalized)].join('&');
  const key = `${pct(creds.consumerSecret)}&${pct(creds.tokenSecret ?? '')}`;
  const signature = createHmac('sha1', key).update(base).digest('base64');
  const header = { ...oauth, ...Object.fromEntries(Object.entries(params).filter(([k]) => k.startsWith('oauth_'))), oauth_signature: signature };
  return `OAuth ${Object.entries(header)
    .map(([k, v]) => `${pct(k)}="${pct(v)}"`)
    .join(', ')}`;
}
