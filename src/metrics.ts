/**
 * Prometheus metrics on prom-client, in a registry of our own (not prom-client's global one, so an
 * embedding application's metrics and ours never collide). One registry per process: the outbound
 * clients (directory, IdP, Tyk, Redis) call `observeOutbound` without a broker handle.
 *
 * Every label is bounded: profile IDs (bounded by the profile count), provider types, a small enum of
 * failure reasons, fixed targets and short operation names. Never a user, an IP or any client value.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const metricsRegistry = new Registry();

export type OutboundTarget = 'ldap' | 'idp' | 'tyk' | 'upstream' | 'redis';

/** Why a login failed, as a closed set (the label's values stay few whatever the failure text says). */
export const FAILURE_REASONS = [
  'bad_credentials',
  'locked_out',
  'rate_limited',
  'bad_request',
  'state_invalid',
  'idp_error',
  'directory_error',
  'upstream_error',
  'unavailable',
  'identity_incomplete',
  'constraint',
  'tyk_error',
  'internal',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

export type LoginOutcome = 'success' | 'failure';

const logins = new Counter({
  name: 'tib_logins_total',
  help: 'Logins that ended, by profile, provider, outcome and (for failures) a bounded reason.',
  labelNames: ['profile', 'provider', 'outcome', 'reason'] as const,
  registers: [metricsRegistry],
});

const providerStep = new Histogram({
  name: 'tib_provider_step_seconds',
  help: "Duration of the provider's step of a login (directory bind, IdP callback, upstream call).",
  labelNames: ['profile', 'provider', 'outcome'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [metricsRegistry],
});

const outbound = new Histogram({
  name: 'tib_outbound_request_seconds',
  help: 'Duration of each outbound call, by target (ldap, idp, tyk, upstream, redis), operation and outcome.',
  labelNames: ['target', 'operation', 'outcome'] as const,
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [metricsRegistry],
});

const outboundErrors = new Counter({
  name: 'tib_outbound_errors_total',
  help: 'Outbound calls that failed, by target and operation.',
  labelNames: ['target', 'operation'] as const,
  registers: [metricsRegistry],
});

const reloads = new Counter({
  name: 'tib_profile_reloads_total',
  help: 'Profile reloads (file re-read, SIGHUP, Redis change) by result.',
  labelNames: ['result'] as const,
  registers: [metricsRegistry],
});

const lockouts = new Counter({
  name: 'tib_lockouts_total',
  help: 'Lockouts started by the brute-force guard (a username or a client address crossed its limit), by profile and counter.',
  labelNames: ['profile', 'by'] as const,
  registers: [metricsRegistry],
});

const TARGETS: ReadonlySet<string> = new Set<OutboundTarget>(['ldap', 'idp', 'tyk', 'upstream', 'redis']);
/** Operation names are code-chosen, but a caller passing a path must not grow the series without bound. */
const OPERATION = /^[A-Za-z0-9_./:-]{1,48}$/;
const MAX_OPERATIONS_PER_TARGET = 32;
const seenOperations = new Map<string, Set<string>>();

function boundedOperation(target: string, operation: string): string {
  if (!OPERATION.test(operation)) return 'other';
  let seen = seenOperations.get(target);
  if (!seen) seenOperations.set(target, (seen = new Set()));
  if (seen.has(operation)) return operation;
  if (seen.size >= MAX_OPERATIONS_PER_TARGET) return 'other';
  seen.add(operation);
  return operation;
}

/** Record one outbound call: its duration and, when it failed, an error for its target. */
export function observeOutbound(target: OutboundTarget, operation: string, seconds: number, ok: boolean): void {
  if (!TARGETS.has(target) || !Number.isFinite(seconds) || seconds < 0) return;
  const op = boundedOperation(target, operation);
  outbound.observe({ target, operation: op, outcome: ok ? 'ok' : 'error' }, seconds);
  if (!ok) outboundErrors.inc({ target, operation: op });
}

/** Time `work` as one outbound call (ok unless it throws); returns or rethrows what `work` does. */
export async function timeOutbound<T>(target: OutboundTarget, operation: string, work: () => Promise<T>): Promise<T> {
  const start = process.hrtime.bigint();
  let ok = false;
  try {
    const result = await work();
    ok = true;
    return result;
  } finally {
    observeOutbound(target, operation, Number(process.hrtime.bigint() - start) / 1e9, ok);
  }
}

/** Seconds elapsed since `start` (a `process.hrtime.bigint()` reading). */
export function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Record a login that ended; `reason` only for failures. */
export function recordLogin(profile: string, provider: string, outcome: LoginOutcome, reason?: FailureReason): void {
  logins.inc({ profile, provider, outcome, reason: outcome === 'success' ? '' : (reason ?? 'internal') });
}

export function observeProviderStep(profile: string, provider: string, seconds: number, ok: boolean): void {
  if (!Number.isFinite(seconds) || seconds < 0) return;
  providerStep.observe({ profile, provider, outcome: ok ? 'ok' : 'error' }, seconds);
}

export function recordReload(ok: boolean): void {
  reloads.inc({ result: ok ? 'success' : 'failure' });
}

const logouts = new Counter({
  name: 'tib_logouts_total',
  help: 'Logouts that ended (docs/logout.md), by profile, kind (rp: the browser at /auth/{id}/logout; backchannel; idp: IdP-initiated) and outcome (ok, refused, error).',
  labelNames: ['profile', 'kind', 'outcome'] as const,
  registers: [metricsRegistry],
});

export function recordLogout(profile: string, kind: 'rp' | 'backchannel' | 'idp', outcome: 'ok' | 'refused' | 'error'): void {
  logouts.inc({ profile, kind, outcome });
}

const portalReconciles = new Counter({
  name: 'tib_portal_reconciles_total',
  help: 'Portal accounts reconciled at login ("idp" membership), by profile and outcome: created, updated, unchanged, refused, error.',
  labelNames: ['profile', 'outcome'] as const,
  registers: [metricsRegistry],
});

export function recordPortalReconcile(profile: string, outcome: 'created' | 'updated' | 'unchanged' | 'refused' | 'error'): void {
  portalReconciles.inc({ profile, outcome });
}

const syncRuns = new Counter({
  name: 'tib_sync_runs_total',
  help: 'Directory sync runs (not dry runs) by profile and outcome: ok, braked (the safety brake held deprovisions back), failed.',
  labelNames: ['profile', 'outcome'] as const,
  registers: [metricsRegistry],
});
const syncChanges = new Counter({
  name: 'tib_sync_changes_total',
  help: 'Portal account changes a directory sync applied, by profile and kind: create, update, deactivate, delete.',
  labelNames: ['profile', 'kind'] as const,
  registers: [metricsRegistry],
});
const syncDuration = new Histogram({
  name: 'tib_sync_duration_seconds',
  help: 'Duration of directory sync runs (not dry runs), by profile.',
  labelNames: ['profile'] as const,
  buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 1800],
  registers: [metricsRegistry],
});
const syncErrors = new Counter({
  name: 'tib_sync_errors_total',
  help: 'Directory sync failures, by profile: each change that failed, and each run that failed as a whole.',
  labelNames: ['profile'] as const,
  registers: [metricsRegistry],
});
const SYNC_KINDS: ReadonlySet<string> = new Set(['create', 'update', 'deactivate', 'delete']);

/** One sync run: its outcome, duration, errors and the kinds of the changes it applied (others are not counted). */
export function recordSyncRun(profile: string, outcome: 'ok' | 'braked' | 'failed', seconds: number, errors: number, applied: readonly string[]): void {
  syncRuns.inc({ profile, outcome });
  syncDuration.observe({ profile }, seconds);
  if (errors > 0) syncErrors.inc({ profile }, errors);
  for (const kind of applied) if (SYNC_KINDS.has(kind)) syncChanges.inc({ profile, kind });
}

export function recordLockout(profile: string, by: 'pair' | 'username' | 'ip'): void {
  lockouts.inc({ profile, by });
}

/** What `GET /version` answers and `tib_build_info` labels: no secret, nothing a client sent. */
export interface BuildInfo {
  version: string;
  /** The git commit the build came from, when known (build-info.json beside package.json, or the checkout's .git). */
  commit?: string;
  node: string;
}

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const readText = (file: string): string | undefined => {
  try {
    return fs.readFileSync(`${packageRoot}${file}`, 'utf8').trim();
  } catch {
    return undefined;
  }
};
const SHA = /^[0-9a-f]{40}$/;

/** The commit: build-info.json's (written by an image or CI build), else HEAD of a source checkout (npm start). */
function buildCommit(): string | undefined {
  const file = readText('build-info.json');
  if (file !== undefined) {
    try {
      const commit = (JSON.parse(file) as { commit?: unknown }).commit;
      if (typeof commit === 'string' && SHA.test(commit)) return commit;
    } catch {
      // a broken file names no commit
    }
  }
  const head = readText('.git/HEAD');
  if (head === undefined || SHA.test(head)) return head;
  const ref = /^ref: (refs\/[\w./-]+)$/.exec(head)?.[1];
  if (!ref) return undefined;
  const loose = readText(`.git/${ref}`);
  if (loose !== undefined && SHA.test(loose)) return loose;
  return readText('.git/packed-refs')
    ?.split('\n')
    .map((l) => l.split(' '))
    .find(([sha, name]) => name === ref && SHA.test(sha ?? ''))?.[0];
}

let buildInfoValue: BuildInfo | undefined;
/** Read once: package.json's version, the commit, the Node version. */
export function buildInfo(): BuildInfo {
  if (!buildInfoValue) {
    const pkg = JSON.parse(readText('package.json') ?? '{}') as { version?: unknown };
    const commit = buildCommit();
    buildInfoValue = { version: typeof pkg.version === 'string' ? pkg.version : 'unknown', ...(commit ? { commit } : {}), node: process.version };
  }
  return buildInfoValue;
}

// Prometheus's build_info convention (as Go's and Keycloak's exporters): value 1, the build in its labels.
new Gauge({
  name: 'tib_build_info',
  help: 'The running build: version, git commit (empty when unknown) and Node.js version; always 1.',
  labelNames: ['version', 'commit', 'node'] as const,
  registers: [metricsRegistry],
  collect() {
    const b = buildInfo();
    this.set({ version: b.version, commit: b.commit ?? '', node: b.node }, 1);
  },
});

const httpRequests = new Counter({
  name: 'tib_http_requests_total',
  help: 'HTTP requests answered, by route template (never the raw path), method and status class.',
  labelNames: ['route', 'method', 'status'] as const,
  registers: [metricsRegistry],
});

const httpDuration = new Histogram({
  name: 'tib_http_request_duration_seconds',
  help: 'Time from the request reaching the router to its answer being sent, by route template, method and status class.',
  labelNames: ['route', 'method', 'status'] as const,
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [metricsRegistry],
});

/** The methods counted by name; any other (a client may send any token) is `other`. */
const HTTP_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);
/** The label of a request no route matched (a 404), whatever its path. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Record one answered request; `route` is a route template chosen by code (or UNMATCHED_ROUTE), never a client's path. */
export function recordHttpRequest(route: string, method: string, status: number, seconds: number): void {
  const labels = { route, method: HTTP_METHODS.has(method) ? method : 'other', status: status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'other' };
  httpRequests.inc(labels);
  if (Number.isFinite(seconds) && seconds >= 0) httpDuration.observe(labels, seconds);
}

let processMetrics = false;
/** Process metrics (CPU, memory, event-loop lag, handles) on our registry; once per process. */
export function enableProcessMetrics(): void {
  if (processMetrics) return;
  processMetrics = true;
  // Read now, at the start: a checkout pulled later must not change what this process reports as its commit.
  buildInfo();
  collectDefaultMetrics({ register: metricsRegistry });
}

/** The Prometheus text exposition of every metric, and its content type. */
export async function metricsText(): Promise<{ contentType: string; body: string }> {
  return { contentType: metricsRegistry.contentType, body: await metricsRegistry.metrics() };
}
