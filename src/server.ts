/**
 * Serving a broker standalone: the main listener (TIB's port, TLS when HttpServerOptions.UseSSL), the
 * management listener, and a graceful stop: listeners stop accepting at once, requests in flight get up to
 * `drainMs` to finish, then their connections are dropped. broker.ts composes; this file only serves.
 */
import dns from 'node:dns/promises';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { listenUrl } from './config/listen.js';
import { SAMPLE_SECRET_REFUSAL } from './config/sample-secrets.js';
import type { Config } from './config/types.js';
import { BASE_HEADERS } from './http/app.js';
import type { Drain } from './http/drain.js';
import { goJson } from './http/envelope.js';
import type { Logger } from './log.js';

export { DEFAULT_PORT } from './config/listen.js';
/** close(): how long requests in flight (a login waiting on its directory or IdP) may take to finish. */
export const DEFAULT_DRAIN_MS = 10_000;

/** The listeners of one broker, and their stop. */
export class Servers {
  private readonly servers: http.Server[] = [];

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
  ) {}

  /** Serve `app` on `port` (the main listener over TLS when UseSSL), resolved once listening. */
  async serve(app: http.RequestListener, port: number, host: string | undefined, what: 'listening' | 'management (/metrics, /health, /ready, /version)'): Promise<http.Server> {
    const tls = what === 'listening' && this.config.HttpServerOptions.UseSSL;
    const server = hardened(tls ? this.tlsServer(app) : http.createServer(app));
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = server.address() as AddressInfo;
    const everywhere = bound.address === '::' || bound.address === '0.0.0.0' ? ' (all interfaces)' : '';
    this.log.info(`${what} on ${listenUrl(tls, bound.address, bound.port)}${everywhere}`);
    return server;
  }

  /** Stop accepting everywhere, give the requests in flight their time (`drain`), then drop what is left. */
  async close(drainMs: number, drain: Drain): Promise<void> {
    const stopped = Promise.all(this.servers.map((s) => closeServer(s, drainMs)));
    await drain.idle(drainMs);
    // Keep-alive connections whose last answer just went out would otherwise linger until their timeout.
    for (const s of this.servers) s.closeIdleConnections();
    await stopped;
  }

  private tlsServer(app: http.RequestListener): https.Server {
    const o = this.config.HttpServerOptions;
    return https.createServer({ cert: fs.readFileSync(o.CertFile), key: fs.readFileSync(o.KeyFile), minVersion: 'TLSv1.2' }, app);
  }
}

/**
 * The address to bind for tib.conf ListenAddress: undefined (all interfaces) when empty, an IP as it is, a host
 * name resolved here as listen() would (its first address), so that whether it is loopback is known before
 * the first request.
 */
export async function resolveListenAddress(address: string): Promise<string | undefined> {
  if (address === '' || net.isIP(address)) return address || undefined;
  try {
    return (await dns.lookup(address)).address;
  } catch (err) {
    throw new Error(`ListenAddress ${JSON.stringify(address)}: cannot resolve the host name (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
}

/**
 * `next` with the admin API (/api and below) and, when `metrics`, /metrics answered 403 with why and how to
 * make a Secret (src/config/sample-secrets.ts): a sample Secret on a listener beyond loopback. Matched on the
 * decoded, lower-cased path (of an absolute-form target too) with repeated slashes folded, so no spelling
 * Express routes there gets past.
 */
export function refusingAdminApi(next: http.RequestListener, metrics: boolean): http.RequestListener {
  const body = goJson({ Status: 'error', Error: SAMPLE_SECRET_REFUSAL });
  return (req, res) => {
    // An absolute-form target (`GET http://host/api/...`) is routed by Express on its path: take the path alone.
    let path = (req.url ?? '/').replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/, '').split(/[?#]/)[0] as string;
    try {
      path = decodeURIComponent(path);
    } catch {
      // Not decodable: Express would not route it to a decoded name either; matched as it is.
    }
    path = path.toLowerCase().replace(/\/+/g, '/');
    if (/^\/api(\/|$)/.test(path) || (metrics && /^\/metrics\/?$/.test(path))) {
      res.writeHead(403, { ...BASE_HEADERS, 'Cache-Control': 'no-store', 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    next(req, res);
  };
}

/** Resolves when `work` does, or at the limit (calling `onLimit`), whichever comes first. */
export function withinLimit(work: Promise<void>, ms: number, onLimit: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      onLimit();
      resolve();
    }, ms);
    timer.unref();
    work.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

function hardened<S extends http.Server>(server: S): S {
  // TIB sets no server timeouts; slow clients must not hold sockets forever.
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  server.keepAliveTimeout = 5_000;
  return server;
}

/** Stop accepting, let in-flight requests finish for up to `drainMs`, then drop what is left. */
function closeServer(server: http.Server, drainMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), drainMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}
