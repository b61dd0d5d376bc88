/**
 * createBroker: everything a running broker needs, as one embeddable object. `router` can be mounted in a
 * host Express app under any prefix; `listen()` serves it standalone with TIB's port and TLS settings.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { createAuditLog } from './audit.js';
import type { Config } from './config/types.js';
import { createRouter, type Readiness } from './http/app.js';
import { TrustedProxies } from './client-ip.js';
import { managementApp } from './http/management.js';
import { withProbes } from './http/probes.js';
import { getLogger } from './log.js';
import { enableProcessMetrics } from './metrics.js';
import { loadProfilesFile, realFs, removeStaleTempFiles } from './profiles/file-store.js';
import { RedisProfileStore } from './profiles/redis-store.js';
import { reloadProfiles, watchProfiles } from './profiles/reload.js';
import { ProfileStore } from './profiles/store.js';
import { isTibProvider, PROVIDER_NAMES } from './profiles/profile.js';
import type { ProviderFactory } from './providers/provider.js';
import { formatProblem } from './profiles/validate.js';
import { ProfileRuntime } from './runtime.js';
import { MemoryFlowStateStore } from './state/flow-state.js';
import { RedisFlowStateStore } from './state/redis-flow-state.js';
import { closeRedis, createRedisClient, pingRedis, timeoutMs, usesRedis, waitForRedis } from './state/redis-client.js';
import { createTykApi } from './tyk/client.js';

// The seam for an embedder's own providers (BrokerOptions.providers).
export { passportProvider, PassportStrategy, type PassportProviderOptions } from './providers/passport.js';
export type { Provider, ProviderDeps, ProviderFactory, ProviderOutcome } from './providers/provider.js';
export type { Identity } from './identity/identity.js';
export type { Profile } from './profiles/profile.js';
// What an embedder needs to read tib.conf and the TYK_IB_* variables exactly as the CLI does.
export { ConfigError, loadConfig, type LoadedConfig } from './config/load.js';
export type { Config } from './config/types.js';

export const DEFAULT_PORT = 3010;
/** /ready waits at most this long for Redis's PONG (or Timeout when shorter): probes must answer quickly. */
const READY_PING_MS = 1000;
/** close(): how long requests in flight (a login waiting on its directory or IdP) may take to finish. */
export const DEFAULT_DRAIN_MS = 10_000;

export interface BrokerOptions {
  config: Config;
  /** The profiles file (`-p`); changes made through the admin API are written back to it. */
  profilesPath: string;
  /** Reload when the profiles file changes on disk (default true). */
  watch?: boolean;
  /**
   * Refuse to start when a profile cannot be set up (e.g. a social profile without TYK_IB_SESSION_SECRET).
   * Default false: such a profile is logged as an error and answers 500, the others keep working.
   */
  strict?: boolean;
  /** Only validating (`--check`): change nothing on disk. */
  check?: boolean;
  /** Storage.storage_type "redis": how often profiles are re-read from Redis besides pub/sub (default 15 s). */
  profileResyncMs?: number;
  /**
   * Providers of the embedding application, by the ProviderName its profiles use (e.g. one built with
   * `passportProvider` from a Passport strategy). TIB's four names cannot be replaced; any other name in
   * a profile is refused at load time, as before.
   */
  providers?: Readonly<Record<string, ProviderFactory>>;
  /** close(): how long requests in flight may take before their connections are dropped (default 10 s). */
  drainMs?: number;
}

export interface ReloadResult {
  ok: boolean;
  problems: string[];
}

export interface Broker {
  router: Router;
  store: ProfileStore;
  /** Re-read the profiles file; a bad file is rejected and the last good set keeps serving. */
  reload(): Promise<ReloadResult>;
  /** Serve the router standalone on Config.Port (3010 when 0), over TLS when HttpServerOptions.UseSSL. */
  listen(port?: number, host?: string): Promise<http.Server>;
  /**
   * The management listener (tib.conf `Management`): /metrics, /health, /ready, on Management.Host
   * (127.0.0.1 by default) and Management.Port, or `port` when given. Undefined when Management.Port is 0
   * and no port is given.
   */
  listenManagement(port?: number): Promise<http.Server | undefined>;
  /**
   * Stop gracefully: listeners stop accepting at once, requests in flight get up to `drainMs` to finish,
   * then connections, pools, Redis, the audit log and timers are closed.
   */
  close(): Promise<void>;
}

/** Startup refused: every problem is listed, each naming the file, profile and field. */
export class StartupError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

export async function createBroker(opts: BrokerOptions): Promise<Broker> {
  const { config } = opts;
  const log = getLogger('MAIN');
  const profilesPath = path.resolve(opts.profilesPath);

  const customProviders = new Map(Object.entries(opts.providers ?? {}));
  for (const name of customProviders.keys()) {
    if (isTibProvider(name) || !/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(name)) {
      throw new StartupError([`providers: ${JSON.stringify(name)} cannot be registered: a provider's name must be 1 to 64 letters, digits, "_" or "-", starting with a letter, and not one of TIB's (${PROVIDER_NAMES.join(', ')})`]);
    }
  }
  const rules = { allowedHosts: config.AllowedIdPHosts, customProviders: [...customProviders.keys()] };
  // Temp files a crash left mid-save hold every secret; nothing else would ever remove them.
  if (!opts.check) {
    for (const name of await removeStaleTempFiles(profilesPath)) log.warn(`removed ${name}, left by an interrupted save of the profiles file`);
  }
  const loaded = await loadProfilesFile(profilesPath, realFs, rules);
  for (const w of loaded.warnings) log.warn(formatProblem(w));
  if (loaded.problems.length > 0) throw new StartupError(loaded.problems.map(formatProblem));

  // --check builds everything but connects nowhere.
  const redis = usesRedis(config) ? createRedisClient(config.BackEnd.IdentityBackendSettings, { connect: !opts.check }) : undefined;
  // Give Redis a moment so the first logins find it; down at start, the broker starts anyway (it reconnects).
  if (redis && !opts.check) await waitForRedis(redis, timeoutMs(config.BackEnd.IdentityBackendSettings));
  const keyPrefix = config.BackEnd.KeyPrefix;
  const flowState = redis && config.BackEnd.Name === 'redis' ? new RedisFlowStateStore(redis, keyPrefix) : new MemoryFlowStateStore();
  const tyk = createTykApi(config);
  const runtime = new ProfileRuntime({
    provider: { config, log: getLogger('AUTH HANDLERS'), flowState, redis, keyPrefix },
    action: { config, log: getLogger('TYK ID HANDLER'), tyk, redis, keyPrefix },
    log: getLogger('TIB INITIALIZER'),
    customProviders,
  });
  runtime.sync(loaded.profiles);
  const setupProblems = loaded.profiles
    .map((p) => runtime.get(p.ID))
    .filter((c) => c?.setupError)
    .map((c) => `${path.basename(profilesPath)}: profile "${c?.profile.ID}": ${c?.setupError}`);
  if (setupProblems.length > 0 && opts.strict) {
    await runtime.close();
    await Promise.all([flowState.close(), tyk.close()]);
    if (redis) await closeRedis(redis);
    throw new StartupError(setupProblems);
  }
  // runtime.sync has logged each unusable profile once already.

  const storeOptions = {
    path: profilesPath,
    backupDir: config.ProfileDir || path.dirname(profilesPath),
    keep: config.ProfileBackupCount,
    hash: loaded.hash,
    rules,
  };
  const storeLog = getLogger('TIB DATA LOADER');
  // Profiles in Redis (shared by replicas); --check validates the file only and connects nowhere.
  const redisStore =
    redis && config.Storage.storage_type === 'redis' && !opts.check
      ? new RedisProfileStore(loaded.profiles, { ...storeOptions, redis, keyPrefix, log: storeLog, timeoutMs: timeoutMs(config.BackEnd.IdentityBackendSettings), resyncMs: opts.profileResyncMs })
      : undefined;
  const store = redisStore ?? new ProfileStore(loaded.profiles, storeOptions);
  store.on('warning', (w) => storeLog.warn(w));
  store.on('change', () => runtime.sync(store.list()));
  log.info(`loaded ${loaded.profiles.length} profile(s) from ${profilesPath}`);
  if (redisStore) {
    await redisStore.start();
    log.info(`profiles are kept in Redis and shared by every replica (${redisStore.list().length} profiles); hot reload of ${path.basename(profilesPath)} is off, SIGHUP re-reads Redis`);
  }

  if (config.Secret === '') {
    log.warn('Secret is empty: the admin API (/api/profiles) is disabled and answers 401 to every call');
  }

  const reload = async (): Promise<ReloadResult> => {
    const r = await reloadProfiles(store, storeLog);
    return { ok: r.ok, problems: r.problems.map(formatProblem) };
  };
  const watcher = opts.watch === false || redisStore ? undefined : watchProfiles(profilesPath, () => void reload());

  const redisTimeout = Math.min(timeoutMs(config.BackEnd.IdentityBackendSettings), READY_PING_MS);
  const ready = async (): Promise<Readiness> => {
    const ping: Readiness = redis ? await pingRedis(redis, redisTimeout) : { ok: true };
    // Profiles in Redis: not ready until this replica has read the shared set at least once.
    if (ping.ok && redisStore && !redisStore.synced) return { ok: false, reason: 'profiles not read from Redis yet' };
    return ping;
  };
  const audit = opts.check ? undefined : createAuditLog(config.Audit, config.SessionSecret);
  if (!opts.check) enableProcessMetrics();
  // Metrics go to the management listener when there is one; on the main port only to the admin Secret.
  const managed = config.Management.Port !== 0;
  const inner = createRouter({
    ready,
    runtime,
    store,
    secret: config.Secret,
    log: { http: getLogger('HTTP'), api: getLogger('API'), auth: getLogger('AUTH HANDLERS') },
    audit,
    trustedProxies: new TrustedProxies(config.TrustedProxies),
    metrics: managed ? 'off' : 'secret',
  });
  // Requests in flight, counted here so close() can wait for them whoever serves the router.
  const drain = new Drain();
  const router = express.Router();
  router.use(drain.track);
  router.use(inner);

  const servers: http.Server[] = [];
  const serve = async (server: http.Server, port: number, host: string | undefined, what: string) => {
    servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const actual = (server.address() as AddressInfo).port;
    log.info(`${what} on ${config.HttpServerOptions.UseSSL && what === 'listening' ? 'https' : 'http'}://${host ?? '0.0.0.0'}:${actual}`);
    return server;
  };
  let closing: Promise<void> | undefined;
  return {
    router,
    store,
    reload,
    async listen(port?: number, host?: string) {
      const app = express();
      app.disable('x-powered-by');
      app.use(router);
      return serve(createServer(config, withProbes(app, ready)), port ?? (config.Port || DEFAULT_PORT), host, 'listening');
    },
    async listenManagement(port?: number) {
      if (port === undefined && !managed) return undefined;
      return serve(hardened(http.createServer(withProbes(managementApp(ready), ready))), port ?? config.Management.Port, config.Management.Host, 'management (/metrics, /health, /ready)');
    },
    close() {
      closing ??= (async () => {
        watcher?.close();
        redisStore?.close();
        const drainMs = opts.drainMs ?? DEFAULT_DRAIN_MS;
        // Stop accepting everywhere first, then give the logins in flight their time.
        const stopped = Promise.all(servers.map((s) => closeServer(s, drainMs)));
        await drain.idle(drainMs);
        // Keep-alive connections whose last answer just went out would otherwise linger until their timeout.
        for (const s of servers) s.closeIdleConnections();
        await stopped;
        // A provider's pool waits for its calls still out (an upstream that never answers): not past the limit.
        await withinLimit(runtime.close(), drainMs, () => log.warn(`providers still had calls out ${drainMs} ms after the stop; not waiting for them`));
        await Promise.all([flowState.close(), tyk.close(), audit?.close()]);
        if (redis) await closeRedis(redis);
      })();
      return closing;
    },
  };
}

function withinLimit(work: Promise<void>, ms: number, onLimit: () => void): Promise<void> {
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

/** Counts requests in flight through the router; idle() resolves when none is left (or at the limit). */
class Drain {
  private active = 0;
  private waiters: Array<() => void> = [];

  readonly track = (_req: Request, res: Response, next: NextFunction): void => {
    this.active++;
    let done = false;
    const end = () => {
      if (done) return;
      done = true;
      this.active--;
      if (this.active === 0) for (const w of this.waiters.splice(0)) w();
    };
    res.once('finish', end);
    res.once('close', end);
    next();
  };

  idle(limitMs: number): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, limitMs);
      timer.unref();
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

function createServer(config: Config, app: http.RequestListener): http.Server {
  const o = config.HttpServerOptions;
  const server = o.UseSSL
    ? https.createServer({ cert: fs.readFileSync(o.CertFile), key: fs.readFileSync(o.KeyFile), minVersion: 'TLSv1.2' }, app)
    : http.createServer(app);
  return hardened(server);
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
