/**
 * Okta's paging and rate limits, pure (src/sync/okta/client.ts calls them). Paging: the `Link` header (RFC 8288)
 * carries `rel="next"` with the `after` cursor; Okta sends it as one header with comma-joined links or as several
 * `Link` headers, so both are read. Rate limits: `X-Rate-Limit-Limit`, `-Remaining` and `-Reset` (UTC epoch
 * seconds) on every answer (developer.okta.com/docs/reference/rl-best-practices).
 */

/** Splits one `Link` value into its links: a comma inside `<...>` or a quoted string belongs to the link. */
function splitLinks(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inUri = false;
  let inQuote = false;
  for (const ch of value) {
    if (ch === '<' && !inQuote) inUri = true;
    else if (ch === '>' && !inQuote) inUri = false;
    else if (ch === '"' && !inUri) inQuote = !inQuote;
    if (ch === ',' && !inUri && !inQuote) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** The target of the `rel="next"` link among the `Link` header values, resolved against `base`; undefined when none. */
export function nextLink(values: string | readonly string[] | undefined, base: string): string | undefined {
  const all = values === undefined ? [] : typeof values === 'string' ? [values] : values;
  for (const link of all.flatMap(splitLinks)) {
    const m = /^\s*<([^>]*)>(.*)$/s.exec(link);
    if (!m) continue;
    for (const param of (m[2] ?? '').split(';').slice(1)) {
      const [name = '', ...rest] = param.split('=');
      if (name.trim().toLowerCase() !== 'rel') continue;
      // rel may list several types: `rel="next last"`.
      const rels = rest.join('=').trim().replace(/^"(.*)"$/s, '$1').toLowerCase().split(/\s+/);
      if (rels.includes('next')) return new URL(m[1] ?? '', base).toString();
    }
  }
  return undefined;
}

export interface RateLimit {
  limit?: number;
  remaining?: number;
  /** Epoch seconds. */
  reset?: number;
}

const num = (v: string | readonly string[] | undefined): number | undefined => {
  const s = Array.isArray(v) ? v[0] : v;
  if (typeof s !== 'string' || !/^\s*\d+\s*$/.test(s)) return undefined;
  return Number(s);
};

export function readRateLimit(headers: Record<string, string | string[] | undefined>): RateLimit {
  return { limit: num(headers['x-rate-limit-limit']), remaining: num(headers['x-rate-limit-remaining']), reset: num(headers['x-rate-limit-reset']) };
}

/** The longest a run waits for a rate-limit window, once; Okta's windows are one minute. */
export const MAX_RATE_WAIT_MS = 60_000;
/** Below this share of the window's limit the client waits for the reset before its next call. */
export const LOW_SHARE = 0.1;

/**
 * How long to wait before the next call, in ms: after a 429 until Reset (1 s past it, for clock skew; a second
 * when Reset is missing or past), before any call when Remaining fell to a low share of Limit (0 otherwise);
 * never more than MAX_RATE_WAIT_MS (a 429 then retries and, if refused again, fails the run).
 */
export function rateWait(rl: RateLimit, nowMs: number, throttled: boolean): number {
  const untilReset = rl.reset === undefined ? undefined : rl.reset * 1000 - nowMs + 1000;
  if (throttled) return Math.min(MAX_RATE_WAIT_MS, untilReset !== undefined && untilReset > 0 ? untilReset : 1000);
  if (rl.limit === undefined || rl.remaining === undefined || untilReset === undefined || untilReset <= 0) return 0;
  if (rl.remaining > Math.floor(rl.limit * LOW_SHARE)) return 0;
  return Math.min(MAX_RATE_WAIT_MS, untilReset);
}

/** Okta's error body `{errorCode, errorSummary, errorLink, errorId, errorCauses}` as one line; undefined for another shape. */
export function oktaErrorText(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Record<string, unknown>;
  if (typeof b.errorCode !== 'string' && typeof b.errorSummary !== 'string') return undefined;
  const causes = Array.isArray(b.errorCauses)
    ? b.errorCauses.map((c) => (typeof c === 'object' && c !== null && typeof (c as { errorSummary?: unknown }).errorSummary === 'string' ? (c as { errorSummary: string }).errorSummary : undefined)).filter((c): c is string => c !== undefined)
    : [];
  const head = [b.errorCode, b.errorSummary].filter((x): x is string => typeof x === 'string').join(' ');
  return causes.length > 0 ? `${head} (${causes.join('; ')})` : head;
}
