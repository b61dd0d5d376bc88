/**
 * The broker's one Redis client (ioredis), built from `BackEnd.IdentityBackendSettings`, shared by the flow
 * state, the identity cache, the lockout counters and the profile store. Built only when the configuration
 * asks for Redis (`BackEnd.Name: "redis"` or `Storage.storage_type: "redis"`).
 */
import { Redis, type Cluster } from 'ioredis';
import type { Config, RedisSettings } from '../config/types.js';

export type RedisClient = Redis | Cluster;

/** Does this configuration put anything on Redis? */
export function usesRedis(config: Config): boolean {
  return config.BackEnd.Name === 'redis' || config.Storage.storage_type === 'redis';
}

/** A single-node client for now; Cluster, Sentinel and TLS come with the full client (issue 9). */
export function createRedisClient(settings: RedisSettings): RedisClient {
  return new Redis({
    host: settings.Host || 'localhost',
    port: settings.Port || 6379,
    username: settings.Username || undefined,
    password: settings.Password || undefined,
    db: settings.Database,
    lazyConnect: true,
  });
}
