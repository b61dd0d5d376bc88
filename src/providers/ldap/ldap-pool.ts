/**
 * A small pool of LDAP connections. Connections are reused across logins (a TLS handshake per login
 * dominates under load), failed logins included, so the pool stays bounded and brute force costs no new
 * connections. A connection remembers what it is bound as (`boundAs`): the provider keeps one pool whose
 * connections stay bound as the service account (searches) and one for user binds, so no login pays a bind
 * back to the service account. A connection that drops is never re-established silently: ldapts would
 * reconnect without StartTLS, so every client gets a one-shot connection factory and a broken client is
 * destroyed instead.
 */
import net from 'node:net';
import tls from 'node:tls';
import { Client, ResultCodeError } from 'ldapts';
import { timeOutbound } from '../../metrics.js';

export interface PoolOptions {
  url: string;
  tlsOptions?: tls.ConnectionOptions;
  startTLS: boolean;
  connectTimeout: number;
  timeout: number;
  max: number;
}

/** What the connection is currently bound as; undefined after a failed bind (anonymous). */
export type BoundAs = string | undefined;

export interface PooledClient {
  client: Client;
  boundAs: BoundAs;
}

export class PoolExhaustedError extends Error {}

/** A login waiting for a connection. It leaves the queue when served, failed or timed out, never later. */
interface Waiter {
  serve(pc: PooledClient): void;
  fail(err: Error): void;
}

/** Slot counts: `size` is always idle + busy + opening, and never above the pool's maximum. */
export interface PoolStats {
  size: number;
  idle: number;
  busy: number;
  opening: number;
  waiting: number;
  /** Connections opened over the pool's life. */
  opened: number;
}

export class LdapPool {
  private idle: PooledClient[] = [];
  /**
   * Clients whose StartTLS socket has closed. ldapts watches only the plain socket under it, so after the
   * directory drops an idle StartTLS connection (OpenLDAP's idletimeout, AD's MaxConnIdleTime) isConnected
   * stays true and the next login's operation waits out the timeout on a dead socket.
   */
  private readonly tlsClosed = new WeakSet<Client>();
  /** Connections that hold a slot: idle, lent out, or still opening. */
  private size = 0;
  private opening = 0;
  private waiters: Waiter[] = [];
  private closed = false;
  /** Connections opened over the pool's life (for tests and metrics). */
  opened = 0;

  constructor(private readonly opts: PoolOptions) {}

  stats(): PoolStats {
    const idle = this.idle.length;
    return { size: this.size, idle, busy: this.size - idle - this.opening, opening: this.opening, waiting: this.waiters.length, opened: this.opened };
  }

  /**
   * Run `fn` on a pooled connection. A value returned (a refused login is a value, not an error) or an LDAP
   * result error (the directory answered) keeps the connection; any other error (socket, timeout, TLS)
   * destroys it.
   */
  async use<T>(fn: (c: PooledClient) => Promise<T>): Promise<T> {
    const pc = await this.acquire();
    let out: T;
    try {
      out = await fn(pc);
    } catch (err) {
      if (err instanceof ResultCodeError) this.release(pc);
      else this.destroy(pc);
      throw err;
    }
    this.release(pc);
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = this.idle;
    this.idle = [];
    this.size -= all.length;
    this.waiters.splice(0).forEach((w) => w.fail(new Error('LDAP pool closed')));
    await Promise.all(all.map((pc) => pc.client.unbind().catch(() => undefined)));
  }

  /**
   * An idle connection, or a place in the queue. A connection is opened for the queue, not for one waiter:
   * whoever is first in line when it is ready gets it, and if nobody is left (they timed out during a
   * directory stall) it goes idle, so a slot is never held by a connection nobody owns.
   */
  private acquire(): Promise<PooledClient> {
    if (this.closed) return Promise.reject(new Error('LDAP pool closed'));
    while (this.idle.length > 0) {
      const pc = this.idle.pop() as PooledClient;
      if (this.isOpen(pc)) return Promise.resolve(pc);
      this.drop(pc);
    }
    return new Promise<PooledClient>((resolve, reject) => {
      const limit = this.opts.connectTimeout + this.opts.timeout;
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new PoolExhaustedError(`no LDAP connection free within ${limit} ms`));
      }, limit);
      const waiter: Waiter = {
        serve: (pc) => {
          clearTimeout(timer);
          resolve(pc);
        },
        fail: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.waiters.push(waiter);
      this.fill();
    });
  }

  /** Open connections while logins wait that no opening connection will serve, up to the maximum. */
  private fill(): void {
    while (!this.closed && this.waiters.length > this.opening && this.size < this.opts.max) {
      this.size++;
      this.opening++;
      this.connect().then(
        (pc) => {
          this.opening--;
          this.release(pc, true);
        },
        (err: unknown) => {
          this.opening--;
          this.size--;
          // The first in line hears why (directory down, TLS refused) instead of waiting out its timer.
          this.waiters.shift()?.fail(err instanceof Error ? err : new Error(String(err)));
          // The slot is free again: the next in line gets its own attempt.
          this.fill();
        },
      );
    }
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
      socket.once('secureConnect', () => clearTimeout(timer)).once('close', () => {
        clearTimeout(timer);
        this.tlsClosed.add(client);
      });
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
      if (this.opts.startTLS) await timeOutbound('ldap', 'starttls', () => client.startTLS(this.opts.tlsOptions));
    } catch (err) {
      await client.unbind().catch(() => undefined);
      throw err;
    }
    return { client, boundAs: undefined };
  }

  /** To the first login in line, else idle; a connection that is not open (any more) is closed. */
  private release(pc: PooledClient, justOpened = false): void {
    // ldapts opens plain and LDAPS sockets on the first operation, so a connection just made for the queue
    // may not be connected yet: fine for a waiter, pointless to keep idle.
    const usable = this.isOpen(pc) || (justOpened && this.waiters.length > 0);
    if (this.closed || !usable) return this.destroy(pc);
    const waiter = this.waiters.shift();
    if (waiter) waiter.serve(pc);
    else this.idle.push(pc);
  }

  private isOpen(pc: PooledClient): boolean {
    return pc.client.isConnected && !this.tlsClosed.has(pc.client);
  }

  /** Close a connection and free its slot for the queue. */
  private destroy(pc: PooledClient): void {
    this.drop(pc);
    this.fill();
  }

  private drop(pc: PooledClient): void {
    this.size--;
    pc.client.unbind().catch(() => undefined);
  }
}
