/**
 * The audit log: one JSON line per login that ended and per admin-API change, on a winston logger of its
 * own (never the application log's transports or level), appended to a file created with mode 0600 or
 * written to stdout. Events are built from a closed set of fields, so no secret can reach them: the user is
 * a keyed hash (HMAC-SHA-256), never the ID itself, and failure reasons are the bounded metric reasons.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import winston from 'winston';
import type { AuditSettings } from './config/types.js';
import { currentRequestContext } from './log.js';
import type { FailureReason, LoginOutcome } from './metrics.js';

export interface LoginAuditEvent {
  profile: string;
  provider: string;
  outcome: LoginOutcome;
  reason?: FailureReason;
  /** The teams the action was given (successful logins). */
  teams?: readonly string[];
  /** The Tyk organisation a Dashboard login went to when the profile chooses it from a claim (CustomUserOrgField). */
  org?: string;
  /** The user ID the provider established; only its keyed hash is written. Absent before that. */
  userId?: string;
  /** The client address (X-Forwarded-For only from TrustedProxies). */
  client: string;
  /** The request's ID (src/http/request-id.ts); by default the one of the request being served. */
  requestId?: string;
}

export type AdminOperation = 'create' | 'update' | 'delete' | 'save';

export interface AdminAuditEvent {
  operation: AdminOperation;
  /** The profile ID from the request path ("" for save). */
  profile: string;
  outcome: 'success' | 'failure';
  status: number;
  client: string;
  /** The request's ID (src/http/request-id.ts); by default the one of the request being served. */
  requestId?: string;
}

/** A change the broker made (or would not make) to a portal account in "idp" mode (src/portal/reconcile.ts). */
export interface PortalAuditEvent {
  profile: string;
  /** deactivated and deleted: directory sync's deprovisions (src/sync/runner.ts). */
  outcome: 'created' | 'updated' | 'unchanged' | 'refused' | 'error' | 'deactivated' | 'deleted';
  /** The portal account's ID (the portal's own number). */
  account?: number;
  /** Field by field; Email, First and Last values are written as keyed hashes. */
  changes?: ReadonlyArray<{ field: string; before: unknown; after: unknown }>;
  /** Mapped teams left out, with why. */
  dropped?: ReadonlyArray<{ ref: string; why: string }>;
  /** The person's user ID; only its keyed hash is written. */
  userId?: string;
  /** The person's email (directory sync knows no user ID for a deprovision); only its keyed hash is written. */
  email?: string;
  requestId?: string;
}

/** One directory sync run (src/sync/runner.ts): counts only, never the people. */
export interface SyncAuditEvent {
  profile: string;
  dryRun: boolean;
  outcome: 'ok' | 'braked' | 'failed';
  /** Planned changes by kind (src/sync/plan.ts planCounts). */
  counts?: Readonly<Record<string, number>>;
  listed?: number;
  outOfScope?: number;
  errors: number;
  seconds: number;
  /** Why a failed run failed (secrets masked by the runner). */
  reason?: string;
  /** The admin API request that ran it; none for a scheduled run. */
  requestId?: string;
}

/** A logout that ended (docs/logout.md): browser (rp), back-channel or IdP-initiated; the user ID only hashed. */
export interface LogoutAuditEvent {
  profile: string;
  kind: 'rp' | 'backchannel' | 'idp';
  /** ok; refused (a bad IdP answer or request, a return_to not allowed); error (the broker's own failure). */
  outcome: 'ok' | 'refused' | 'error';
  /** Why it was refused or failed (never a token). */
  reason?: string;
  /** The user whose login ended, when the broker knew it. */
  userId?: string;
  /** Logins dropped (a back-channel or IdP-initiated logout may end several). */
  sessions?: number;
  client?: string;
  requestId?: string;
}

export interface AuditLog {
  login(e: LoginAuditEvent): void;
  logout(e: LogoutAuditEvent): void;
  admin(e: AdminAuditEvent): void;
  portal(e: PortalAuditEvent): void;
  sync(e: SyncAuditEvent): void;
  close(): Promise<void>;
}

/** The audit log when Audit.Enabled is false: nothing is written. */
export const noAudit: AuditLog = {
  login() {},
  logout() {},
  admin() {},
  portal() {},
  sync() {},
  close: () => Promise.resolve(),
};

/** The portal account fields written only as keyed hashes (portal_account events). */
const PERSONAL = new Set(['Email', 'First', 'Last']);

/** A request path is client data: long IDs are cut so one request cannot write an unbounded line. */
const MAX_FIELD = 200;
const cut = (s: string) => (s.length > MAX_FIELD ? `${s.slice(0, MAX_FIELD)}…` : s);

/** Unauthenticated admin refusals (wrong or no secret: 401; throttled: 429) are aggregated per client over this window. */
const REFUSAL_WINDOW_MS = 60_000;
/** Clients aggregated at once; beyond that they share one entry, so memory stays bounded whatever the addresses. */
const MAX_REFUSAL_CLIENTS = 1000;
const isRefusal = (e: AdminAuditEvent) => e.status === 401 || e.status === 429;

/** The HMAC key: Audit.Key as given, or one derived from the session secret for this purpose only. */
export function auditKey(settings: Pick<AuditSettings, 'Key'>, sessionSecret: string): Buffer {
  if (settings.Key !== '') return Buffer.from(settings.Key, 'utf8');
  return Buffer.from(hkdfSync('sha256', sessionSecret, '', 'identity-broker audit user-id hash', 32));
}

/** `hmac-sha256:<hex>`: the same user gives the same value under one key, and the ID cannot be read back. */
export function hashUserId(key: Buffer, userId: string): string {
  return `hmac-sha256:${createHmac('sha256', key).update(userId, 'utf8').digest('hex')}`;
}

/** Opens the audit log; the file (if any) is created, or narrowed, to mode 0600 before the first line. */
export function createAuditLog(settings: AuditSettings, sessionSecret: string, stdout: Writable = process.stdout, refusalWindowMs = REFUSAL_WINDOW_MS): AuditLog {
  if (!settings.Enabled) return noAudit;
  const key = auditKey(settings, sessionSecret);
  let stream: Writable;
  let ownStream = false;
  if (settings.Path === '') stream = stdout;
  else {
    const file = path.resolve(settings.Path);
    fs.closeSync(fs.openSync(file, 'a', 0o600));
    fs.chmodSync(file, 0o600);
    stream = fs.createWriteStream(file, { flags: 'a', mode: 0o600 });
    ownStream = true;
  }
  const logger = winston.createLogger({
    level: 'info',
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.Stream({ stream })],
  });
  let closed = false;
  const write = (event: Record<string, unknown>) => {
    if (!closed) logger.info('audit', event);
  };
  // The request ID joins an event to the application log's lines of the same request (docs/operations.md).
  const requestIdOf = (e: { requestId?: string }) => {
    const id = e.requestId ?? currentRequestContext()?.request_id;
    return id === undefined ? {} : { request_id: id };
  };
  const adminFields = (e: AdminAuditEvent) => ({ event: 'admin', operation: e.operation, profile: cut(e.profile), outcome: e.outcome, status: e.status, client: e.client });
  const adminEvent = (e: AdminAuditEvent) => ({ ...adminFields(e), ...requestIdOf(e) });
  /**
   * Anyone can send refused calls, so they must not fill the log (issue 17: 5000 DELETEs, 5000 lines): the
   * first refusal of a client in a window is written, the others counted and written as one event with
   * `count` when the window ends (an unref'd timer; close() writes what is pending), as the application
   * log's failedAuthLogger does in src/http/admin-api.ts.
   */
  const refusals = new Map<string, { last: AdminAuditEvent; count: number; timer: NodeJS.Timeout }>();
  const endWindow = (client: string) => {
    const r = refusals.get(client);
    if (!r) return;
    clearTimeout(r.timer);
    refusals.delete(client);
    // Many requests in one event: no single request ID (the first one's event carried its own).
    if (r.count > 0) write({ ...adminFields({ ...r.last, client }), count: r.count });
  };
  const refused = (e: AdminAuditEvent) => {
    const client = refusals.has(e.client) || refusals.size < MAX_REFUSAL_CLIENTS ? e.client : 'other addresses';
    const open = refusals.get(client);
    if (open) {
      open.last = e;
      open.count++;
      return;
    }
    write(adminEvent({ ...e, client }));
    const timer = setTimeout(() => endWindow(client), refusalWindowMs);
    timer.unref();
    refusals.set(client, { last: e, count: 0, timer });
  };
  return {
    login(e) {
      write({
        event: 'login',
        profile: e.profile,
        provider: e.provider,
        outcome: e.outcome,
        ...(e.outcome === 'failure' ? { reason: e.reason ?? 'internal' } : {}),
        teams: [...(e.teams ?? [])],
        ...(e.org !== undefined && { org: e.org }),
        ...(e.userId !== undefined && e.userId !== '' ? { user: hashUserId(key, e.userId) } : {}),
        client: e.client,
        ...requestIdOf(e),
      });
    },
    logout(e) {
      write({
        event: 'logout',
        profile: e.profile,
        kind: e.kind,
        outcome: e.outcome,
        ...(e.reason !== undefined && { reason: cut(e.reason) }),
        ...(e.userId ? { user: hashUserId(key, e.userId) } : {}),
        ...(e.sessions !== undefined && { sessions: e.sessions }),
        ...(e.client !== undefined && { client: e.client }),
        ...requestIdOf(e),
      });
    },
    portal(e) {
      // Personal data (the email and the names) as keyed hashes: a change is seen, the values cannot be read back.
      const clear = (field: string, v: unknown) => (PERSONAL.has(field) && typeof v === 'string' && v !== '' ? hashUserId(key, field === 'Email' ? v.toLowerCase() : v) : v);
      write({
        event: 'portal_account',
        profile: e.profile,
        outcome: e.outcome,
        ...(e.account !== undefined && { account: e.account }),
        ...(e.userId ? { user: hashUserId(key, e.userId) } : {}),
        ...(e.email ? { email: hashUserId(key, e.email.toLowerCase()) } : {}),
        ...(e.changes && { changes: e.changes.map((c) => ({ field: c.field, before: clear(c.field, c.before), after: clear(c.field, c.after) })) }),
        ...(e.dropped && e.dropped.length > 0 && { dropped: e.dropped.map((d) => ({ team: cut(d.ref), why: d.why })) }),
        ...requestIdOf(e),
      });
    },
    sync(e) {
      write({
        event: 'sync_run',
        profile: e.profile,
        dryRun: e.dryRun,
        outcome: e.outcome,
        ...(e.counts && { counts: { ...e.counts } }),
        ...(e.listed !== undefined && { listed: e.listed }),
        ...(e.outOfScope !== undefined && { outOfScope: e.outOfScope }),
        errors: e.errors,
        seconds: e.seconds,
        ...(e.reason !== undefined && { reason: cut(e.reason) }),
        ...requestIdOf(e),
      });
    },
    admin(e) {
      if (isRefusal(e)) refused(e);
      else write(adminEvent(e));
    },
    close() {
      if (closed) return Promise.resolve();
      for (const client of [...refusals.keys()]) endWindow(client);
      closed = true;
      if (!ownStream) return Promise.resolve();
      return new Promise<void>((resolve) => {
        stream.once('finish', resolve);
        stream.once('error', () => resolve());
        // The transport writes synchronously as lines pass; once the logger has drained, end the file.
        logger.once('finish', () => stream.end());
        logger.end();
      });
    },
  };
}
