/**
 * The broker's one Redis client (ioredis), built from `BackEnd.IdentityBackendSettings`, shared by the flow
 * state, the identity cache, the lockout counters and the profile store. Built only when the configuration
 * asks for Redis (`BackEnd.Name: "redis"` or `Storage.storage_type: "redis"`).
 *
 * `planRedis` is the pure part (settings → what to connect to and with which options), following TIB's
 * storage library: addresses from Addrs, else Hosts, else Host:Port when Port is set, else localhost:6379;
 * Sentinel when MasterName is set (it wins over EnableCluster), else Cluster when EnableCluster, else one node.
 *
 * Fail fast: commands are never queued while Redis is unreachable (enableOfflineQueue false), so a login that
 * needs Redis fails at once with its failure response instead of hanging; a command that got no answer fails
 * after Timeout. The client reconnects by itself with a capped backoff. Connection problems are logged once
 * per change of state, with host:port, never with a password.
 *
 * MaxActive: TIB's go-redis keeps a pool of up to MaxActive connections per node. ioredis pipelines every
 * command over one connection per node instead, so there is no pool to size; MaxActive is accepted and unused.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type { Config, RedisSettings } from '../config/types.js';
import { getLogger, type Logger } from '../log.js';

export type RedisClient = Redis | Cluster;

type Ioredis = Pick<typeof import('ioredis'), 'Cluster' | 'Redis'>;
let ioredis: Promise<Ioredis> | undefined;
/**
 * ioredis, imported by the first client that needs it: a configuration without Redis never loads it (about
 * 13 MB of a replica's idle memory, docs/performance.md "Idle memory"). The rest of the code imports its types only.
 */
export function loadIoredis(): Promise<Ioredis> {
  return (ioredis ??= import('ioredis'));
}

/** A Cluster client (ioredis sets isCluster on both kinds), without importing ioredis for `instanceof`. */
export function isCluster(client: RedisClient): client is Cluster {
  return client.isCluster;
}

export interface RedisAddress {
  host: string;
  port: number;
}

export type RedisPlan =
  | { kind: 'single'; address: RedisAddress; options: RedisOptions }
  | { kind: 'sentinel'; sentinels: RedisAddress[]; options: RedisOptions }
  | { kind: 'cluster'; nodes: RedisAddress[]; options: ClusterOptions };

/** Does this configuration put anything on Redis? */
export function usesRedis(config: Config): boolean {
  return config.BackEnd.Name === 'redis' || config.Storage.storage_type === 'redis';
}

const DEFAULT_TIMEOUT_S = 5;
const DEFAULT_SENTINEL_PORT = 26379;
/** Longest wait between two reconnection attempts: Redis back means logins back within ~2 s. */
const MAX_RETRY_DELAY_MS = 2000;

/** Seconds → milliseconds, 0 meaning TIB's 5 s. */
export function timeoutMs(settings: RedisSettings): number {
  return (settings.Timeout > 0 ? settings.Timeout : DEFAULT_TIMEOUT_S) * 1000;
}

/** Exponential backoff from 100 ms, capped, with a little jitter so replicas do not reconnect in step. */
export function retryDelay(attempt: number): number {
  const base = Math.min(100 * 2 ** Math.min(attempt, 10), MAX_RETRY_DELAY_MS);
  return base + Math.floor(Math.random() * 100);
}

/** "host:port", "[v6]:port" → an address. The loader has checked the form. */
function parseAddress(a: string): RedisAddress {
  const i = a.lastIndexOf(':');
  return { host: a.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(a.slice(i + 1)) };
}

/**
 * TIB's address choice. With Sentinel and no address at all, the Sentinel default localhost:26379 (TIB
 * would try localhost:6379 as a sentinel, which never works).
 */
export function redisAddresses(s: RedisSettings): RedisAddress[] {
  if (s.Addrs.length > 0) return s.Addrs.map(parseAddress);
  const hosts = Object.entries(s.Hosts);
  if (hosts.length > 0) return hosts.map(([host, port]) => ({ host, port: Number(port) }));
  if (s.Port !== 0) return [{ host: s.Host || 'localhost', port: s.Port }];
  return [{ host: 'localhost', port: s.MasterName ? DEFAULT_SENTINEL_PORT : 6379 }];
}

const TLS_NAMES = { '1.0': 'TLSv1', '1.1': 'TLSv1.1', '1.2': 'TLSv1.2', '1.3': 'TLSv1.3' } as const;
type TlsName = (typeof TLS_NAMES)[keyof typeof TLS_NAMES];

/** "1.2" → "TLSv1.2"; the loader has rejected any other value. */
function tlsVersion(v: string, fallback: '1.2' | '1.3'): TlsName {
  return TLS_NAMES[(v || fallback) as keyof typeof TLS_NAMES] ?? TLS_NAMES[fallback];
}

/** TLS options from UseSSL, CAFile, CertFile+KeyFile (both or neither, as TIB), SSLInsecureSkipVerify, versions. */
export function redisTls(s: RedisSettings, readFile: (path: string) => Buffer | string): ConnectionOptions | undefined {
  if (!s.UseSSL) return undefined;
  const tls: ConnectionOptions = {
    minVersion: tlsVersion(s.MinVersion, '1.2'),
    maxVersion: tlsVersion(s.MaxVersion, '1.3'),
    rejectUnauthorized: !s.SSLInsecureSkipVerify,
  };
  if (s.CAFile) tls.ca = readFile(s.CAFile);
  if (s.CertFile && s.KeyFile) {
    tls.cert = readFile(s.CertFile);
    tls.key = readFile(s.KeyFile);
  }
  return tls;
}

/** Settings → what to connect to and how. Pure but for `readFile` (the TLS files). */
export function planRedis(s: RedisSettings, readFile: (path: string) => Buffer | string = fs.readFileSync): RedisPlan {
  const timeout = timeoutMs(s);
  const tls = redisTls(s, readFile);
  const node: RedisOptions = {
    username: s.Username || undefined,
    password: s.Password || undefined,
    connectTimeout: timeout,
    commandTimeout: timeout,
    maxRetriesPerRequest: 0,
    ...(tls ? { tls } : {}),
  };
  const addresses = redisAddresses(s);
  if (s.MasterName) {
    return {
      kind: 'sentinel',
      sentinels: addresses,
      options: {
        ...node,
        enableOfflineQueue: false,
        db: s.Database,
        name: s.MasterName,
        sentinelPassword: s.SentinelPassword || undefined,
        // TIB's one TLS configuration serves the sentinels and the master alike.
        ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
        retryStrategy: retryDelay,
        sentinelRetryStrategy: retryDelay,
        lazyConnect: true,
      },
    };
  }
  if (s.EnableCluster) {
    return {
      kind: 'cluster',
      nodes: addresses,
      options: {
        redisOptions: node,
        enableOfflineQueue: false,
        clusterRetryStrategy: retryDelay,
        slotsRefreshTimeout: timeout,
        lazyConnect: true,
      },
    };
  }
  const [address] = addresses as [RedisAddress];
  return { kind: 'single', address, options: { ...node, enableOfflineQueue: false, db: s.Database, retryStrategy: retryDelay, lazyConnect: true } };
}

/** "127.0.0.1:6390" or "a:1, b:2": what a log line names (never credentials). */
export function describeTargets(plan: RedisPlan): string {
  const list = plan.kind === 'single' ? [plan.address] : plan.kind === 'sentinel' ? plan.sentinels : plan.nodes;
  const text = list.map((a) => (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`)).join(', ');
  return plan.kind === 'sentinel' ? `master "${plan.options.name}" via sentinel(s) ${text}` : plan.kind === 'cluster' ? `cluster ${text}` : text;
}

/** An error's short cause: the errno code when there is one, else its message (ioredis errors carry no secrets). */
function cause(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e?.code === 'string') return e.code;
  return typeof e?.message === 'string' ? e.message.slice(0, 200) : String(err).slice(0, 200);
}

/** Where a socket error happened, when Node says (the node of a cluster, the master behind a sentinel). */
function placeOf(err: unknown, fallback: string): string {
  const e = err as { address?: unknown; port?: unknown };
  return typeof e?.address === 'string' && typeof e?.port === 'number' ? `${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.port}` : fallback;
}

/**
 * The broker's client. It starts connecting at once without waiting (Redis down at start does not stop the
 * broker); `waitForRedis` lets the caller give it a moment. `connect: false` (--check) leaves it unconnected.
 */
export async function createRedisClient(settings: RedisSettings, opts: { connect?: boolean; log?: Logger } = {}): Promise<RedisClient> {
  const { Cluster, Redis } = await loadIoredis();
  const log = opts.log ?? getLogger('REDIS');
  const plan = planRedis(settings);
  const client: RedisClient =
    plan.kind === 'cluster' ? new Cluster(plan.nodes, plan.options) : plan.kind === 'sentinel' ? new Redis({ ...plan.options, sentinels: plan.sentinels }) : new Redis({ ...plan.options, ...plan.address });
  watchConnection(client, describeTargets(plan), log);
  if (opts.connect !== false) client.connect().catch(() => undefined); // failures are reported by the 'error' listener and retried
  return client;
}

/** Clients closeRedis is closing: their last 'close' is a goodbye, not an outage. */
const closing = new WeakSet<RedisClient>();

/** One WARN when Redis becomes unreachable, one INFO when it answers again: no line per retry. */
function watchConnection(client: RedisClient, targets: string, log: Logger): void {
  let state: 'starting' | 'up' | 'down' = 'starting';
  const down = (err: unknown) => {
    if (state === 'down') return;
    state = 'down';
    log.warn(`Redis ${placeOf(err, targets)} unreachable: ${cause(err)}; retrying in the background, logins that need Redis fail meanwhile`);
  };
  client.on('error', down);
  if (isCluster(client)) client.on('node error', down);
  client.on('ready', () => {
    log.info(state === 'down' ? `Redis ${targets} reachable again` : `connected to Redis ${targets}`);
    state = 'up';
  });
  client.on('close', () => {
    if (state === 'up' && !closing.has(client)) down(new Error('connection closed'));
  });
}

/**
 * Resolves true when the client is ready, false at its first connection error or after `ms` (never rejects):
 * a broker starting next to its Redis serves logins from the first request, one whose Redis is down starts anyway.
 */
export function waitForRedis(client: RedisClient, ms: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
      resolve(ok);
    };
    const onReady = () => done(true);
    const onError = () => done(false);
    const timer = setTimeout(() => done(false), ms);
    timer.unref();
    client.on('ready', onReady);
    client.on('error', onError);
  });
}

/** Does Redis answer a PING within `ms`? For /ready. */
export async function pingRedis(client: RedisClient, ms: number): Promise<{ ok: true } | { ok: false; reason: string }> {
  if (client.status !== 'ready') return { ok: false, reason: `Redis unreachable: not connected (${client.status})` };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('no answer to PING')), ms);
  });
  try {
    await Promise.race([client.ping(), timeout]);
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: `Redis unreachable: ${cause(err)}` };
  } finally {
    clearTimeout(timer);
  }
}

/** A write probe's answer is reused this long: a flood of /ready costs at most one SET a second. */
const WRITE_PROBE_REUSE_MS = 1000;
/** The probe key's lifetime: it outlives the next probe, and is gone soon after the replica. */
const WRITE_PROBE_TTL_MS = 5000;
type WriteCheck = { ok: true } | { ok: false; reason: string };

/**
 * Does Redis take writes? For /ready: PING answers while every write is refused (maxmemory with noeviction:
 * OOM; a user without write rights: NOPERM), and then every login that needs Redis fails (issue 17, finding
 * 1). One key per replica, `<KeyPrefix>ready:<random replica id>`, SET with a short PX; the answer, or the
 * probe in flight, is shared by the calls within WRITE_PROBE_REUSE_MS.
 */
export function redisWriteProbe(client: RedisClient, keyPrefix: string, ms: number): () => Promise<WriteCheck> {
  const key = `${keyPrefix}ready:${randomBytes(8).toString('hex')}`;
  let last: { at: number; answer: Promise<WriteCheck> } | undefined;
  const probe = async (): Promise<WriteCheck> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer to SET ${key}`)), ms);
    });
    try {
      await Promise.race([client.set(key, '1', 'PX', WRITE_PROBE_TTL_MS), timeout]);
      return { ok: true };
    } catch (err) {
      const message = (err instanceof Error ? err.message : String(err)).slice(0, 200);
      const fix = message.startsWith('OOM')
        ? ' (Redis is at maxmemory with noeviction: free memory or raise maxmemory)'
        : message.startsWith('NOPERM')
          ? ` (the broker's Redis user needs write access to its keys, ~${keyPrefix}*)`
          : '';
      return { ok: false, reason: `Redis refuses writes: ${message}${fix}` };
    } finally {
      clearTimeout(timer);
    }
  };
  return () => {
    const now = Date.now();
    if (!last || now - last.at >= WRITE_PROBE_REUSE_MS) last = { at: now, answer: probe() };
    return last.answer;
  };
}

/**
 * Close the client: QUIT when connected (the server sees a clean goodbye), then drop the socket; resolves
 * once ioredis has let go of it (at most ~2 s, its own disconnect timeout), so nothing outlives the broker.
 */
export async function closeRedis(client: RedisClient): Promise<void> {
  if (client.status === 'end') return;
  closing.add(client);
  if (client.status === 'reconnecting' || client.status === 'wait' || client.status === 'close') {
    client.disconnect(); // no socket to wait for: this cancels the pending reconnection
    return;
  }
  const ended = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 2500);
    timer.unref();
    client.once('end', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  if (client.status === 'ready') await client.quit().catch(() => undefined);
  client.disconnect();
  await ended;
}
