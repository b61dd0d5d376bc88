/**
 * Profiles kept in Redis (`Storage.storage_type: "redis"`), shared by every replica.
 *
 * One hash `<prefix>{profiles}` maps each ID to its profile JSON. An API change is one atomic command on
 * its own field (HSETNX, a check-and-set script, HDEL), so two replicas writing different profiles at once
 * never lose one, and for the same ID Redis decides "exists" / "does not exist" as TIB answers them. After a
 * change the replica publishes the ID on `<prefix>{profiles}:changed`; every replica re-reads the whole
 * hash on a message, whenever it (re)connects, and every `resyncMs` as a safety net for missed messages.
 * The `{profiles}` hash tag keeps every key in one Redis Cluster slot (the seeding script needs that).
 *
 * An empty store (no seed marker) is seeded atomically, once, from the `-p` file; until Redis first answers
 * that file's set serves. If Redis comes back without its data, it is seeded again with the last good set.
 * What is read is validated like a file: anything invalid (written by hand) is rejected, logged, and the
 * last good set keeps serving. Reads never touch Redis, so an outage keeps the last good set serving;
 * writes then fail at once with "flush failed" instead of waiting. `flush()` (POST /api/profiles/save)
 * exports the set to the `-p` file with the file store's atomic save and backups (inherited).
 */
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '../log.js';
import { isCluster, loadIoredis, retryDelay, type RedisClient } from '../state/redis-client.js';
import { jsonSyntaxProblem } from '../config/json-syntax.js';
import { contentHash, serializeProfiles, type LoadedProfiles } from './file-store.js';
import { orderedProfile, type Profile } from './profile.js';
import { ProfileStore, StoreError, type StoreOptions } from './store.js';
import { formatProblem, freezeProfile, validateProfile, type ProfileProblem } from './validate.js';

export interface RedisStoreOptions extends StoreOptions {
  redis: RedisClient;
  /** BackEnd.KeyPrefix, e.g. "tib:". */
  keyPrefix: string;
  log: Logger;
  /** How long a write may wait for Redis before it fails (IdentityBackendSettings.Timeout). */
  timeoutMs: number;
  /** The safety-net re-read interval (default 15 s); injectable for tests. */
  resyncMs?: number;
}

/** The whole set, or nil when the seed marker is missing (a new store, or Redis lost its data): KEYS hash, marker. */
const READ = `
if redis.call('EXISTS', KEYS[2]) == 0 then return false end
return redis.call('HGETALL', KEYS[1])`;

/**
 * Seed a store without a marker, atomically (two replicas starting together seed it once): KEYS hash, marker;
 * ARGV id, json, id, json... HSETNX: what someone wrote meanwhile is kept.
 */
const SEED = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
for i = 1, #ARGV, 2 do redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('SET', KEYS[2], '1')
return 1`;

/** Replace a profile only if it exists (TIB's PUT): KEYS hash; ARGV id, json. */
const UPDATE = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`;

const DEFAULT_RESYNC_MS = 15_000;

/** One profile's JSON, in TIB's field order. */
function toJson(p: Profile): string {
  return JSON.stringify(orderedProfile(p));
}

/** Validate the hash read from Redis as a whole; any problem rejects all of it, as a bad file. */
export function parseProfileHash(raw: Record<string, string>, source: string, opts: Pick<StoreOptions, 'rules'>): LoadedProfiles {
  const out: LoadedProfiles = { profiles: [], problems: [], warnings: [], hash: '' };
  const entries = Object.entries(raw).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  entries.forEach(([id, json], index) => {
    const problem = (field: string, message: string): ProfileProblem => ({ file: source, profileId: id, index, field, message });
    let item: unknown;
    try {
      item = JSON.parse(json);
    } catch (err) {
      // Position only: the text around the error may be a secret.
      out.problems.push(problem('', jsonSyntaxProblem(json, err)));
      return;
    }
    const r = validateProfile(item, { file: source, index, rules: opts.rules });
    out.problems.push(...r.problems);
    out.warnings.push(...r.warnings);
    if (r.profile && r.profile.ID !== id) out.problems.push(problem('ID', `does not match its Redis hash field ${JSON.stringify(id)}`));
    else if (r.profile) out.profiles.push(r.profile);
  });
  out.hash = out.problems.length === 0 ? contentHash(serializeProfiles(out.profiles)) : contentHash(JSON.stringify(entries));
  return out;
}

export class RedisProfileStore extends ProfileStore {
  private readonly redis: RedisClient;
  private readonly hashKey: string;
  private readonly seedKey: string;
  private readonly channel: string;
  /** Redis has been read once: a missing seed marker after that means Redis lost its data. */
  private everRead = false;
  private readonly onReady = () => this.resync();
  /** A background re-read is running / another was asked for meanwhile (bursts of messages coalesce). */
  private resyncing = false;
  private resyncAgain = false;
  private subscriber?: Redis;
  private timer?: NodeJS.Timeout;
  /** Cluster only: subscribe on the first and every later 'ready'; which node next; the pause before it. */
  private onClusterReady?: () => void;
  /** Cluster only: ioredis's single-node client for the subscriber, imported in start() (redis-client.ts loadIoredis). */
  private nodeClient?: typeof Redis;
  private nodeTurn = 0;
  private subscriberRetry?: NodeJS.Timeout;
  private closed = false;
  /** Hash of the last rejected content, so the background re-read logs a bad store once, not every time. */
  private rejected = '';
  /** Redis was unreachable at the last background re-read (logged once per outage). */
  private down = false;
  /**
   * The Redis user may not SUBSCRIBE to / PUBLISH on the change channel (ACL without `&<channel>`): changes
   * made through another replica then reach this one only at the periodic re-read. Logged once, and /ready
   * says so (`pubsubProblem`) until the command is accepted again.
   */
  private refused: { subscribe?: boolean; publish?: boolean } = {};
  private refusalLogged = false;

  constructor(
    initial: readonly Profile[],
    private readonly ropts: RedisStoreOptions,
  ) {
    super(initial, ropts);
    this.redis = ropts.redis;
    this.hashKey = `${ropts.keyPrefix}{profiles}`;
    this.seedKey = `${ropts.keyPrefix}{profiles}:seeded`;
    this.channel = `${ropts.keyPrefix}{profiles}:changed`;
  }

  override get label(): string {
    return `profiles in Redis (${this.hashKey})`;
  }

  /** The set has been read from Redis at least once (until then the `-p` file's set serves). */
  get synced(): boolean {
    return this.everRead;
  }

  /** Why changes made through other replicas do not reach this one at once (a refused SUBSCRIBE or PUBLISH), or undefined. */
  get pubsubProblem(): string | undefined {
    const what = [this.refused.subscribe && 'SUBSCRIBE', this.refused.publish && 'PUBLISH'].filter(Boolean).join(' and ');
    return what === '' ? undefined : `Redis refuses ${what} on ${this.channel}: ${this.aclFix()}`;
  }

  private aclFix(): string {
    const every = Math.round((this.ropts.resyncMs ?? DEFAULT_RESYNC_MS) / 1000);
    return `a profile changed through one replica reaches the others only at their periodic re-read (every ${every} s); allow the channel to the Redis user (ACL SETUSER <user> &${this.channel})`;
  }

  /** Records a refused (NOPERM) or accepted SUBSCRIBE / PUBLISH; other failures (connection) are the re-read's to report. */
  private pubsub(command: 'subscribe' | 'publish', done: Promise<unknown>): void {
    done.then(
      () => {
        if (this.refused[command]) this.ropts.log.info(`Redis accepts ${command.toUpperCase()} on ${this.channel} again`);
        this.refused[command] = false;
      },
      (err: unknown) => {
        if (!(err instanceof Error && err.message.startsWith('NOPERM'))) return;
        this.refused[command] = true;
        if (this.refusalLogged) return;
        this.refusalLogged = true;
        this.ropts.log.warn(`Redis refused ${command.toUpperCase()} on ${this.channel} (NOPERM): ${this.aclFix()}; /ready answers 503 until it is allowed`);
      },
    );
  }

  /**
   * Connect, seed an empty store from the file, read the set, and keep it in sync. Never rejects: with
   * Redis down the file's set serves and the first successful (re)connection syncs.
   */
  async start(): Promise<void> {
    if (isCluster(this.redis)) {
      this.nodeClient = (await loadIoredis()).Redis;
      // Messages reach every node of a Cluster: one plain connection to any node hears them. Not ioredis's
      // own Cluster subscriber: while the nodes are down it reconnects in a tight loop (a core busy, and a
      // listener piled on a dead socket per attempt).
      const cluster = this.redis;
      this.onClusterReady = () => this.connectClusterSubscriber(cluster);
      this.redis.on('ready', this.onClusterReady);
    } else {
      // A second connection: one in subscriber mode can send nothing else. It re-subscribes itself on 'ready'
      // (errors caught): ioredis's own auto-resubscribe leaves its promise unhandled when the connection
      // drops again at that moment, with the offline queue off.
      this.listen(this.redis.duplicate({ autoResubscribe: false }));
    }
    this.redis.on('ready', this.onReady);
    for (const c of [this.redis, this.subscriber]) if (c?.status === 'wait') c.connect().catch(() => undefined);
    this.timer = setInterval(() => {
      this.resync();
      this.retryRefused();
    }, this.ropts.resyncMs ?? DEFAULT_RESYNC_MS);
    this.timer.unref();
    if (this.redis.status === 'ready' || (await waitReady(this.redis, this.ropts.timeoutMs))) {
      this.onClusterReady?.();
      await this.resyncOnce();
    }
  }

  /** The subscriber connection: on every (re)connection, subscribe again and re-read what was missed meanwhile. */
  private listen(sub: Redis): void {
    this.subscriber = sub;
    sub.on('error', () => undefined); // the main client logs connection problems
    sub.on('message', (channel: string) => {
      if (channel === this.channel) this.resync();
    });
    sub.on('ready', () => {
      this.pubsub('subscribe', sub.subscribe(this.channel));
      this.resync();
    });
  }

  /**
   * Cluster: subscribe through one node, with the client's credentials and TLS; a node that stays down for
   * a few attempts is left for the next one after a pause (the periodic re-read covers the gap).
   */
  private connectClusterSubscriber(cluster: Cluster): void {
    if (this.closed || this.subscriber) return;
    const nodes = cluster.nodes('all');
    const node = nodes[this.nodeTurn++ % Math.max(1, nodes.length)];
    if (!node) return; // no node known yet: the next 'ready' tries again
    const sub = new (this.nodeClient as typeof Redis)({
      ...cluster.options.redisOptions,
      host: node.options.host,
      port: node.options.port,
      enableOfflineQueue: false,
      autoResubscribe: false,
      retryStrategy: (attempt) => (attempt > 3 ? null : retryDelay(attempt)),
    });
    this.listen(sub);
    sub.once('end', () => {
      if (this.subscriber === sub) this.subscriber = undefined;
      if (this.closed) return;
      this.subscriberRetry = setTimeout(() => this.connectClusterSubscriber(cluster), retryDelay(Infinity));
      this.subscriberRetry.unref();
    });
  }

  /** After a refusal, ask again with each re-read: an ACL fixed meanwhile makes the replica ready without a restart. */
  private retryRefused(): void {
    const sub = this.subscriber;
    if (this.refused.subscribe && sub?.status === 'ready') this.pubsub('subscribe', sub.subscribe(this.channel));
    // An empty message: the other replicas re-read the set once (they read no ID from it).
    if (this.refused.publish && this.redis.status === 'ready') this.pubsub('publish', this.redis.publish(this.channel, ''));
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.subscriberRetry);
    this.redis.off('ready', this.onReady);
    if (this.onClusterReady) this.redis.off('ready', this.onClusterReady);
    this.subscriber?.disconnect();
  }

  override create(p: Profile): Promise<Profile> {
    const value = freezeProfile(p);
    return this.write(p.ID, value, () => this.redis.hsetnx(this.hashKey, p.ID, toJson(p)), () => new StoreError('exists', 'Object ID already exists'));
  }

  override update(p: Profile): Promise<Profile> {
    const value = freezeProfile(p);
    const refused = () => new StoreError('not-found', 'Object ID does not exist, operation not permitted');
    return this.write(p.ID, value, () => this.redis.eval(UPDATE, 1, this.hashKey, p.ID, toJson(p)), refused);
  }

  override async remove(id: string): Promise<void> {
    await this.write(id, undefined, () => this.redis.hdel(this.hashKey, id), () => new StoreError('not-found', 'Object ID does not exist'));
  }

  /** Re-read Redis (SIGHUP, a message, the timer). Invalid content changes nothing. */
  override reload(): Promise<LoadedProfiles & { unchanged: boolean }> {
    return this.serial(async () => {
      const loaded = await this.read();
      const unchanged = loaded.problems.length === 0 && loaded.hash === contentHash(serializeProfiles(this.list()));
      if (!unchanged && loaded.problems.length === 0) this.replaceSet(loaded.profiles);
      return { ...loaded, unchanged };
    });
  }

  /** Ask for a background re-read; one runs at a time, and one more after it when asked meanwhile. */
  private resync(): void {
    if (this.resyncing) {
      this.resyncAgain = true;
      return;
    }
    this.resyncing = true;
    void (async () => {
      try {
        do {
          this.resyncAgain = false;
          await this.resyncOnce();
        } while (this.resyncAgain);
      } finally {
        this.resyncing = false;
      }
    })();
  }

  /** The background re-read: logs a rejected store and an outage once each, and their end. */
  private async resyncOnce(): Promise<void> {
    const log = this.ropts.log;
    const r = await this.reload().catch((err: unknown) => ({ ...failed(this.label, err), unchanged: false }));
    const unreachable = r.problems.some((p) => p.field === '' && p.index < 0);
    if (unreachable) {
      if (!this.down) log.warn(`Redis unreachable: still serving the last good profile set (${this.list().length} profiles)`, { reason: r.problems[0]?.message });
      this.down = true;
      return;
    }
    if (this.down) log.info('Redis reachable again: profiles re-read');
    this.down = false;
    if (r.problems.length > 0) {
      if (r.hash === this.rejected) return;
      this.rejected = r.hash;
      log.error(`${this.label} rejected, still serving the last good set (${this.list().length} profiles)`);
      for (const p of r.problems) log.error(formatProblem(p));
      return;
    }
    this.rejected = '';
    if (!r.unchanged) log.info(`profiles re-read from Redis: ${r.profiles.length} profiles`);
  }

  private async read(): Promise<LoadedProfiles> {
    const keys = [this.hashKey, this.seedKey];
    try {
      let flat = await this.send(() => this.redis.eval(READ, 2, ...keys));
      if (flat === null) {
        // Seeded with what this replica serves: the file's set at first start, the last good set when Redis
        // came back without its data (so no change made before the loss is lost).
        const set = this.list();
        const seededNow = await this.send(() => this.redis.eval(SEED, 2, ...keys, ...set.flatMap((p) => [p.ID, toJson(p)])));
        const from = this.everRead ? "this replica's last good set (Redis came back without its data)" : 'the profiles file';
        if (seededNow === 1) this.ropts.log.info(`profile store in Redis had no seed marker: seeded with ${set.length} profile(s) from ${from}`);
        flat = await this.send(() => this.redis.eval(READ, 2, ...keys));
      }
      this.everRead = true;
      return parseProfileHash(pairs(flat), `redis ${this.hashKey}`, this.ropts);
    } catch (err) {
      return failed(this.label, err);
    }
  }

  /** One atomic change in Redis (1 = done, 0 = refused), then visible here and announced to the others. */
  private write(id: string, value: Profile | undefined, command: () => Promise<unknown>, refused: () => StoreError): Promise<Profile> {
    return this.serial(async () => {
      const done = await this.send(command);
      if (done !== 1) throw refused();
      this.applyChange(id, value);
      // A lost message is caught up by the periodic re-read.
      this.pubsub('publish', this.redis.publish(this.channel, id));
      return value as Profile;
    });
  }

  /** Fails at once when Redis is not connected, and after timeoutMs when it does not answer. */
  private async send<T>(command: () => Promise<T>): Promise<T> {
    if (this.redis.status !== 'ready') throw new StoreError('flush', 'flush failed: Redis is unreachable');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis did not answer within ${this.ropts.timeoutMs} ms`)), this.ropts.timeoutMs);
    });
    try {
      return await Promise.race([command(), late]);
    } catch (err) {
      throw new StoreError('flush', `flush failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** HGETALL's flat [field, value, ...] reply as a record. */
function pairs(flat: unknown): Record<string, string> {
  // Never read a missing answer as an empty set: that would drop every profile.
  if (!Array.isArray(flat)) throw new Error('Redis answered no profile set');
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = String(flat[i + 1]);
  return out;
}

/** A read that could not happen (Redis unreachable): index -1, no field. */
function failed(label: string, err: unknown): LoadedProfiles {
  const message = `cannot read ${label}: ${err instanceof Error ? err.message.replace(/^flush failed: /, '') : String(err)}`;
  return { profiles: [], problems: [{ profileId: '', index: -1, field: '', message }], warnings: [], hash: '' };
}

/** Resolves true once the client is ready, false after ms. */
function waitReady(client: RedisClient, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      resolve(ok);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), ms);
    client.on('ready', onReady);
  });
}
