/**
 * A small pool of LDAP connections for one profile. Connections are reused across logins (a TLS handshake
 * per login dominates under load), failed logins included: a user bind on a pooled connection is reverted
 * by re-binding as the service account before the connection goes back ("bind and revert"), so the pool
 * stays bounded and brute force costs no new connections. A connection that drops is never re-established
 * silently: ldapts would reconnect without StartTLS, so every client gets a one-shot connection factory and
 * a broken client is destroyed instead.
 */
import net from 'node:net';
import tls from 'node:tls';
import { Client, ResultCodeError } from 'ldapts';

export interface PoolOptions {
  url: string;
  tlsOptions?: tls.ConnectionOptions;
  startTLS: boolean;
  connectTimeout: number;
  timeout: number;
  max: number;
  /** Run on a used connection before it goes back to the pool (bind and revert); if it fails, the connection is destroyed. */
  revert?: (pc: PooledClient) => Promise<void>;
}

/** What the connection is currently bound as; undefined after a failed bind (anonymous). */
export type BoundAs = string | undefined;

export interface PooledClient {
  client: Client;
  boundAs: BoundAs;
}

export class PoolExhaustedError extends Error {}

export class LdapPool {
  private idle: PooledClient[] = [];
  private size = 0;
  private waiters: Array<(c: PooledClient | Error) => void> = [];
  private closed = false;
  /** Connections opened over the pool's life (for tests and metrics). */
  opened = 0;

  constructor(private readonly opts: PoolOptions) {}

  /**
   * Run `fn` on a pooled connection. A value returned (a refused login is a value, not an error) or an LDAP
   * result error (the directory answered) keeps the connection, reverted; any other error (socket, timeout,
   * TLS) destroys it.
   */
  async use<T>(fn: (c: PooledClient) => Promise<T>): Promise<T> {
    const pc = await this.acquire();
    let out: T;
    try {
      out = await fn(pc);
    } catch (err) {
      if (err instanceof ResultCodeError) await this.giveBack(pc);
      else this.destroy(pc);
      throw err;
    }
    // Awaited, so the connection is idle again before the caller answers: the next login reuses it.
    await this.giveBack(pc);
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = this.idle;
    this.idle = [];
    this.waiters.splice(0).forEach((w) => w(new Error('LDAP pool closed')));
    await Promise.all(all.map((pc) => pc.client.unbind().catch(() => undefined)));
  }

  private async acquire(): Promise<PooledClient> {
    if (this.closed) throw new Error('LDAP pool closed');
    while (this.idle.length > 0) {
      const pc = this.idle.pop() as PooledClient;
      if (pc.client.isConnected) return pc;
      this.destroy(pc);
    }
    if (this.size < this.opts.max) {
      this.size++;
      try {
        return await this.connect();
      } catch (err) {
        this.size--;
        this.wakeOne();
        throw err;
      }
    }
    return new Promise<PooledClient>((resolve, reject) => {
      const waiter = (c: PooledClient | Error) => {
        clearTimeout(timer);
        if (c instanceof Error) reject(c);
        else resolve(c);
      };
      const limit = this.opts.connectTimeout + this.opts.timeout;
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new PoolExhaustedError(`no LDAP connection free within ${limit} ms`));
      }, limit);
      this.waiters.push(waiter);
    });
  }

  private async connect(): Promise<PooledClient> {
    let used = false;
    const once = <A extends unknown[], R>(factory: (...a: A) => R) => (...a: A): R => {
      if (used) throw new Error('LDAP connection lost (not re-established on purpose)');
      used = true;
      return factory(...a);
    };
    // ldapts waits for the StartTLS handshake without a timer: a server that stalls it gets the connect timeout.
    const handshake = (options: tls.ConnectionOptions): tls.TLSSocket => {
      const socket = tls.connect(options);
      const timer = setTimeout(() => socket.destroy(new Error('StartTLS handshake timed out')), this.opts.connectTimeout);
      socket.once('secureConnect', () => clearTimeout(timer)).once('close', () => clearTimeout(timer));
      return socket;
    };
    const client = new Client({
      url: this.opts.url,
      connectTimeout: this.opts.connectTimeout,
      timeout: this.opts.timeout,
      // With tlsOptions ldapts opens TLS straight away, even for ldap://: pass them only for ldaps://.
      tlsOptions: this.opts.startTLS ? undefined : this.opts.tlsOptions,
      strictDN: true,
      createConnection: once(net.connect as (...a: unknown[]) => net.Socket) as typeof net.connect,
      createSecureConnection: this.opts.startTLS ? (handshake as typeof tls.connect) : (once(tls.connect as (...a: unknown[]) => tls.TLSSocket) as typeof tls.connect),
    });
    this.opened++;
    try {
      if (this.opts.startTLS) await client.startTLS(this.opts.tlsOptions);
    } catch (err) {
      await client.unbind().catch(() => undefined);
      throw err;
    }
    return { client, boundAs: undefined };
  }

  /** Bind and revert, then back to the pool; a connection that cannot be reverted is destroyed. */
  private async giveBack(pc: PooledClient): Promise<void> {
    try {
      if (pc.client.isConnected) await this.opts.revert?.(pc);
    } catch {
      return this.destroy(pc);
    }
    this.release(pc);
  }

  private release(pc: PooledClient): void {
    if (this.closed || !pc.client.isConnected) return this.destroy(pc);
    const waiter = this.waiters.shift();
    if (waiter) waiter(pc);
    else this.idle.push(pc);
  }

  private destroy(pc: PooledClient): void {
    this.size--;
    pc.client.unbind().catch(() => undefined);
    this.wakeOne();
  }

  /** A slot freed up: let a waiter open a new connection. */
  private wakeOne(): void {
    const waiter = this.waiters.shift();
    if (!waiter) return;
    this.size++;
    this.connect().then(waiter, (err: unknown) => {
      this.size--;
      waiter(err instanceof Error ? err : new Error(String(err)));
    });
  }
}
