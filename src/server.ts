/**
 * Serving a broker standalone: the main listener (TIB's port, TLS when HttpServerOptions.UseSSL), the
 * management listener, and a graceful stop: listeners stop accepting at once, requests in flight get up to
 * `drainMs` to finish, then their connections are dropped. broker.ts composes; this file only serves.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Config } from './config/types.js';
import type { Drain } from './http/drain.js';
import type { Logger } from './log.js';

export const DEFAULT_PORT = 3010;
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
  async serve(app: http.RequestListener, port: number, host: string | undefined, what: 'listening' | 'management (/metrics, /health, /ready)'): Promise<http.Server> {
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
    const actual = (server.address() as AddressInfo).port;
    this.log.info(`${what} on ${tls ? 'https' : 'http'}://${host ?? '0.0.0.0'}:${actual}`);
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
