/**
 * The broker's services, built once: everything providers and actions use (docs/architecture.md). "Redis or
 * memory" is decided here and nowhere else: with `BackEnd.Name: "redis"` the identity cache, single-use marks
 * and lockout counters are shared by the replicas; otherwise they live in this process, even when Redis holds
 * only the profiles (`Storage.storage_type: "redis"`). A login in flight is kept in the browser
 * (state/login-flow-cookie.ts), nowhere here.
 */
import type { ActionDeps } from './actions/action.js';
import { createAuditLog, type AuditLog } from './audit.js';
import type { Config } from './config/types.js';
import { getLogger } from './log.js';
import type { ProviderServices } from './providers/provider.js';
import { BruteForceGuard } from './state/brute-force.js';
import { MemoryIdentityCache, RedisIdentityCache } from './state/identity-cache.js';
import { MemoryLoginSessions, RedisLoginSessions } from './state/login-sessions.js';
import { closeRedis, createRedisClient, timeoutMs, usesRedis, waitForRedis, type RedisClient } from './state/redis-client.js';
import { MemoryReplayCache, RedisReplayCache } from './state/replay-cache.js';
import { MemoryPortalLinks, RedisPortalLinks } from './state/portal-links.js';
import { MemoryManagedAccounts, RedisManagedAccounts } from './state/portal-managed.js';
import { MemoryScimStore, RedisScimStore, type ScimStore } from './state/scim-store.js';
import { scimPeople } from './sync/scim/source.js';
import { createPortalServices } from './portal/services.js';
import { createTykApi } from './tyk/client.js';
import type { SyncSources } from './sync/sources.js';
import { oktaSource } from './sync/okta/source.js';

export interface Services {
  /** The broker's Redis client when the configuration uses Redis (profiles, login state, readiness). */
  redis?: RedisClient;
  provider: ProviderServices;
  action: ActionDeps;
  /** Where ended logins and admin calls are recorded (tib.conf `Audit`); none when only checking. */
  audit?: AuditLog;
  /** Directory sync's sources other than a profile's own provider (src/sync/sources.ts). */
  sync: SyncSources;
  /** What IdPs pushed to /scim/v2/{profile} (src/http/scim.ts): Redis with BackEnd.Name "redis", else this process. */
  scim: ScimStore;
  close(): Promise<void>;
}

/** `connect: false` (--check): build everything, connect nowhere, open no audit file. */
export async function createServices(config: Config, opts: { connect: boolean }): Promise<Services> {
  const redis = usesRedis(config) ? await createRedisClient(config.BackEnd.IdentityBackendSettings, { connect: opts.connect }) : undefined;
  // Give Redis a moment so the first logins find it; down at start, the broker starts anyway (it reconnects).
  if (redis && opts.connect) await waitForRedis(redis, timeoutMs(config.BackEnd.IdentityBackendSettings));
  const keyPrefix = config.BackEnd.KeyPrefix;
  // Per-user login state on Redis only with BackEnd.Name "redis".
  const shared = config.BackEnd.Name === 'redis' ? redis : undefined;
  const actionLog = getLogger('TYK ID HANDLER');
  const identityCache = shared ? new RedisIdentityCache(shared, keyPrefix, { sessionSecret: config.SessionSecret, log: actionLog }) : new MemoryIdentityCache({ log: actionLog });
  const tyk = createTykApi(config);
  const audit = opts.connect ? createAuditLog(config.Audit, config.SessionSecret) : undefined;
  const portal = createPortalServices({
    links: shared ? new RedisPortalLinks(shared, keyPrefix, config.SessionSecret) : new MemoryPortalLinks(config.SessionSecret),
    managed: shared ? new RedisManagedAccounts(shared, keyPrefix) : new MemoryManagedAccounts(),
    log: actionLog,
    onReport: (r) => audit?.portal(r),
  });
  const okta = oktaSource({ log: getLogger('DIRECTORY SYNC'), insecureSkipVerify: config.SSLInsecureSkipVerify });
  const scim = shared ? new RedisScimStore(shared, keyPrefix) : new MemoryScimStore();
  return {
    redis,
    provider: {
      log: getLogger('AUTH HANDLERS'),
      replayCache: () => (shared ? new RedisReplayCache(shared, keyPrefix) : new MemoryReplayCache()),
      bruteForceGuard: (profileId, override, log) =>
        new BruteForceGuard({ profileId, settings: { ...config.BruteForce, ...override }, log, redis: shared, keyPrefix, logSecret: config.SessionSecret }),
      sessionSecret: config.SessionSecret,
      insecureSkipVerify: config.SSLInsecureSkipVerify,
      // The logins kept for logout (docs/logout.md): shared by the replicas like the rest of login state.
      loginSessions: shared ? new RedisLoginSessions(shared, keyPrefix, config.SessionSecret) : new MemoryLoginSessions(),
    },
    action: { config, log: actionLog, tyk, identityCache, portal },
    audit,
    sync: { okta, scim: (profile) => scimPeople(scim, profile) },
    scim,
    async close() {
      await Promise.all([tyk.close(), audit?.close(), okta.close()]);
      if (redis) await closeRedis(redis);
    },
  };
}
