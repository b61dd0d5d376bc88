/**
 * The broker's failed logins, read off its own log, for the demo portal's failure page. A production
 * failure page never shows the reason (src/http/failure-page.ts: it is for the log); in the demo the person
 * reading the page is the operator. The broker logs each failure once (src/http/respond.ts, "login failed")
 * after its redaction (src/log.ts), so no secret, token or password reaches the page: the demo's secrets are
 * registered with it, and a password is never part of a reason.
 */
import { Writable } from 'node:stream';
import winston from 'winston';
import { rootLogger } from '../src/log.js';

export interface LoggedFailure {
  at: Date;
  profile: string;
  status: number;
  reason: string;
  /** The setting to check, when the broker knows the usual cause. */
  hint?: string;
}

/** A browser lands on the failure page a moment after the redirect; older failures are not this one. */
export const RECENT_MS = 5 * 60_000;

const text = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** Collects "login failed" entries from the broker's log while the demo runs; `latest()` is the last recent one. */
export function watchLoginFailures(now: () => Date = () => new Date()): { latest(): LoggedFailure | undefined } {
  let last: LoggedFailure | undefined;
  const sink = new Writable({
    objectMode: true,
    write(info: Record<string, unknown>, _enc, done) {
      const reason = text(info.reason);
      if (info.message === 'login failed' && reason) {
        const hint = text(info.hint);
        last = { at: now(), profile: text(info.profile) ?? '', status: typeof info.status === 'number' ? info.status : 0, reason, ...(hint && { hint }) };
      }
      done();
    },
  });
  // The failure is a WARN: with TYK_LOGLEVEL=error the broker logs none, and the page points to the log.
  const transport = new winston.transports.Stream({ stream: sink, level: 'warn' });
  rootLogger.add(transport);
  return { latest: () => (last && now().getTime() - last.at.getTime() <= RECENT_MS ? last : undefined) };
}
