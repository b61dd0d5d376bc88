/**
 * The portal services, built once per broker (src/services.ts): one admin API client and team directory per
 * portal (base URL and token), shared by every profile that names it, and the links of SSO keys to accounts.
 */
import { createHash } from 'node:crypto';
import type { PortalApiSettings } from '../config/types.js';
import type { Logger } from '../log.js';
import { recordPortalReconcile } from '../metrics.js';
import type { PortalLinks } from '../state/portal-links.js';
import type { ManagedAccounts } from '../state/portal-managed.js';
import type { TykApi } from '../tyk/client.js';
import { portalApiBase } from '../tyk/client.js';
import { createPortalApi } from './api.js';
import { PortalDirectory } from './directory.js';
import type { PortalTarget } from './reconcile.js';

/** What a reconcile did, for the audit log (the broker's own hook) and metrics. */
export interface PortalReport {
  profile: string;
  outcome: 'created' | 'updated' | 'unchanged' | 'refused' | 'error';
  account?: number;
  changes?: ReadonlyArray<{ field: string; before: unknown; after: unknown }>;
  dropped?: ReadonlyArray<{ ref: string; why: string }>;
  userId?: string;
}

export interface PortalServices {
  links: PortalLinks;
  /** The accounts each profile manages (directory sync deprovisions only these). */
  managed: ManagedAccounts;
  /** The portal these settings name, through this client (a profile's own targets may differ from tib.conf's). */
  target(tyk: TykApi, settings: PortalApiSettings): PortalTarget;
  report(r: PortalReport): void;
  /** Profiles changed: every directory reads the portal again at its next use. */
  invalidate(): void;
}

export function createPortalServices(opts: { links: PortalLinks; managed: ManagedAccounts; log: Logger; onReport?: (r: PortalReport) => void }): PortalServices {
  const targets = new Map<string, PortalTarget>();
  return {
    links: opts.links,
    managed: opts.managed,
    target(tyk, settings) {
      // One per portal and token (the token only as a hash in the key).
      const key = `${portalApiBase(settings)}\n${createHash('sha256').update(settings.AdminToken).digest('hex')}`;
      let t = targets.get(key);
      if (!t) {
        const api = createPortalApi(tyk.withSettings({ DashboardConfig: { Endpoint: '', Port: '', AdminSecret: '' }, GatewayConfig: { Endpoint: '', Port: '', AdminSecret: '' }, PortalAPIConfig: settings }));
        t = { api, directory: new PortalDirectory(api, opts.log), portal: portalApiBase(settings) };
        targets.set(key, t);
      }
      return t;
    },
    report(r) {
      recordPortalReconcile(r.profile, r.outcome);
      opts.onReport?.(r);
    },
    invalidate() {
      for (const t of targets.values()) t.directory.invalidate();
    },
  };
}
