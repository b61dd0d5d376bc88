/**
 * createBroker: everything a running broker needs, as one embeddable object, composed from one Services
 * value (services.ts), the provider registry and the profile runtime. `router` can be mounted in a host
 * Express app under any prefix; `listen()` serves it standalone with TIB's port and TLS settings (server.ts).
 */
import type http from 'node:http';
import path from 'node:path';
import { TrustedProxies } from './client-ip.js';
import type { Config } from './config/types.js';
import { createRouter, drained, standaloneApp, type Readiness, type Router } from './http/app.js';
import { Drain } from './http/drain.js';
import { managementApp } from './http/management.js';
import { withProbes } from './http/probes.js';
import { getLogger } from './log.js';
import { enableProcessMetrics } from './metrics.js';
import { loadProfilesFile, realFs, removeStaleTempFiles } from './profiles/file-store.js';
import { RedisProfileStore } from './profiles/redis-store.js';
import { reloadProfiles, watchProfiles } from './profiles/reload.js';
import { ProfileStore } from './profiles/store.js';
import { formatProblem } from './profiles/validate.js';
import { adminApiOffWarning } from './profiles/needs.js';
import type { Profile } from './profiles/profile.js';
import type { ProviderModule } from './providers/module.js';
import { ProviderRegistry } from './providers/registry.js';
import { ProfileRuntime } from './runtime.js';
import { DEFAULT_DRAIN_MS, DEFAULT_PORT, refusingAdminApi, resolveListenAddress, Servers, withinLimit } from './server.js';
import { sampleSecretFinding } from './config/sample-secrets.js';
import { createServices } from './services.js';
import { SyncRunner } from './sync/runner.js';
import { ScimPush } from './sync/scim/push.js';
import { ScimTokens } from './sync/scim/token.js';
import { pingRedis, redisWriteProbe, timeoutMs } from './state/redis-client.js';

// The seam for an embedder's own providers (BrokerOptions.providers, docs/embedding.md).
export { passportProvider, PassportStrategy, type PassportProviderOptions } from './providers/passport/passport.js';
export { ClaimsError, claimsIdentity, type OutboundHost, type ProviderModule, type ProviderProfile } from './providers/module.js';
export type { CookieOptions, LoginFailure, LoginRequest, Provider, ProviderOutcome, ProviderServices } from './providers/provider.js';
export { ProviderSetupError } from './providers/provider.js';
export type { FieldReader } from './profiles/fields.js';
export { DEFAULT_DRAIN_MS, DEFAULT_PORT } from './server.js';
export type { Identity } from './identity/identity.js';
export type { Profile } from './profiles/profile.js';
// What an embedder needs to read tib.conf and the TYK_IB_* variables exactly as the CLI does.
export { ConfigError, loadConfig, type LoadedConfig } from './config/load.js';
export type { Config } from './config/types.js';

/** /ready waits at most this long for Redis's PONG (or Timeout when shorter): probes must answer quickly. */
const READY_PING_MS = 1000;

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
   * Provider modules of the embedding application (docs/embedding.md), each under the ProviderName its
   * profiles use: validated, masked, host-checked, explained and counted like TIB's own. TIB's four names
   * cannot be replaced; any other name in a profile is refused at load time.
   */
  providers?: readonly ProviderModule[];
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
  /** The `{provider}` segments a profile's logins start at (`/auth/{id}/{segment}`), from its provider module. */
  loginSegments(profile: Profile): string[];
  /** Re-read the profiles file; a bad file is rejected and the last good set keeps serving. */
  reload(): Promise<ReloadResult>;
  /**
   * Serve the router standalone on Config.Port (3010 when 0) and Config.ListenAddress (all interfaces when
   * empty), or `port` and `host` when given, over TLS when HttpServerOptions.UseSSL. Beyond loopback, a Secret
   * from the repository's samples gets the admin API and /metrics answered 403 (src/config/sample-secrets.ts).
   */
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

  let providers: ProviderRegistry;
  try {
    providers = new ProviderRegistry(opts.providers ?? []);
  } catch (err) {
    throw new StartupError([(err as Error).message]);
  }
  const rules = { allowedHosts: config.AllowedIdPHosts, providers };
  // Temp files a crash left mid-save hold every secret; nothing else would ever remove them.
  if (!opts.check) {
    for (const name of await removeStaleTempFiles(profilesPath)) log.warn(`removed ${name}, left by an interrupted save of the profiles file`);
  }
  const loaded = await loadProfilesFile(profilesPath, realFs, rules);
  for (const w of loaded.warnings) log.warn(formatProblem(w));
  if (loaded.problems.length > 0) throw new StartupError(loaded.problems.map(formatProblem));

  // --check builds everything but connects nowhere.
  const services = await createServices(config, { connect: !opts.check });
  const { redis } = services;
  const runtime = new ProfileRuntime({ providers, provider: services.provider, action: services.action, log: getLogger('TIB INITIALIZER') });
  // Imports only the provider stacks these profiles use (registry.ts prepare).
  await runtime.update(loaded.profiles);
  const setupProblems = loaded.profiles
    .map((p) => runtime.get(p.ID))
    .filter((c) => c?.setupError)
    .map((c) => `${path.basename(profilesPath)}: profile "${c?.profile.ID}": ${c?.setupError}`);
  // A SCIM profile's token file must be there and long enough (issue 20, item 5): an error at load, naming the field.
  const scimTokens = new ScimTokens();
  const scimProblems = async (profiles: readonly Profile[]) => {
    const out: string[] = [];
    for (const p of profiles) if (p.Sync?.Source === 'scim') {
      const problem = await scimTokens.problem(p);
      if (problem !== undefined) out.push(`${path.basename(profilesPath)}: ${problem}`);
    }
    return out;
  };
  for (const problem of await scimProblems(loaded.profiles)) {
    setupProblems.push(problem);
    if (!opts.strict) log.error(`${problem}; its SCIM requests are answered 401`);
  }
  if (setupProblems.length > 0 && opts.strict) {
    await runtime.close();
    await services.close();
    throw new StartupError(setupProblems);
  }
  // runtime.update has logged each unusable profile once already.

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
      ? new RedisProfileStore(loaded.profiles, { ...storeOptions, redis, keyPrefix: config.BackEnd.KeyPrefix, log: storeLog, timeoutMs: timeoutMs(config.BackEnd.IdentityBackendSettings), resyncMs: opts.profileResyncMs })
      : undefined;
  const store = redisStore ?? new ProfileStore(loaded.profiles, storeOptions);
  store.on('warning', (w) => storeLog.warn(w));
  store.on('change', () => {
    // A profile of a kind not used before loads its provider's stack first; the admin API has loaded it
    // before writing (admin-api.ts), so its profile is live when the write is answered.
    const loading = providers.prepare(store.list());
    if (!loading) runtime.sync(store.list());
    // Not after close(): a provider built then would never be closed.
    else loading.then(() => closing ?? runtime.sync(store.list()), (err: unknown) => log.error('loading a provider failed', { reason: String(err) }));
    // A reload may name teams made a moment ago: the portals' team lists are read again at their next use.
    services.action.portal?.invalidate();
  });
  log.info(`loaded ${loaded.profiles.length} profile(s) from ${profilesPath}`);
  if (redisStore) {
    await redisStore.start();
    log.info(`profiles are kept in Redis and shared by every replica (${redisStore.list().length} profiles); hot reload of ${path.basename(profilesPath)} is off, SIGHUP re-reads Redis`);
  }

  // The very text --check prints (src/preflight.ts).
  // Directory sync on each profile's schedule, one runner across replicas (src/sync/runner.ts); not when only checking.
  const syncRunner = opts.check
    ? undefined
    : new SyncRunner({ profiles: () => store.list(), compiled: (id) => runtime.get(id), config, tyk: services.action.tyk, portal: services.action.portal, redis, keyPrefix: config.BackEnd.KeyPrefix, log: getLogger('SYNC'), audit: services.audit, sources: services.sync });
  if (syncRunner) {
    void syncRunner.plan();
    store.on('change', () => void syncRunner.plan());
  }
  const scimPush = new ScimPush({ config, tyk: services.action.tyk, portal: services.action.portal, audit: services.audit, log: getLogger('SCIM') });
  store.on('change', () => {
    void scimProblems(store.list()).then((problems) => {
      for (const problem of problems) log.error(`${problem}; its SCIM requests are answered 401`);
    });
  });

  const adminOff = adminApiOffWarning(config);
  if (adminOff) log.warn(adminOff);

  const reload = async (): Promise<ReloadResult> => {
    const r = await reloadProfiles(store, storeLog);
    return { ok: r.ok, problems: r.problems.map(formatProblem) };
  };
  const watcher = opts.watch === false || redisStore ? undefined : watchProfiles(profilesPath, () => void reload());

  const redisTimeout = Math.min(timeoutMs(config.BackEnd.IdentityBackendSettings), READY_PING_MS);
  // PING answers while Redis refuses every write (OOM, NOPERM): /ready also writes this replica's one key.
  const writable = redis && !opts.check ? redisWriteProbe(redis, config.BackEnd.KeyPrefix, redisTimeout) : undefined;
  const ready = async (): Promise<Readiness> => {
    let redisOk: Readiness = redis ? await pingRedis(redis, redisTimeout) : { ok: true };
    if (redisOk.ok && writable) redisOk = await writable();
    // Profiles in Redis: not ready until this replica has read the shared set at least once.
    if (redisOk.ok && redisStore && !redisStore.synced) return { ok: false, reason: 'profiles not read from Redis yet' };
    // A replica deaf to the others' changes would serve a deleted profile until the periodic re-read.
    const pubsub = redisOk.ok ? redisStore?.pubsubProblem : undefined;
    if (pubsub) return { ok: false, reason: pubsub };
    return redisOk;
  };
  if (!opts.check) enableProcessMetrics();
  // Metrics go to the management listener when there is one; on the main port only to the admin Secret.
  const managed = config.Management.Port !== 0;
  const portalServices = services.action.portal;
  const inner = createRouter({
    ready,
    runtime,
    providers,
    store,
    secret: config.Secret,
    log: { http: getLogger('HTTP'), api: getLogger('API'), auth: getLogger('AUTH HANDLERS') },
    audit: services.audit,
    trustedProxies: new TrustedProxies(config.TrustedProxies),
    loginStartsPerMinute: config.LoginStartsPerMinute,
    metrics: managed ? 'off' : 'secret',
    // Profile writes resolve portal teams through the same cached directories the logins use.
    portal: { config, tyk: services.action.tyk, ...(portalServices && { load: (tyk, settings) => portalServices.target(tyk, settings).directory.load() }) },
    sync: syncRunner,
    scim: { profiles: () => store.list(), store: services.scim, tokens: scimTokens, push: scimPush, log: getLogger('SCIM') },
  });
  // Requests in flight, counted here so close() can wait for them whoever serves the router.
  const drain = new Drain();
  const router = drained(inner, drain);

  const servers = new Servers(config, log);
  let closing: Promise<void> | undefined;
  return {
    router,
    store,
    loginSegments: (profile) => providers.loginSegments(profile),
    reload,
    async listen(port?: number, host?: string) {
      const address = await resolveListenAddress(host ?? config.ListenAddress);
      const sample = sampleSecretFinding(config.Secret, address ?? '');
      const app = withProbes(standaloneApp(router), ready);
      const server = await servers.serve(sample?.refused ? refusingAdminApi(app, !managed) : app, port ?? (config.Port || DEFAULT_PORT), address, 'listening');
      if (sample?.refused) log.error(sample.message);
      else if (sample) log.warn(sample.message);
      return server;
    },
    async listenManagement(port?: number) {
      if (port === undefined && !managed) return undefined;
      return servers.serve(withProbes(managementApp(ready), ready), port ?? config.Management.Port, config.Management.Host, 'management (/metrics, /health, /ready, /version)');
    },
    close() {
      closing ??= (async () => {
        watcher?.close();
        redisStore?.close();
        const drainMs = opts.drainMs ?? DEFAULT_DRAIN_MS;
        await servers.close(drainMs, drain);
        // A sync under way finishes (past drainMs it stops writing) before its providers and Redis close.
        await syncRunner?.close(drainMs);
        await withinLimit(scimPush.close(), drainMs, () => log.warn(`SCIM pushes still had portal calls out ${drainMs} ms after the stop; not waiting for them`));
        // A provider's pool waits for its calls still out (an upstream that never answers): not past the limit.
        await withinLimit(runtime.close(), drainMs, () => log.warn(`providers still had calls out ${drainMs} ms after the stop; not waiting for them`));
        await services.close();
      })();
      return closing;
    },
  };
}
