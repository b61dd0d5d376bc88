/**
 * ADProvider: username and password checked against LDAP / Active Directory (docs/tib-behaviour.md §4.2), on ldapts.
 * With LDAPAdminUser the service account searches for exactly one entry and the user's own DN is bound
 * with the password; without it the DN is built from LDAPUserDN and bound directly. Usernames are escaped,
 * blank passwords never reach a bind, connections are pooled, verified (LDAPS/StartTLS with a CA) and never
 * leaked, unknown users get the same answer as wrong passwords after a similar delay (ldap-timing.ts), and the
 * user id is the directory's spelling of the username (ldap-identity.ts).
 */
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { Request } from 'express';
import { InvalidCredentialsError, NoSuchObjectError, ResultCodeError, SizeLimitExceededError, type Client, type Entry } from 'ldapts';
import type { Identity } from '../../identity/identity.js';
import { clientIp, TrustedProxies } from '../../client-ip.js';
import { getLogger } from '../../log.js';
import { secondsSince, timeOutbound, observeOutbound } from '../../metrics.js';
import type { Profile } from '../../profiles/profile.js';
import { bruteForceGuard } from '../brute-force.js';
import { parseProviderConfig } from '../config.js';
import { readCredentials } from './credentials.js';
import type { LdapConfig } from './ldap-config.js';
import { fillDn, fillFilter, slugify } from './ldap-escape.js';
import { directoryEmail, directoryUsername, normalizeUsername, usernameAttributes } from './ldap-identity.js';
import { directoryFailure } from './ldap-errors.js';
import { LdapPool, type PooledClient } from './ldap-pool.js';
import { BindTiming } from './ldap-timing.js';
import { LOGIN_PAGE_HEADERS, renderLoginPage } from './login-page.js';
import { ProviderSetupError, type LoginFailure, type Provider, type ProviderDeps, type ProviderOutcome } from '../provider.js';

const SCOPES = ['base', 'one', 'sub'] as const;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A login the directory refused (wrong password, unknown or ambiguous user). Returned, not thrown: the
 * directory answered normally, so the pool keeps the connection.
 */
class Refused {
  constructor(
    readonly reason: string,
    /** How long to wait before answering (ldap-timing.ts), spent after the pooled connection is given back. */
    readonly delayMs = 0,
  ) {}
}

/** A bind the directory refused is an answer (ignored); anything else (socket, timeout) still throws. */
const ignoreRefusal = (err: unknown): void => {
  if (!(err instanceof ResultCodeError)) throw err;
};

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function tlsOptionsFor(cfg: LdapConfig, profileId: string): tls.ConnectionOptions | undefined {
  if (!cfg.LDAPUseSSL && !cfg.LDAPStartTLS) return undefined;
  let ca: Buffer | undefined;
  if (cfg.LDAPCAFile) {
    try {
      ca = fs.readFileSync(cfg.LDAPCAFile);
    } catch (err) {
      throw new ProviderSetupError(`ADProvider profile "${profileId}": cannot read LDAPCAFile ${cfg.LDAPCAFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
  // Certificate and host name are always verified (SNI only for a DNS name). The name is given explicitly:
  // for StartTLS on a socket dialled to an IP address, Node would check the certificate against "localhost".
  return {
    ca,
    servername: net.isIP(cfg.LDAPServer) ? undefined : cfg.LDAPServer,
    checkServerIdentity: (_host, cert) => tls.checkServerIdentity(cfg.LDAPServer, cert),
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
  };
}

function first(entry: Entry, attr: string): string {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attr.toLowerCase());
  const v = key ? entry[key] : undefined;
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined ? '' : one.toString();
}

function values(v: Entry[string]): string[] {
  return (Array.isArray(v) ? v : [v]).map((x) => x.toString());
}

export function createLdapProvider(profile: Profile, deps: ProviderDeps): Provider {
  const { config: cfg } = parseProviderConfig('ADProvider', profile.ProviderConfig);
  const log = getLogger('AD AUTH');
  const tlsOptions = tlsOptionsFor(cfg, profile.ID);
  const host = net.isIPv6(cfg.LDAPServer) ? `[${cfg.LDAPServer}]` : cfg.LDAPServer;
  const admin = cfg.LDAPAdminUser !== '';

  const bindAs = async (pc: PooledClient, dn: string, password: string) => {
    pc.boundAs = undefined;
    const started = process.hrtime.bigint();
    try {
      await pc.client.bind(dn, password);
    } catch (err) {
      // A refused password is the directory answering, not the directory failing.
      observeOutbound('ldap', 'bind', secondsSince(started), err instanceof InvalidCredentialsError);
      throw err;
    }
    observeOutbound('ldap', 'bind', secondsSince(started), true);
    pc.boundAs = dn;
  };
  const asServiceAccount = async (pc: PooledClient) => {
    if (pc.boundAs !== cfg.LDAPAdminUser) await bindAs(pc, cfg.LDAPAdminUser, cfg.LDAPAdminPassword);
  };

  const connection = {
    url: `${cfg.LDAPUseSSL ? 'ldaps' : 'ldap'}://${host}:${cfg.LDAPPort}`,
    tlsOptions,
    startTLS: cfg.LDAPStartTLS,
    connectTimeout: cfg.LDAPConnectTimeout,
    timeout: cfg.LDAPTimeout,
  };
  // With a service account, searches run on connections that stay bound as it and user binds on connections
  // of their own, so no login pays a bind back to the service account. LDAPPoolSize is shared: half (rounded
  // up) for searches, the rest (at least one) for binds. Direct binds search as the user: one pool.
  const searches = admin ? new LdapPool({ ...connection, max: Math.ceil(cfg.LDAPPoolSize / 2) }) : undefined;
  const binds = new LdapPool({ ...connection, max: admin ? Math.max(1, Math.floor(cfg.LDAPPoolSize / 2)) : cfg.LDAPPoolSize });
  const asService = <T>(fn: (client: Client) => Promise<T>): Promise<T> =>
    (searches as LdapPool).use(async (pc) => {
      await asServiceAccount(pc);
      return fn(pc.client);
    });
  if (!tlsOptions && !isLoopback(cfg.LDAPServer)) {
    log.warn(`profile "${profile.ID}": plain LDAP to ${cfg.LDAPServer}: passwords cross the network unencrypted; set LDAPStartTLS or LDAPUseSSL`);
  }
  // Binds that checked a password, timed: refusals that checked none wait as long (unknown users).
  const timing = new BindTiming({ maxMs: cfg.LDAPTimeout });
  const guard = bruteForceGuard(profile.ID, cfg.BruteForce, deps, log);
  const trustedProxies = new TrustedProxies(deps.config.TrustedProxies);
  const usernameAttrs = usernameAttributes(cfg.LDAPFilter);
  const groupAttr = profile.CustomUserGroupField || 'memberOf';
  const extraAttrs = [cfg.LDAPEmailAttribute, cfg.LDAPFirstNameAttribute, cfg.LDAPLastNameAttribute, groupAttr, ...usernameAttrs];
  // TIB asks for LDAPAttributes (all user attributes when empty); memberOf is operational, so name it.
  const attributes = cfg.LDAPAttributes.length > 0 ? [...new Set([...cfg.LDAPAttributes, ...extraAttrs])] : ['*', groupAttr];

  const search = async (client: Client, base: string, filter: string): Promise<Entry[]> => {
    try {
      const { searchEntries } = await timeOutbound('ldap', 'search', () =>
        client.search(base, { scope: SCOPES[cfg.LDAPSearchScope] ?? 'base', filter, attributes, derefAliases: 'always', sizeLimit: 2 }),
      );
      return searchEntries;
    } catch (err) {
      if (err instanceof SizeLimitExceededError) return [{ dn: '' }, { dn: '' }];
      if (err instanceof NoSuchObjectError) return [];
      throw err;
    }
  };

  const groupsOf = async (client: Client, username: string, dn: string): Promise<string[]> => {
    const filter = fillFilter(cfg.LDAPGroupFilter, username, dn);
    const { searchEntries } = await timeOutbound('ldap', 'group_search', () => client.search(cfg.LDAPGroupBaseDN, { scope: 'sub', filter, attributes: [cfg.LDAPGroupNameAttribute] }));
    return searchEntries.map((e) => first(e, cfg.LDAPGroupNameAttribute)).filter(Boolean);
  };

  /** `username` is the directory's spelling (directoryUsername), not what was typed. */
  const identityFrom = (entry: Entry, username: string, groups: string[] | undefined): Identity => {
    const raw: Record<string, unknown> = {};
    for (const [attr, v] of Object.entries(entry)) {
      if (attr === 'dn') continue;
      const multi = attr.toLowerCase() === groupAttr.toLowerCase() || attr.toLowerCase() === 'memberof';
      raw[attr] = multi ? values(v) : (values(v)[0] ?? '');
    }
    if (groups) raw[groupAttr] = groups;
    const { email, rule: emailRule } = directoryEmail(first(entry, cfg.LDAPEmailAttribute), username, profile.OrgID);
    const firstName = first(entry, cfg.LDAPFirstNameAttribute);
    const lastName = first(entry, cfg.LDAPLastNameAttribute);
    return {
      userId: cfg.SlugifyUserName ? slugify(username) : username,
      email,
      ...(emailRule ? { emailRule } : {}),
      displayName: [firstName, lastName].filter(Boolean).join(' '),
      firstName,
      lastName,
      raw,
      provider: 'ADProvider',
    };
  };

  /**
   * The user's own bind: true when accepted, false when refused as invalid. Timed when the directory surely
   * checked the password: an accepted bind, or a refused one for an entry the search found (`dnExists`).
   */
  const userBind = async (pc: PooledClient, dn: string, password: string, dnExists: boolean): Promise<boolean> => {
    const started = performance.now();
    let accepted = true;
    try {
      await bindAs(pc, dn, password);
    } catch (err) {
      if (!(err instanceof InvalidCredentialsError)) throw err;
      accepted = false;
    }
    if (accepted || dnExists) timing.record(performance.now() - started);
    return accepted;
  };

  /** One entry for this user, their password verified, or why not. Throws only when the directory fails. */
  const authenticate = async (username: string, password: string): Promise<Identity | Refused> => {
    if (admin) {
      const found = await asService((client) => search(client, cfg.LDAPBaseDN, fillFilter(cfg.LDAPFilter, username)));
      if (found.length !== 1) {
        // Spend a bind, as a wrong password does, then wait as long as a password check takes: the directory
        // refuses an unknown DN without hashing anything.
        const started = performance.now();
        await binds.use((pc) => bindAs(pc, `cn=${Date.now()}-no-such-user,${cfg.LDAPBaseDN}`, password).catch(ignoreRefusal));
        const reason = found.length === 0 ? 'no directory entry matches the username' : 'the filter matches several entries';
        return new Refused(reason, timing.padding(performance.now() - started));
      }
      const entry = found[0] as Entry;
      if (!(await binds.use((pc) => userBind(pc, entry.dn, password, true)))) return new Refused('wrong password');
      const name = directoryUsername(entry, usernameAttrs, username);
      const groups = cfg.LDAPGroupBaseDN ? await asService((client) => groupsOf(client, name, entry.dn)) : undefined;
      return identityFrom(entry, name, groups);
    }
    return binds.use(async (pc) => {
      const dn = fillDn(cfg.LDAPUserDN, username);
      const started = performance.now();
      if (!(await userBind(pc, dn, password, false))) {
        // Only a refusal that checked no password (no such DN) is fast: pad every refusal alike.
        return new Refused('bind refused (unknown user or wrong password)', timing.padding(performance.now() - started));
      }
      // Searched as the user, on the connection the user is bound on.
      const found = await search(pc.client, cfg.LDAPBaseDN || dn, cfg.LDAPFilter ? fillFilter(cfg.LDAPFilter, username) : '(objectClass=*)');
      if (found.length !== 1) return new Refused(found.length === 0 ? 'no directory entry matches the username' : 'the filter matches several entries');
      const entry = found[0] as Entry;
      const name = directoryUsername(entry, usernameAttrs, username);
      const groups = cfg.LDAPGroupBaseDN ? await groupsOf(pc.client, name, entry.dn) : undefined;
      return identityFrom(entry, name, groups);
    });
  };

  const fail = (req: Request, status: number, reason: string, username = '', outbound: Pick<LoginFailure, 'target' | 'hint'> = {}): ProviderOutcome => {
    const unavailable = status >= 500;
    const failure: LoginFailure = { reason, status, message: 'Login failed', ...outbound };
    if (req.accepts(['json', 'html']) === 'html') {
      const message = unavailable ? 'Sign-in is unavailable right now. Please try again later.' : 'Sign-in failed. Check your username and password.';
      failure.html = renderLoginPage({ title: profile.Name || 'Sign in', action: req.baseUrl + req.path, message, username });
      // The form again: as frame-proof as the first time it was served.
      failure.headers = LOGIN_PAGE_HEADERS;
    }
    return { kind: 'failure', failure };
  };

  const handle = async (req: Request): Promise<ProviderOutcome> => {
    if (cfg.LDAPAllowedOrigins.length > 0 && req.method === 'POST') {
      const origin = req.get('Origin');
      const own = `${req.protocol}://${req.get('host') ?? ''}`;
      if (origin && origin !== own && !cfg.LDAPAllowedOrigins.includes(origin)) return fail(req, 403, `form posted from an origin not in LDAPAllowedOrigins: ${origin}`);
    }
    const creds = readCredentials(req, cfg.GetAuthFromBAHeader);
    if (creds.kind === 'refused') return fail(req, 400, creds.reason);
    if (creds.kind === 'none') {
      if (cfg.GetAuthFromBAHeader) {
        return { kind: 'page', status: 401, html: 'Authentication required\n', headers: { 'WWW-Authenticate': `Basic realm="${profile.ID}", charset="UTF-8"` } };
      }
      if (req.method === 'GET' || req.method === 'HEAD') {
        return { kind: 'page', status: 200, html: renderLoginPage({ title: profile.Name || 'Sign in', action: req.baseUrl + req.path }), headers: LOGIN_PAGE_HEADERS };
      }
      return fail(req, 400, 'no username or password in the request');
    }
    const { password } = creds;
    // As the directory compares it: surrounding spaces are insignificant there (RFC 4518), Unicode composed.
    const username = normalizeUsername(creds.username);
    if (username === '') return fail(req, 401, 'blank username');
    // A simple bind with an empty password is an unauthenticated bind that servers accept (RFC 4513 5.1.2).
    if (password.trim() === '') return fail(req, 401, 'blank password refused before any bind', username);
    const admission = await guard.admit(username, clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'], trustedProxies));
    if (!admission.allowed) {
      // The directory is not asked; the answer is a wrong password's, after as long as a password check.
      await sleep(timing.padding(0));
      return fail(req, 401, admission.reason, username);
    }
    const { attempt } = admission;
    try {
      const result = await authenticate(username, password);
      if (result instanceof Refused) {
        await attempt.failed();
        // Waited out with the connection back in the pool: a flood of unknown users must not hold them.
        if (result.delayMs > 0) await sleep(result.delayMs);
        return fail(req, 401, result.reason, username);
      }
      await attempt.succeeded();
      return { kind: 'identity', identity: result };
    } catch (err) {
      // The directory could not judge the password: not a guess.
      await attempt.undecided();
      // Named with the directory it tried and, when the cause is typical, the setting to check.
      const d = directoryFailure(err, cfg);
      return fail(req, d.status, d.reason, username, { target: d.target, hint: d.hint });
    }
  };

  return {
    start: (req) => handle(req),
    // TIB answers any /auth/{id}/<anything> for LDAP; its README posts to /auth/{id}/callback.
    callback: (req) => handle(req),
    close: async () => {
      await Promise.all([binds.close(), searches?.close()]);
    },
  };
}
