/**
 * Runs directory sync (src/sync/engine.ts) for the broker (issue 20, item 3): each profile with a `Sync` block
 * and IntervalSeconds > 0 on its schedule, and any profile on demand (the admin API, src/http/sync-api.ts).
 * Every run holds the profile's sync lock (src/state/sync-lock.ts), so across replicas on one Redis exactly one
 * runs at a time; a replica that finds the lock taken skips its turn (logged at DEBUG only).
 *
 * Schedule: a profile's next run is its last run's start plus IntervalSeconds (the last run of any replica,
 * read from Redis when the broker has it), or one interval after this broker started when no run is known,
 * so restarting replicas never causes extra runs. A first run right away is `POST /api/sync/{profile}`.
 * Timers are unref'd and re-planned when the profiles change; close() stops them and waits for a run under way.
 *
 * The last run's summary (no people in it) is kept in memory and, with Redis, under
 * `${KeyPrefix}sync-last:<profile>` with a TTL, so any replica answers `GET /api/sync/{profile}`.
 */
import type { AuditLog } from '../audit.js';
import type { Config } from '../config/types.js';
import type { Identity } from '../identity/identity.js';
import { redact, type Logger } from '../log.js';
import { recordSyncRun } from '../metrics.js';
import type { PortalServices } from '../portal/services.js';
import type { Profile } from '../profiles/profile.js';
import { tykTargetsOf } from '../profiles/tyk-settings.js';
import type { RedisClient } from '../state/redis-client.js';
import { acquireSyncLock } from '../state/sync-lock.js';
import type { TykApi } from '../tyk/client.js';
import { runSync, type SyncReport } from './engine.js';
import { peopleLister, type SyncSources } from './sources.js';

export type SyncOutcome = 'ok' | 'braked' | 'failed';

/** What `GET /api/sync/{profile}` shows of a run: when, counts, errors, brake; never the people. */
export interface SyncRunSummary {
  profile: string;
  startedAt: string;
  seconds: number;
  outcome: SyncOutcome;
  listed?: number;
  outOfScope?: number;
  counts?: SyncReport['counts'];
  brake?: SyncReport['brake'];
  errors: number;
  /** Why a failed run failed (secrets masked). */
  reason?: string;
}

/** Why runNow did not run: unknown profile or no Sync block (404), another runner holds the lock (409), the run failed (502). */
export class SyncRunError extends Error {
  constructor(
    readonly kind: 'not-found' | 'busy' | 'failed',
    message: string,
  ) {
    super(message);
  }
}

/** What the runner reads of a compiled profile (src/runtime.ts CompiledProfile). */
export interface SyncSource {
  profile: Profile;
  provider?: { people?(opts?: { signal?: AbortSignal }): Promise<Identity[]> };
  setupError?: string;
}

export interface SyncRunnerDeps {
  profiles(): readonly Profile[];
  compiled(id: string): SyncSource | undefined;
  config: Pick<Config, 'TykAPISettings'>;
  tyk: TykApi;
  portal?: PortalServices;
  /** The broker's Redis (lock and last runs shared by the replicas); memory only when missing. */
  redis?: RedisClient;
  keyPrefix: string;
  log: Logger;
  audit?: AuditLog;
  /** The Okta and SCIM sources (src/sync/sources.ts); "ldap" lists through the profile's provider. */
  sources?: SyncSources;
}

/** Last runs stay on Redis at least this long (or three intervals). */
const LAST_TTL_S = 7 * 24 * 3600;

const isSynced = (p: Profile | undefined): p is Profile & { Sync: NonNullable<Profile['Sync']> } => p?.Sync !== undefined;

export class SyncRunner {
  private readonly last = new Map<string, SyncRunSummary>();
  private readonly timers = new Map<string, { at: Date; timer: NodeJS.Timeout; interval: number }>();
  private readonly running = new Set<Promise<unknown>>();
  private readonly stop = new AbortController();
  private readonly started = Date.now();
  private planning: Promise<void> = Promise.resolve();
  /** Set by close(): no new run, no new timer. */
  private closing = false;

  constructor(private readonly deps: SyncRunnerDeps) {}

  /** (Re)plans every profile's next run; called at start and on each profile change. */
  plan(): Promise<void> {
    this.planning = this.planning
      .then(() => this.planAll())
      .catch((err: unknown) => {
        this.deps.log.warn('planning directory sync failed', { reason: String(redact(err)) });
      });
    return this.planning;
  }

  /** The next planned run of a profile (undefined: on demand only). */
  nextRun(profileId: string): Date | undefined {
    return this.timers.get(profileId)?.at;
  }

  /** The last run of any replica, or undefined; throws not-found for a profile without Sync. */
  async lastRun(profileId: string): Promise<SyncRunSummary | undefined> {
    if (!isSynced(this.deps.profiles().find((p) => p.ID === profileId))) throw new SyncRunError('not-found', `profile "${profileId}" does not exist or has no Sync block`);
    return this.readLast(profileId);
  }

  /** Runs now (admin API): the report, or SyncRunError. A dry run writes nothing and is not kept as the last run. */
  async runNow(profileId: string, opts: { dryRun: boolean; force: boolean }): Promise<SyncReport> {
    if (this.closing) throw new SyncRunError('busy', 'the broker is stopping');
    const run = this.run(profileId, opts);
    this.running.add(run);
    try {
      return await run;
    } finally {
      this.running.delete(run);
    }
  }

  /** Stops the timers and waits for runs under way; past `abortAfterMs` they stop writing (the fencing check). */
  async close(abortAfterMs: number): Promise<void> {
    this.closing = true;
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
    const limit = setTimeout(() => this.stop.abort(), abortAfterMs);
    limit.unref();
    await Promise.allSettled([...this.running]);
    clearTimeout(limit);
    this.stop.abort();
  }

  private async planAll(): Promise<void> {
    if (this.closing) return;
    const profiles = new Map(this.deps.profiles().map((p) => [p.ID, p]));
    for (const [id, t] of this.timers) {
      const p = profiles.get(id);
      if (!isSynced(p) || p.Sync.IntervalSeconds !== t.interval) {
        clearTimeout(t.timer);
        this.timers.delete(id);
      }
    }
    for (const p of profiles.values()) {
      if (!isSynced(p) || p.Sync.IntervalSeconds <= 0 || this.timers.has(p.ID)) continue;
      await this.schedule(p.ID, p.Sync.IntervalSeconds);
    }
  }

  private async schedule(id: string, interval: number): Promise<void> {
    const last = await this.readLast(id).catch(() => undefined);
    const from = last ? Date.parse(last.startedAt) : this.started;
    // Never sooner than a few seconds: a missed turn (the broker was down) runs soon, not in a burst.
    const at = new Date(Math.max(from + interval * 1000, Date.now() + 5000));
    if (this.closing) return;
    const timer = setTimeout(() => void this.tick(id, interval), at.getTime() - Date.now());
    timer.unref();
    clearTimeout(this.timers.get(id)?.timer);
    this.timers.set(id, { at, timer, interval });
  }

  private async tick(id: string, interval: number): Promise<void> {
    this.timers.delete(id);
    try {
      await this.runNow(id, { dryRun: false, force: false });
    } catch (err) {
      if (err instanceof SyncRunError && err.kind === 'busy') this.deps.log.debug('directory sync: another runner holds the lock; skipping this turn', { profile: id });
      else if (!(err instanceof SyncRunError && err.kind === 'failed')) this.deps.log.warn('directory sync did not run', { profile: id, reason: String(redact(err)) });
    }
    const p = this.deps.profiles().find((x) => x.ID === id);
    if (isSynced(p) && p.Sync.IntervalSeconds === interval && !this.timers.has(id)) await this.schedule(id, interval).catch(() => undefined);
  }

  private async run(id: string, opts: { dryRun: boolean; force: boolean }): Promise<SyncReport> {
    const source = this.deps.compiled(id);
    const profile = source?.profile;
    if (!isSynced(profile)) throw new SyncRunError('not-found', `profile "${id}" does not exist or has no Sync block`);
    const lock = await acquireSyncLock(this.deps.redis, this.deps.keyPrefix, id).catch((err: unknown) => {
      throw new SyncRunError('failed', `the sync lock could not be taken: ${String(redact(err))}`);
    });
    if (!lock) throw new SyncRunError('busy', `another runner is syncing profile "${id}" now`);
    const started = Date.now();
    try {
      const provider = source?.provider;
      const targets = tykTargetsOf(this.deps.config, profile);
      const portal = this.deps.portal;
      if (source?.setupError !== undefined) throw new Error(`profile "${id}" cannot be used: ${source.setupError}`);
      const people = peopleLister(profile, provider, this.deps.sources);
      if ('problem' in people) throw new Error(people.problem);
      if (!portal || targets.PortalAPIConfig.Endpoint === '') throw new Error(`profile "${id}": TykAPISettings.PortalAPIConfig.Endpoint is not set`);
      const target = portal.target(this.deps.tyk.withSettings(targets), targets.PortalAPIConfig);
      const signal = this.stop.signal;
      const report = await runSync(
        profile,
        {
          target,
          links: portal.links,
          managed: portal.managed,
          people: () =>
            people({ signal }).catch((err: unknown) => {
              const what = profile.Sync.Source === 'ldap' ? 'the directory' : `the ${profile.Sync.Source} source`;
              throw new Error(`${what} cannot list its people: ${err instanceof Error ? err.message : String(err)}`);
            }),
          log: this.deps.log,
          // Fencing: a lost lock, or a broker stopping past its limit, stops the writes.
          stillOwner: async () => !signal.aborted && (await lock.stillOwner()),
        },
        opts,
      );
      await this.finished(report);
      return report;
    } catch (err) {
      const reason = String(redact(err));
      this.deps.log.error('directory sync failed', { profile: id, reason });
      const summary: SyncRunSummary = { profile: id, startedAt: new Date(started).toISOString(), seconds: (Date.now() - started) / 1000, outcome: 'failed', errors: 1, reason };
      this.deps.audit?.sync({ profile: id, dryRun: opts.dryRun, outcome: 'failed', errors: 1, seconds: summary.seconds, reason });
      if (!opts.dryRun) {
        recordSyncRun(id, 'failed', summary.seconds, 1, []);
        await this.keep(summary, profile.Sync.IntervalSeconds);
      }
      throw new SyncRunError('failed', reason);
    } finally {
      await lock.release();
    }
  }

  /** Audit (the run and each applied change), metrics and the last run, for a report. */
  private async finished(r: SyncReport): Promise<void> {
    const outcome: SyncOutcome = r.brake ? 'braked' : 'ok';
    const audit = this.deps.audit;
    audit?.sync({ profile: r.profile, dryRun: r.dryRun, outcome, counts: r.counts, errors: r.errors, seconds: r.seconds, listed: r.listed, outOfScope: r.outOfScope });
    if (r.dryRun) return;
    const done = { create: 'created', update: 'updated', deactivate: 'deactivated', delete: 'deleted' } as const;
    for (const c of r.changes) {
      const kind = c.kind as keyof typeof done;
      if (!(kind in done)) continue;
      audit?.portal({
        profile: r.profile,
        outcome: c.error === undefined ? done[kind] : 'error',
        ...(c.account !== undefined && { account: c.account }),
        ...(c.email !== undefined && { email: c.email }),
        ...(c.fields && { changes: c.fields.map((field) => ({ field, before: undefined, after: undefined })) }),
      });
    }
    recordSyncRun(r.profile, outcome, r.seconds, r.errors, r.changes.filter((c) => c.error === undefined).map((c) => c.kind));
    const summary: SyncRunSummary = { profile: r.profile, startedAt: r.startedAt, seconds: r.seconds, outcome, listed: r.listed, outOfScope: r.outOfScope, counts: r.counts, ...(r.brake && { brake: r.brake }), errors: r.errors };
    const interval = this.deps.profiles().find((p) => p.ID === r.profile)?.Sync?.IntervalSeconds ?? 0;
    await this.keep(summary, interval);
  }

  private key(id: string): string {
    return `${this.deps.keyPrefix}sync-last:${id}`;
  }

  private async keep(summary: SyncRunSummary, interval: number): Promise<void> {
    this.last.set(summary.profile, summary);
    await this.deps.redis?.set(this.key(summary.profile), JSON.stringify(summary), 'EX', Math.max(LAST_TTL_S, 3 * interval)).catch((err: unknown) => this.deps.log.warn('could not keep the last sync run on Redis', { profile: summary.profile, reason: String(redact(err)) }));
  }

  private async readLast(id: string): Promise<SyncRunSummary | undefined> {
    const mine = this.last.get(id);
    if (!this.deps.redis) return mine;
    const raw = await this.deps.redis.get(this.key(id));
    let shared: SyncRunSummary | undefined;
    try {
      shared = raw ? (JSON.parse(raw) as SyncRunSummary) : undefined;
    } catch {
      // Not ours (written by hand?): as if no run were known there.
    }
    if (!shared) return mine;
    return !mine || shared.startedAt >= mine.startedAt ? shared : mine;
  }
}
