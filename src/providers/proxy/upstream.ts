/**
 * The ProxyProvider's one call to its upstream login service: the incoming method, an allow-list of headers,
 * the body (bounded), to TargetHost's path with TargetHost's query then the incoming one (as TIB's Go reverse
 * proxy joins them). The answer is read up to a size bound within one timeout; redirects are not followed.
 *
 * Unlike TIB, which forwards every header (the broker's own cookies and any X-Forwarded-* a client made up
 * among them), only these reach the upstream: Authorization, Content-Type, Accept, Accept-Language,
 * User-Agent, and an X-Forwarded-For the broker writes itself with the client address it trusts.
 */
import type { IncomingMessage } from 'node:http';
import { Agent, FormData, fetch } from 'undici';
import { timeOutbound } from '../../metrics.js';
import type { LoginRequest } from '../provider.js';

export const FORWARDED_HEADERS = ['authorization', 'content-type', 'accept', 'accept-language', 'user-agent'] as const;
/** Methods passed on; fetch cannot send CONNECT or TRACE, and nothing else is a login. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** As the http layer's limit on login forms. */
export const REQUEST_BODY_LIMIT = 64 * 1024;

export interface UpstreamAnswer {
  status: number;
  body: Buffer;
}

/** The request cannot be passed on as sent (the client's fault): a 4xx, no upstream call. */
export class RequestRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The upstream gave no usable answer. */
export class UpstreamError extends Error {
  constructor(
    readonly kind: 'timeout' | 'network' | 'too-large',
    message: string,
  ) {
    super(message);
  }
}

export interface UpstreamOptions {
  target: string;
  timeoutMs: number;
  maxResponseBytes: number;
}

/** TargetHost's query, then `&`, then the incoming query (Go's httputil.NewSingleHostReverseProxy). */
export function upstreamUrl(target: string, incomingUrl: string): string {
  const u = new URL(target);
  const q = incomingUrl.indexOf('?');
  const incoming = q < 0 ? '' : incomingUrl.slice(q + 1);
  const own = u.search.slice(1);
  u.search = own === '' || incoming === '' ? own + incoming : `${own}&${incoming}`;
  u.hash = '';
  return u.toString();
}

/** The raw body, read up to the limit; anything longer is refused without a broken connection. */
function readRaw(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > REQUEST_BODY_LIMIT) return Promise.reject(new RequestRefused(413, `request body of ${declared} bytes is over the ${REQUEST_BODY_LIMIT}-byte limit`));
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= REQUEST_BODY_LIMIT) return void chunks.push(chunk);
      stop();
      req.resume(); // drain the rest unread, so the answer still reaches the client
      reject(new RequestRefused(413, `request body is over the ${REQUEST_BODY_LIMIT}-byte limit`));
    };
    const onEnd = () => {
      stop();
      resolve(Buffer.concat(chunks));
    };
    const onError = (err: Error) => {
      stop();
      reject(new RequestRefused(400, `request body could not be read: ${err.message}`));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** Form fields the http layer already parsed, encoded again; any other body as the client sent it. */
async function requestBody(req: LoginRequest): Promise<{ body?: Buffer | string | FormData; keepContentType: boolean }> {
  if (req.method === 'GET' || req.method === 'HEAD') return { keepContentType: false };
  const parsed = typeof req.body === 'object' && req.body !== null ? (req.body as Record<string, string | string[]>) : undefined;
  if (parsed && req.is('application/x-www-form-urlencoded')) {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(parsed)) for (const one of [v].flat()) form.append(k, one);
    return { body: form.toString(), keepContentType: true };
  }
  if (parsed && req.is('multipart/form-data')) {
    const form = new FormData();
    for (const [k, v] of Object.entries(parsed)) for (const one of [v].flat()) form.append(k, one);
    // A new boundary: fetch writes the Content-Type that goes with it.
    return { body: form, keepContentType: false };
  }
  const raw = await readRaw(req.raw.req);
  return { body: raw.length > 0 ? raw : undefined, keepContentType: raw.length > 0 };
}

async function readBounded(body: ReadableStream<Uint8Array> | null, max: number): Promise<Buffer> {
  if (!body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks);
    size += value.length;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw new UpstreamError('too-large', `upstream answer is over the ${max}-byte limit (UpstreamMaxResponseBytes)`);
    }
    chunks.push(value);
  }
}

export interface Upstream {
  /** One exchange for this login request; `clientIp` becomes X-Forwarded-For. */
  send(req: LoginRequest, clientIp: string): Promise<UpstreamAnswer>;
  close(): Promise<void>;
}

export function createUpstream(o: UpstreamOptions): Upstream {
  // Certificates always verified, as TIB's http.DefaultTransport does; one keep-alive pool per profile.
  const agent = new Agent({ connect: { rejectUnauthorized: true, minVersion: 'TLSv1.2' } });
  const send = async (req: LoginRequest, clientIp: string): Promise<UpstreamAnswer> => {
    if (!METHODS.has(req.method)) throw new RequestRefused(405, `method ${req.method} is not passed on to the upstream`);
    const { body, keepContentType } = await requestBody(req);
    const headers: Record<string, string> = { 'x-forwarded-for': clientIp };
    for (const name of FORWARDED_HEADERS) {
      const v = req.header(name);
      if (v !== undefined && (name !== 'content-type' || keepContentType)) headers[name] = v;
    }
    const signal = AbortSignal.timeout(o.timeoutMs);
    try {
      // Any answer is a completed call (the gates judge it); a timeout, an unreachable host or an oversized answer is an outbound error.
      return await timeOutbound('upstream', 'login', async () => {
        const res = await fetch(upstreamUrl(o.target, req.url), { method: req.method, headers, body, redirect: 'manual', signal, dispatcher: agent });
        const declared = Number(res.headers.get('content-length') ?? 0);
        if (declared > o.maxResponseBytes) {
          await res.body?.cancel().catch(() => undefined);
          throw new UpstreamError('too-large', `upstream answer of ${declared} bytes is over the ${o.maxResponseBytes}-byte limit (UpstreamMaxResponseBytes)`);
        }
        return { status: res.status, body: await readBounded(res.body as ReadableStream<Uint8Array> | null, o.maxResponseBytes) };
      });
    } catch (err) {
      if (err instanceof UpstreamError) throw err;
      if (signal.aborted) throw new UpstreamError('timeout', `upstream did not answer within ${o.timeoutMs} ms (UpstreamTimeout)`);
      const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
      throw new UpstreamError('network', `upstream unreachable: ${cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err))}`);
    }
  };
  return { send, close: () => agent.close() };
}
