/**
 * Login flow state on Redis (BackEnd.Name "redis"), so a login begun on one replica finishes on another.
 * One key per flow, `<prefix>flow:<key>`, JSON, with the flow's TTL; taken with GETDEL (or GET+DEL in a
 * MULTI on Redis before 6.2) so it is used once even when two replicas race for it. No per-profile caps: the TTL and Redis's own memory limits bound it,
 * and each value is bounded here. Single-key commands only, so Redis Cluster works.
 */
import type { FlowStateStore } from './flow-state.js';
import type { RedisClient } from './redis-client.js';

/** A flow is a few hundred bytes; anything near this is a bug, not a login. */
export const MAX_FLOW_BYTES = 16 * 1024;

export class RedisFlowStateStore implements FlowStateStore {
  private hasGetdel = true;

  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
  ) {}

  private key(key: string): string {
    return `${this.keyPrefix}flow:${key}`;
  }

  async put(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    const json = JSON.stringify(value);
    if (Buffer.byteLength(json) > MAX_FLOW_BYTES) throw new Error(`login flow state larger than ${MAX_FLOW_BYTES} bytes`);
    await this.redis.set(this.key(key), json, 'EX', Math.max(1, Math.ceil(ttlSeconds)));
  }

  async take(key: string): Promise<unknown> {
    const json = await this.getAndDelete(this.key(key));
    if (json === null) return undefined;
    try {
      return JSON.parse(json) as unknown;
    } catch {
      return undefined; // not ours (or damaged): treated as unknown state
    }
  }

  /** GETDEL (Redis 6.2+); before that, GET and DEL in one MULTI (one key, so one Cluster slot). */
  private async getAndDelete(key: string): Promise<string | null> {
    if (this.hasGetdel) {
      try {
        return await this.redis.getdel(key);
      } catch (err) {
        if (!/unknown command/i.test(err instanceof Error ? err.message : '')) throw err;
        this.hasGetdel = false;
      }
    }
    const replies = await this.redis.multi().get(key).del(key).exec();
    const [getReply] = replies ?? [];
    if (!getReply || getReply[0]) throw getReply?.[0] ?? new Error('transaction aborted');
    return getReply[1] as string | null;
  }

  /** The client belongs to the broker, which closes it. */
  async close(): Promise<void> {}
}
