/**
 * A SCIM push into the portal (issue 20, item 5): the people a SCIM request changed, through the sync engine's
 * targeted functions (src/sync/engine.ts reconcilePeople, deprovisionPerson), so a push, a scheduled run and a
 * login apply the same rules to a person. The SCIM store already holds the change when this runs: the answer
 * waits for the portal at most `budgetMs`; a portal that is down or slow is logged and the IdP still gets its
 * answer (it must not retry forever), and the next scheduled run with Source "scim" converges.
 * Each applied change is a `portal_account` audit event and counted in the tib_sync_* metrics as a run.
 */
import type { AuditLog } from '../../audit.js';
import type { Config } from '../../config/types.js';
import type { Identity } from '../../identity/identity.js';
import { redact, type Logger } from '../../log.js';
import { recordSyncRun } from '../../metrics.js';
import type { PortalServices } from '../../portal/services.js';
import type { Profile } from '../../profiles/profile.js';
import { tykTargetsOf } from '../../profiles/tyk-settings.js';
import type { TykApi } from '../../tyk/client.js';
import { deprovisionPerson, reconcilePeople, type PeopleDeps, type SyncReport } from '../engine.js';

export interface ScimPushDeps {
  config: Pick<Config, 'TykAPISettings'>;
  tyk: TykApi;
  portal?: PortalServices;
  audit?: AuditLog;
  log: Logger;
  /** How long a SCIM answer waits for the portal (default 5 s); the write goes on after it. */
  budgetMs?: number;
}

const DONE = { create: 'created', update: 'updated', deactivate: 'deactivated', delete: 'deleted' } as const;

export class ScimPush {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly deps: ScimPushDeps) {}

  /** Reconciles these people (and deactivates `leaving`); resolves when done or when the budget is spent. */
  people(profile: Profile, identities: readonly Identity[], leaving: readonly Identity[] = []): Promise<void> {
    if (identities.length === 0 && leaving.length === 0) return Promise.resolve();
    return this.run(profile, (d) => reconcilePeople(profile, d, identities, leaving));
  }

  /** Deprovisions one person at once (a SCIM DELETE: "delete" when Sync.Deprovision is "delete"). */
  remove(profile: Profile, identity: Identity): Promise<void> {
    return this.run(profile, async (d) => {
      const started = Date.now();
      const c = await deprovisionPerson(profile, d, identity, 'delete');
      const counts = { create: 0, update: 0, unchanged: 0, skipped: 0, deactivate: 0, delete: 0, kept: 0 };
      if (c) counts[c.kind === 'delete' ? 'delete' : 'deactivate']++;
      return { profile: profile.ID, dryRun: false, startedAt: new Date(started).toISOString(), seconds: (Date.now() - started) / 1000, listed: 1, outOfScope: 0, counts, changes: c ? [c] : [], errors: c?.error !== undefined ? 1 : 0 };
    });
  }

  /** Waits for the pushes still going on (the broker's stop). */
  async close(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  private run(profile: Profile, work: (d: PeopleDeps) => Promise<SyncReport>): Promise<void> {
    const { portal, log } = this.deps;
    const targets = tykTargetsOf(this.deps.config, profile);
    if (!portal || targets.PortalAPIConfig.Endpoint === '') {
      log.warn('SCIM push: TykAPISettings.PortalAPIConfig.Endpoint is not set; the change is kept for a sync run', { profile: profile.ID });
      return Promise.resolve();
    }
    const target = portal.target(this.deps.tyk.withSettings(targets), targets.PortalAPIConfig);
    const job = work({ target, links: portal.links, managed: portal.managed, log })
      .then((r) => this.report(r))
      .catch((err: unknown) => {
        log.error('SCIM push: the portal could not be brought in line; the next sync run will', { profile: profile.ID, reason: String(redact(err)) });
        recordSyncRun(profile.ID, 'failed', 0, 1, []);
      });
    this.inFlight.add(job);
    void job.finally(() => this.inFlight.delete(job));
    let timer: NodeJS.Timeout | undefined;
    const budget = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.deps.budgetMs ?? 5000);
      timer.unref();
    });
    return Promise.race([job, budget]).finally(() => clearTimeout(timer));
  }

  private report(r: SyncReport): void {
    for (const c of r.changes) {
      const kind = c.kind as keyof typeof DONE;
      if (!(kind in DONE)) continue;
      this.deps.audit?.portal({
        profile: r.profile,
        outcome: c.error === undefined ? DONE[kind] : 'error',
        ...(c.account !== undefined && { account: c.account }),
        ...(c.email !== undefined && { email: c.email }),
        ...(c.fields && { changes: c.fields.map((field) => ({ field, before: undefined, after: undefined })) }),
      });
      if (c.error !== undefined) this.deps.log.error('SCIM push: a portal change failed; the next sync run retries it', { profile: r.profile, kind: c.kind, reason: String(redact(c.error)) });
    }
    if (r.changes.length > 0) recordSyncRun(r.profile, 'ok', r.seconds, r.errors, r.changes.filter((c) => c.error === undefined).map((c) => c.kind));
  }
}
