/**
 * The IdP metadata of one profile, loaded once and kept: refreshed every IDPMetadataRefreshSeconds, a failed
 * refresh keeps the last good copy (WARN naming the host), a failed first load is retried with backoff and
 * the profile's logins fail cleanly meanwhile. TIB fetched it on every request. Bounded in size and time.
 */
import fs from 'node:fs/promises';
import type { Logger } from '../../log.js';
import type { IdpFetch } from '../social/idp-fetch.js';
import { MetadataError, parseIdpMetadata, type IdpMetadata } from './idp-metadata.js';
import type { MetadataSource } from './saml-config.js';

/** Metadata is a few KB; a federation aggregate can be a few MB. Beyond this is not metadata we load. */
export const MAX_METADATA_BYTES = 5 * 1024 * 1024;
const FETCH_TIMEOUT_MS = 10_000;
const FIRST_RETRY_MS = 5_000;
const MAX_RETRY_MS = 300_000;
/** A login finding no metadata may trigger a load, at most this often (clients cannot make us hammer the IdP). */
const ON_DEMAND_MIN_MS = 1_000;

export interface MetadataCacheOptions {
  source: MetadataSource;
  entityId?: string;
  refreshSeconds: number;
  fetch: IdpFetch;
  log: Logger;
  profileId: string;
  now?: () => number;
}

/**
 * The body, at most MAX_METADATA_BYTES, given up when `signal` aborts (the stream cancelled here too, so the
 * reason is ours): a host that drips its answer must not hold the load, and every login waiting on it.
 */
async function readBounded(res: Response, signal: AbortSignal): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > MAX_METADATA_BYTES) throw new MetadataError(`the metadata is larger than ${MAX_METADATA_BYTES} bytes`);
  if (!res.body) return '';
  const reader = res.body.getReader();
  const stop = () => void reader.cancel(signal.reason).catch(() => undefined);
  signal.addEventListener('abort', stop, { once: true });
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (signal.aborted) throw signal.reason;
      if (done) break;
      size += value.byteLength;
      if (size > MAX_METADATA_BYTES) {
        stop();
        throw new MetadataError(`the metadata is larger than ${MAX_METADATA_BYTES} bytes`);
      }
      chunks.push(value);
    }
  } finally {
    signal.removeEventListener('abort', stop);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export class MetadataCache {
  private good: IdpMetadata | undefined;
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private abort = new AbortController();
  private closed = false;
  private failures = 0;
  private lastAttempt = -Infinity;
  private readonly now: () => number;

  constructor(private readonly o: MetadataCacheOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Where the metadata comes from, for log lines (a host or a file, never a query string). */
  get where(): string {
    const s = this.o.source;
    return s.kind === 'file' ? `file ${s.path}` : `host ${new URL(s.url).host}`;
  }

  /** The first load, in the background after `delayMs`; a login before then loads it at once (see get). */
  start(delayMs = 0): void {
    this.schedule(delayMs);
  }

  /** The last good metadata (expired copies excluded); when there is none, one load is tried first. */
  async get(): Promise<IdpMetadata | undefined> {
    if (!this.usable() && !this.closed) {
      if (!this.inFlight && this.now() - this.lastAttempt >= ON_DEMAND_MIN_MS) void this.load();
      await this.inFlight;
    }
    return this.usable();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.abort.abort();
    await this.inFlight?.catch(() => undefined);
  }

  private usable(): IdpMetadata | undefined {
    const g = this.good;
    return g && (g.validUntil === undefined || g.validUntil > this.now()) ? g : undefined;
  }

  private load(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    this.lastAttempt = this.now();
    this.inFlight = this.fetchAndParse()
      .then((md) => {
        this.good = md;
        if (this.failures > 0) this.o.log.info(`profile "${this.o.profileId}": IdP metadata loaded from ${this.where} after ${this.failures} failed attempt(s)`);
        this.failures = 0;
        this.schedule(this.o.refreshSeconds * 1000);
      })
      .catch((err: unknown) => {
        if (this.closed) return;
        this.failures += 1;
        const reason = err instanceof Error ? err.message : String(err);
        const retry = this.good ? this.o.refreshSeconds * 1000 : Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (this.failures - 1));
        const kept = this.good ? 'keeping the last good copy' : "this profile's logins fail until it loads";
        this.o.log.warn(`profile "${this.o.profileId}": IdP metadata from ${this.where} could not be loaded (${reason}); ${kept}; retrying in ${Math.round(retry / 1000)} s`);
        this.schedule(retry);
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.load(), ms);
    this.timer.unref();
  }

  private async fetchAndParse(): Promise<IdpMetadata> {
    const s = this.o.source;
    let xml: string;
    if (s.kind === 'file') {
      const stat = await fs.stat(s.path);
      if (stat.size > MAX_METADATA_BYTES) throw new MetadataError(`the metadata is larger than ${MAX_METADATA_BYTES} bytes`);
      xml = await fs.readFile(s.path, 'utf8');
    } else {
      // Not AbortSignal.any([closed, AbortSignal.timeout()]): in Node 20 the signals it links are held weakly, and
      // once collected the abort never arrives (a dripping host held the load forever). Our own controller, held
      // by the timer and by close()'s listener.
      const deadline = new AbortController();
      const timer = setTimeout(() => deadline.abort(new MetadataError(`no complete answer within ${FETCH_TIMEOUT_MS / 1000} s`)), FETCH_TIMEOUT_MS);
      const onClose = () => deadline.abort(new MetadataError('closed'));
      this.abort.signal.addEventListener('abort', onClose, { once: true });
      try {
        const res = await this.o.fetch(s.url, { signal: deadline.signal, redirect: 'error', headers: { accept: 'application/samlmetadata+xml, application/xml, text/xml' } });
        if (res.status !== 200) {
          await res.body?.cancel().catch(() => undefined);
          throw new MetadataError(`HTTP ${res.status}`);
        }
        xml = await readBounded(res, deadline.signal);
      } finally {
        clearTimeout(timer);
        this.abort.signal.removeEventListener('abort', onClose);
      }
    }
    return parseIdpMetadata(xml, { entityId: this.o.entityId || undefined, now: this.now() });
  }
}
