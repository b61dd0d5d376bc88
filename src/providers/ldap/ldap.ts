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
import { InvalidCredentialsError, NoSuchObjectError, ResultCodeError, SizeLimitExceededError, type Client, type Entry } from 'ldapts';
import type { Identity } from '../../identity/identity.js';
import { getLogger } from '../../log.js';
import { secondsSince, timeOutbound, observeOutbound } from '../../metrics.js';
import type { LdapConfig } from './ldap-config.js';
import { fillDn, fillFilter } from './ldap-escape.js';
import { directoryUsername, entryIdentity, normalizeUsername, usernameAttributes, type TextEntry } from './ldap-identity.js';
import { directoryFailure } from './ldap-errors.js';
import { LdapPool, type PooledClient } from './ldap-pool.js';
import { BindTiming } from './ldap-timing.js';
import { listPeople, type PeopleOptions } from './people.js';
import type { ProviderProfile } from '../module.js';
import { passwordLogin, Refused, type Admit } from '../password-login.js';
import { ProviderSetupError, type Provider, type ProviderServices } from '../provider.js';

const SCOPES = ['base', 'one', 'sub'] as const;

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

/** What authenticate returns when the guard refused the attempt: passwordLogin answers with the lockout. */
const LOCKED = new Refused('locked out');

/** `people` takes a page size too (people.ts PeopleOptions), for tests. */
export function createLdapProvider({ profile, config: cfg }: ProviderProfile<LdapConfig>, services: ProviderServices): Provider & { people(opts?: PeopleOptions): Promise<Identity[]> } {
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
  const usernameAttrs = usernameAttributes(cfg.LDAPFilter);
  const groupAttr = profile.CustomUserGroupField || 'memberOf';
  const extraAttrs = [cfg.LDAPEmailAttribute, cfg.LDAPFirstNameAttribute, cfg.LDAPLastNameAttribute, groupAttr, ...usernameAttrs, ...(profile.CustomUserOrgField ? [profile.CustomUserOrgField] : [])];
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
    const text: TextEntry = { dn: entry.dn };
    for (const [attr, v] of Object.entries(entry)) if (attr !== 'dn') text[attr] = values(v);
    return entryIdentity(profile, cfg, text, username, groups);
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

  /**
   * One entry for this user, their password verified, or why not. Throws only when the directory fails. The
   * attempt is admitted under the entry's DN when the search found one (an alias such as mail or uid shares
   * the entry's counter), else under what was typed.
   */
  const authenticate = async (username: string, password: string, admit: Admit): Promise<Identity | Refused> => {
    if (admin) {
      const found = await asService((client) => search(client, cfg.LDAPBaseDN, fillFilter(cfg.LDAPFilter, username)));
      if (found.length !== 1) {
        if (!(await admit(`typed:${username}`))) return LOCKED;
        // Spend a bind, as a wrong password does, then wait as long as a password check takes: the directory
        // refuses an unknown DN without hashing anything.
        const started = performance.now();
        await binds.use((pc) => bindAs(pc, `cn=${Date.now()}-no-such-user,${cfg.LDAPBaseDN}`, password).catch(ignoreRefusal));
        const reason = found.length === 0 ? 'no directory entry matches the username' : 'the filter matches several entries';
        return new Refused(reason, timing.padding(performance.now() - started));
      }
      const entry = found[0] as Entry;
      if (!(await admit(`dn:${entry.dn}`))) return LOCKED;
      if (!(await binds.use((pc) => userBind(pc, entry.dn, password, true)))) return new Refused('wrong password');
      const name = directoryUsername(entry, usernameAttrs, username);
      const groups = cfg.LDAPGroupBaseDN ? await asService((client) => groupsOf(client, name, entry.dn)) : undefined;
      return identityFrom(entry, name, groups);
    }
    const dn = fillDn(cfg.LDAPUserDN, username);
    if (!(await admit(`dn:${dn}`))) return LOCKED;
    return binds.use(async (pc) => {
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

  const handle = passwordLogin({
    profile,
    fromBasicHeader: cfg.GetAuthFromBAHeader,
    allowedOrigins: cfg.LDAPAllowedOrigins,
    guard: services.bruteForceGuard(profile.ID, cfg.BruteForce, log),
    normalizeUsername,
    padding: () => timing.padding(0),
    authenticate,
    unavailable: (err) => directoryFailure(err, cfg),
  });

  // Directory sync (people.ts): on a connection of its own, so a long listing holds none of the logins'.
  const listingConnection = async <T>(fn: (client: Client) => Promise<T>): Promise<T> => {
    const own = new LdapPool({ ...connection, max: 1 });
    try {
      return await own.use(async (pc) => {
        await asServiceAccount(pc);
        return fn(pc.client);
      });
    } finally {
      await own.close();
    }
  };
  const people = (opts?: PeopleOptions) =>
    listPeople({ profileId: profile.ID, cfg, attributes, usernameAttrs, asServiceAccount: admin ? listingConnection : undefined, findForLogin: (client, typed) => search(client, cfg.LDAPBaseDN, fillFilter(cfg.LDAPFilter, typed)), groupsOf, identityFrom, log }, opts);

  return {
    people,
    start: (req) => handle(req),
    // TIB answers any /auth/{id}/<anything> for LDAP; its README posts to /auth/{id}/callback.
    callback: (req) => handle(req),
    close: async () => {
      await Promise.all([binds.close(), searches?.close()]);
    },
  };
}
