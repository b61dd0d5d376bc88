/**
 * A thin client of the three Okta Management API reads a sync needs (GET /api/v1/users, /api/v1/groups,
 * /api/v1/groups/{id}/users), on undici as the broker's other outbound clients (src/tyk/client.ts): a time limit
 * per call, TLS verified unless SSLInsecureSkipVerify, HTTP(S)_PROXY/NO_PROXY honoured, no redirects followed.
 * Why not @okta/okta-sdk-nodejs: docs/directory-sync.md#why-a-client-of-our-own. Paging follows `Link` rel="next"
 * (src/sync/okta/paging.ts) on the org's own origin only, so the bearer token never leaves the org; rate limits
 * are waited out (429 until X-Rate-Limit-Reset; a low X-Rate-Limit-Remaining before the next call), 5xx and
 * timeouts retried with backoff; an app that requires DPoP gets DPoP proofs. Errors name Okta's errorCode and
 * errorSummary, never a token.
 */
import { request, type Dispatcher } from 'undici';
import { setOwnedSecrets } from '../../log.js';
import { observeOutbound, secondsSince } from '../../metrics.js';
import { dispatcher, isTimeout } from '../../tyk/client.js';
import { nextLink, oktaErrorText, rateWait, readRateLimit, type RateLimit } from './paging.js';
import { clientAssertion, dpopProof, newDpopKey, tokenErrorText, tokenRequestBody, tokenUsableUntil, type DpopKey, type OktaKey } from './token.js';

export interface OktaClientOptions {
  orgUrl: string;
  clientId: string;
  key: OktaKey;
  /** Owner name for the log masking of the key, the assertion and the token (src/log.ts setOwnedSecrets). */
  secretOwner: string;
  insecureSkipVerify: boolean;
  timeoutMs: number;
}

/** An answer Okta refused, or a call that failed; the message is fit for the run's reason. */
export class OktaError extends Error {}

const RETRIES_5XX = 3;
const RETRIES_429 = 3;
/** At most this many pages per listing: a runaway cursor fails the run instead of looping. */
const MAX_PAGES = 10_000;

/** A wait that ends early (rejecting) when the run is aborted. */
function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new OktaError('the run was stopped'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new OktaError('the run was stopped'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

const header = (res: Answer, name: string): string | undefined => {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

export class OktaClient {
  private readonly origin: string;
  private readonly tokenUrl: string;
  private readonly agent: Dispatcher;
  private token?: { value: string; until: number; type: 'Bearer' | 'DPoP' };
  /** Set once the app has asked for DPoP (its token endpoint answered invalid_dpop_proof without a proof). */
  private dpop?: DpopKey;
  private assertion = '';
  /** The last rate-limit headers seen: a low Remaining makes the next call wait for Reset. */
  private rate: RateLimit = {};

  constructor(private readonly o: OktaClientOptions) {
    this.origin = new URL(o.orgUrl).origin;
    this.tokenUrl = `${o.orgUrl.replace(/\/+$/, '')}/oauth2/v1/token`;
    // The Tyk client's transport (src/tyk/client.ts): TLS 1.2+, the env proxy only when one is set, loopback never proxied.
    this.agent = dispatcher(!o.insecureSkipVerify, o.timeoutMs, process.env, 4);
    this.mask();
  }

  /** Masks the key file, the current assertion and token in every log line (src/log.ts). */
  private mask(): void {
    setOwnedSecrets(this.o.secretOwner, [this.o.key.text, this.assertion, this.token?.value]);
  }

  private async send(method: 'GET' | 'POST', url: string, headers: Record<string, string>, body: string | undefined, signal?: AbortSignal): Promise<Answer> {
    const started = process.hrtime.bigint();
    const operation = method === 'POST' ? 'okta-token' : 'okta-api';
    try {
      const res = await request(url, {
        method,
        headers: { accept: 'application/json', 'user-agent': 'identity-broker', ...headers },
        body,
        dispatcher: this.agent,
        maxRedirections: 0,
        signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(this.o.timeoutMs)]) : AbortSignal.timeout(this.o.timeoutMs),
      });
      const text = await res.body.text();
      let parsed: unknown;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      observeOutbound('idp', operation, secondsSince(started), res.statusCode < 500);
      return { status: res.statusCode, headers: res.headers, body: parsed };
    } catch (err) {
      observeOutbound('idp', operation, secondsSince(started), false);
      if (signal?.aborted) throw new OktaError('the run was stopped');
      const code = (err as { code?: unknown } | null)?.code;
      throw new OktaError(`${method} ${new URL(url).pathname}: ${isTimeout(err) ? `no answer within ${this.o.timeoutMs} ms` : typeof code === 'string' ? code : 'the call failed'}`);
    }
  }

  /**
   * A token kept from an earlier call, or a new one (client credentials, private_key_jwt). An app that requires
   * DPoP answers `invalid_dpop_proof` to a request without a proof, then `use_dpop_nonce` with the nonce to put
   * in the next proof: each is followed once, with a new assertion (Okta refuses a reused jti).
   */
  private async accessToken(signal?: AbortSignal): Promise<{ value: string; type: 'Bearer' | 'DPoP' }> {
    if (this.token && Date.now() < this.token.until) return this.token;
    let busy = 0;
    for (let attempt = 0; ; attempt++) {
      this.assertion = await clientAssertion(this.o.clientId, this.tokenUrl, this.o.key);
      this.mask();
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
      if (this.dpop) headers.dpop = await dpopProof(this.dpop, 'POST', this.tokenUrl, { nonce: this.dpop.nonce });
      const res = await this.send('POST', this.tokenUrl, headers, tokenRequestBody(this.assertion), signal);
      const b = (typeof res.body === 'object' && res.body !== null ? res.body : {}) as { access_token?: unknown; token_type?: unknown; expires_in?: unknown; error?: unknown };
      const nonce = header(res, 'dpop-nonce');
      if (this.dpop && nonce) this.dpop.nonce = nonce;
      if (res.status === 400 && attempt < 2) {
        if (b.error === 'invalid_dpop_proof' && !this.dpop) {
          this.dpop = await newDpopKey();
          continue;
        }
        if (b.error === 'use_dpop_nonce' && this.dpop && nonce) continue;
      }
      // The token endpoint has its own rate limit and can fail like the API: waited out, a couple of times.
      if ((res.status === 429 || res.status >= 500) && ++busy <= 2) {
        await abortableSleep(res.status === 429 ? rateWait(readRateLimit(res.headers), Date.now(), true) : 500 * 2 ** busy, signal);
        continue;
      }
      if (res.status !== 200 || typeof b.access_token !== 'string') throw new OktaError(tokenErrorText(res.status, res.body));
      const type = typeof b.token_type === 'string' && b.token_type.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer';
      if (type === 'DPoP' && !this.dpop) throw new OktaError("Okta's token endpoint answered a DPoP token to a request without a DPoP proof");
      this.token = { value: b.access_token, until: tokenUsableUntil(Date.now(), b.expires_in), type };
      this.mask();
      return this.token;
    }
  }

  /** One GET with the token: waits out rate limits, retries 5xx/timeouts, renews a token Okta no longer takes. */
  private async get(url: string, signal?: AbortSignal): Promise<Answer> {
    let throttled = 0;
    let failed = 0;
    let renewed = false;
    let nonced = false;
    for (;;) {
      const pause = rateWait(this.rate, Date.now(), false);
      if (pause > 0) await abortableSleep(pause, signal);
      const token = await this.accessToken(signal);
      const headers: Record<string, string> = { authorization: `${token.type} ${token.value}` };
      if (token.type === 'DPoP' && this.dpop) headers.dpop = await dpopProof(this.dpop, 'GET', url, { accessToken: token.value, nonce: this.dpop.apiNonce });
      let res: Answer;
      try {
        res = await this.send('GET', url, headers, undefined, signal);
      } catch (err) {
        if (signal?.aborted || ++failed > RETRIES_5XX) throw err;
        await abortableSleep(500 * 2 ** failed, signal);
        continue;
      }
      this.rate = readRateLimit(res.headers);
      if (res.status === 200) return res;
      const what = `GET ${new URL(url).pathname}: HTTP ${res.status}${oktaErrorText(res.body) ? ` ${oktaErrorText(res.body)}` : ''}`;
      if (res.status === 429 && ++throttled <= RETRIES_429) {
        await abortableSleep(rateWait(this.rate, Date.now(), true), signal);
        continue;
      }
      const apiNonce = header(res, 'dpop-nonce');
      if (res.status === 401 && this.dpop && apiNonce && !nonced) {
        // The API wants its own DPoP nonce in the proof (RFC 9449 §9).
        nonced = true;
        this.dpop.apiNonce = apiNonce;
        continue;
      }
      if (res.status === 401 && !renewed) {
        // Revoked or expired early: one new token, then the call again.
        renewed = true;
        this.token = undefined;
        continue;
      }
      if (res.status >= 500 && ++failed <= RETRIES_5XX) {
        await abortableSleep(500 * 2 ** failed, signal);
        continue;
      }
      throw new OktaError(what);
    }
  }

  /** Every element of a listing, page after page by `Link` rel="next" on the org's own origin. */
  async list<T>(path: string, query: Record<string, string>, signal?: AbortSignal): Promise<T[]> {
    // Percent-encoded as Okta asks (`%20`, never the form encoding's `+`, which its search would read as is).
    const qs = Object.entries(query)
      .filter(([, v]) => v !== '')
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
      .join('&');
    const first = new URL(`${path}${qs ? `?${qs}` : ''}`, this.origin);
    const items: T[] = [];
    let url: string | undefined = first.toString();
    for (let pages = 0; url !== undefined; pages++) {
      if (pages >= MAX_PAGES) throw new OktaError(`GET ${path}: more than ${MAX_PAGES} pages; stopped`);
      const res = await this.get(url, signal);
      if (!Array.isArray(res.body)) throw new OktaError(`GET ${path}: the answer is not a JSON array`);
      items.push(...(res.body as T[]));
      const next = nextLink(res.headers.link, url);
      if (next !== undefined && new URL(next).origin !== this.origin) {
        throw new OktaError(`GET ${path}: Okta's next page link points to ${new URL(next).origin}, not the org (${this.origin}); refused, the access token is sent to the org only`);
      }
      url = next;
    }
    return items;
  }

  async close(): Promise<void> {
    setOwnedSecrets(this.o.secretOwner, []);
    await this.agent.close();
  }
}
