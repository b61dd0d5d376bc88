/**
 * The Passport adapter: runs any Passport strategy (https://www.passportjs.org/packages/) as a Provider, so an
 * embedding application can add a provider from Passport's catalogue (registered as a ProviderModule whose `create` returns it: docs/embedding.md).
 *
 * Each login gets its own copy of the strategy (`Object.create`) with the five actions bound to that
 * request, exactly as passport's own middleware/authenticate.js augments it, and the strategy gets the real
 * Express request. We do not call `Authenticator.authenticate` itself: its `redirect` writes the 302 to the
 * response on its own (no outcome for the broker, no `Cache-Control: no-store`), and an action a buggy
 * strategy calls after our timeout would then write to a finished response and throw. Here the first
 * action settles the login, later ones are ignored, and no session is ever used:
 *   success -> the provider's `mapUser` -> an Identity (or a failure reason)
 *   fail    -> a failure with the strategy's status (default 401)
 *   redirect-> the redirect outcome (always a 302 with no-store)
 *   error   -> a failure (500), the error logged, never echoed to the client
 *   pass    -> a failure (there is no session to restore)
 *   nothing -> a failure after `timeoutMs`.
 *
 * The built-in providers do not use it on purpose: openid-client (certified, PKCE, JAR/JARM, DPoP) and the
 * social presets do more than passport-openidconnect and the per-site OAuth strategies, and ldapts with our
 * own filter escaping, pooling and brute-force hook does more than passport-ldapauth (docs/architecture.md, Dependencies).
 */
import type { Request } from 'express';
import type { Strategy } from 'passport';
import type { Identity } from '../../identity/identity.js';
import { getLogger, type Logger } from '../../log.js';
import type { LoginFailure, LoginRequest, Provider, ProviderOutcome } from '../provider.js';

/** Long enough for a strategy that calls its IdP (token exchange, userinfo); short enough not to pile up requests. */
export const DEFAULT_STRATEGY_TIMEOUT_MS = 15_000;

export interface PassportProviderOptions {
  /**
   * Turn what the strategy authenticated (`user`, and its `info`) into an Identity, or return a string: the
   * reason the login is refused (logged, never shown to the client). May be async; a throw is a failure.
   */
  mapUser(user: unknown, info: unknown): Identity | string | Promise<Identity | string>;
  /** Passed to `strategy.authenticate(req, options)` (e.g. `{ scope: [...] }`); `session` is always false. */
  authenticateOptions?: Record<string, unknown>;
  /** A strategy that calls none of its actions within this time fails the login (default 15 s). */
  timeoutMs?: number;
  /** Where errors and refusals are logged (default the "PASSPORT" logger). */
  log?: Logger;
  /** Called when the profile changes or the broker stops (e.g. to close the strategy's own connections). */
  close?(): Promise<void>;
}

/** The five actions authenticate.js binds onto a strategy; the one the strategy calls decides the login. */
interface StrategyActions {
  success(user: unknown, info?: unknown): void;
  fail(challenge?: unknown, status?: number): void;
  redirect(url: string, status?: number): void;
  pass(): void;
  error(err: unknown): void;
}

type Settled = { kind: 'user'; user: unknown; info: unknown } | { kind: 'done'; outcome: ProviderOutcome };

function failure(reason: string, status: number): ProviderOutcome {
  const f: LoginFailure = { reason, status, message: 'Login failed' };
  return { kind: 'failure', failure: f };
}

/** A fail() status the broker may answer with: a client or server error, else Passport's default 401. */
function failStatus(status: unknown): number {
  return typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599 ? status : 401;
}

/** A strategy's value as text for a log line; never throws (it runs inside the strategy's callbacks). */
function text(v: unknown): string {
  try {
    return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
  } catch {
    return '';
  }
}

/** For the log only: a challenge is a WWW-Authenticate value or `{ message }`, both written by the strategy. */
function describeChallenge(challenge: unknown): string {
  const t = typeof challenge === 'object' && challenge !== null && 'message' in challenge ? text(challenge.message) : text(challenge);
  return t ? `: ${JSON.stringify(t.slice(0, 200))}` : '';
}

/** Name, code and message: passport-oauth2's TokenError, for one, may have no message at all. */
function errorMessage(err: unknown): string {
  if (!(err instanceof Error)) return text(err).slice(0, 500) || 'unknown error';
  const code = 'code' in err ? text(err.code) : '';
  return [err.name, code, text(err.message)].filter((part) => part !== '').join(': ').slice(0, 500);
}

function isIdentity(v: unknown): v is Identity {
  if (!v || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  const strings = ['email', 'displayName', 'firstName', 'lastName', 'provider'].every((k) => typeof o[k] === 'string');
  return typeof o.userId === 'string' && o.userId !== '' && strings && !!o.raw && typeof o.raw === 'object';
}

/**
 * A base class for an embedder that writes its own strategy (a legacy SSO cookie, a custom check), with the
 * shape of Passport's: override `authenticate(req, options)` and call one of the five actions, which the
 * adapter binds for each login. Ours rather than passport's `Strategy`, so that the adapter needs the passport
 * package only for its types: it is an optional peer dependency (package.json), which the strategies an
 * embedder brings depend on anyway.
 */
export abstract class PassportStrategy implements Strategy {
  declare name?: string;
  declare success: StrategyActions['success'];
  declare fail: StrategyActions['fail'];
  declare redirect: StrategyActions['redirect'];
  declare pass: StrategyActions['pass'];
  declare error: StrategyActions['error'];
  abstract authenticate(req: Request, options?: unknown): unknown;
}

export function passportProvider(strategy: Strategy, opts: PassportProviderOptions): Provider {
  if (typeof strategy?.authenticate !== 'function') throw new TypeError('passportProvider: not a Passport strategy (it has no authenticate method)');
  const name = strategy.name || 'passport';
  const log = opts.log ?? getLogger('PASSPORT');
  const timeoutMs = opts.timeoutMs ?? DEFAULT_STRATEGY_TIMEOUT_MS;
  const options = { ...opts.authenticateOptions, session: false };

  /** Run the strategy once on this request; resolves with the first action it calls. */
  const runStrategy = (req: LoginRequest): Promise<Settled> =>
    new Promise<Settled>((resolve) => {
      let settled = false;
      const settle = (s: Settled) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(s);
      };
      const raised = (err: unknown) => {
        if (settled) return;
        log.error('Passport strategy raised an error', { strategy: name, path: req.path, error: errorMessage(err) });
        settle({ kind: 'done', outcome: failure(`strategy "${name}" raised an error: ${errorMessage(err)}`, 500) });
      };
      const timer = setTimeout(
        () => settle({ kind: 'done', outcome: failure(`strategy "${name}" did not answer within ${timeoutMs} ms (it called none of success, fail, redirect, pass, error)`, 504) }),
        timeoutMs,
      );
      const actions: StrategyActions = {
        success: (user, info) => settle({ kind: 'user', user, info }),
        fail: (challenge, status) => {
          // fail(401) is fail(status) in Passport.
          if (typeof challenge === 'number') [challenge, status] = [undefined, challenge];
          const code = failStatus(status);
          settle({ kind: 'done', outcome: failure(`strategy "${name}" refused the login (${code})${describeChallenge(challenge)}`, code) });
        },
        redirect: (url) => {
          if (typeof url === 'string' && url !== '') settle({ kind: 'done', outcome: { kind: 'redirect', url } });
          else raised(new Error('redirect() without a URL'));
        },
        pass: () => settle({ kind: 'done', outcome: failure(`strategy "${name}" passed without a decision (there is no session to restore)`, 401) }),
        error: raised,
      };
      const perRequest = Object.assign(Object.create(strategy) as Strategy, actions);
      try {
        // Some strategies are async and return a promise: its rejection is an error too, never unhandled.
        // The request Express parsed (the object the http layer received): what strategies are written for.
        const ret: unknown = perRequest.authenticate.call(perRequest as never, req.raw.req as Request, options);
        if (ret instanceof Promise) ret.catch(raised);
      } catch (err) {
        raised(err);
      }
    });

  const run = async (req: LoginRequest): Promise<ProviderOutcome> => {
    const s = await runStrategy(req);
    if (s.kind === 'done') return s.outcome;
    try {
      const mapped = await opts.mapUser(s.user, s.info);
      if (typeof mapped === 'string') return failure(`strategy "${name}": ${mapped}`, 401);
      if (!isIdentity(mapped)) return failure(`strategy "${name}": mapUser returned no Identity (a non-empty userId, strings email, displayName, firstName, lastName, provider, and raw)`, 500);
      return { kind: 'identity', identity: mapped };
    } catch (err) {
      log.error('mapping the Passport user failed', { strategy: name, error: errorMessage(err) });
      return failure(`strategy "${name}": mapUser failed: ${errorMessage(err)}`, 500);
    }
  };

  return {
    start: (req) => run(req),
    callback: (req) => run(req),
    close: async () => {
      await opts.close?.();
    },
  };
}
