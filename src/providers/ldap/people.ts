/**
 * The people of a directory sync (issue 20, `Sync.Source: "ldap"`): every entry this profile's login could
 * find, each as the login builds its identity. The service account searches LDAPBaseDN with LDAPFilter, its
 * *USERNAME* standing for any value (a presence or substring match, built on the parsed filter so the
 * operator's escaping stays intact), paged and bounded; each entry goes through the login's own username,
 * group and identity functions (ldap.ts, ldap-identity.ts), so a sync and a login cannot disagree.
 */
import { randomBytes } from 'node:crypto';
import {
  AndFilter,
  ApproximateFilter,
  EqualityFilter,
  ExtensibleFilter,
  FilterParser,
  GreaterThanEqualsFilter,
  LessThanEqualsFilter,
  NotFilter,
  OrFilter,
  PresenceFilter,
  SubstringFilter,
  type Client,
  type Entry,
  type Filter,
} from 'ldapts';
import type { Identity } from '../../identity/identity.js';
import type { Logger } from '../../log.js';
import type { LdapConfig } from './ldap-config.js';
import { fillFilter } from './ldap-escape.js';
import { directoryUsername, firstRdnValue, normalizeUsername } from './ldap-identity.js';

/** Entries asked for per page (RFC 2696 paged results). */
export const PAGE_SIZE = 500;
/** A listing stops with an error past this many entries: a filter that matches the whole directory, not people. */
export const MAX_PEOPLE = 100_000;

export interface PeopleOptions {
  signal?: AbortSignal;
  /** Entries per page; PAGE_SIZE unless given (tests use a small one). */
  pageSize?: number;
  /** Entries past which the listing stops with an error; MAX_PEOPLE unless given (tests). */
  maxEntries?: number;
}

/** What the listing borrows from the login (ldap.ts), so both run one code path. */
export interface PeopleSource {
  profileId: string;
  cfg: LdapConfig;
  /** The attributes the login asks for (the group attribute and CustomUserOrgField included). */
  attributes: string[];
  /** The attributes LDAPFilter compares with *USERNAME* (usernameAttributes). */
  usernameAttrs: string[];
  /** Runs `fn` on a connection bound as the service account; undefined when the profile has none. */
  asServiceAccount?: <T>(fn: (client: Client) => Promise<T>) => Promise<T>;
  /** The login's own search for what a person typed (LDAPFilter under LDAPBaseDN, at most two entries). */
  findForLogin(client: Client, typed: string): Promise<Entry[]>;
  /** The login's group search (LDAPGroupBaseDN), for directories without memberOf. */
  groupsOf(client: Client, username: string, dn: string): Promise<string[]>;
  /** The login's entry -> Identity. */
  identityFrom(entry: Entry, username: string, groups: string[] | undefined): Identity;
  log: Logger;
}

/** A filter of LDAPFilter that *USERNAME* cannot be listed from (">=", "<=", "~=", an extensible match). */
export class UnlistableFilterError extends Error {}

/**
 * The filter value split at the placeholder, as a filter: "(uid=*USERNAME*)" gives "(uid=*)",
 * "(mail=*USERNAME*@example.com)" gives "(mail=*@example.com)". `segments` are the value's parts between
 * the wildcards the filter already had (a substring filter), unescaped, as the parser gives them.
 */
function anyValue(attribute: string, segments: string[], token: string): Filter {
  // Each placeholder becomes a wildcard between the parts around it: the first part is "initial", the last "final".
  const flat = segments.flatMap((s) => s.split(token));
  const initial = flat[0] ?? '';
  const final = flat.length > 1 ? (flat[flat.length - 1] ?? '') : '';
  const any = flat.slice(1, -1).filter((s) => s !== '');
  if (initial === '' && final === '' && any.length === 0) return new PresenceFilter({ attribute });
  return new SubstringFilter({ attribute, initial, any, final });
}

/** LDAPFilter with *USERNAME* matching any value (and *USERDN* empty, as in the login's search). */
export function anyUsernameFilter(template: string): Filter {
  // A token that cannot occur in the filter marks where the username went, after the parser unescaped the rest.
  let token: string;
  do token = `anyusername${randomBytes(8).toString('hex')}`;
  while (template.toLowerCase().includes(token));
  const has = (v: string | Buffer) => (typeof v === 'string' ? v : v.toString('utf8')).includes(token);
  const walk = (f: Filter): Filter => {
    if (f instanceof AndFilter) return new AndFilter({ filters: f.filters.map(walk) });
    if (f instanceof OrFilter) return new OrFilter({ filters: f.filters.map(walk) });
    if (f instanceof NotFilter) return new NotFilter({ filter: walk(f.filter) });
    if (f instanceof EqualityFilter && has(f.value)) return anyValue(f.attribute, [f.value.toString()], token);
    // A substring filter's segments are separated by wildcards already; an empty initial or final keeps its place.
    if (f instanceof SubstringFilter && [f.initial, ...f.any, f.final].some(has)) return anyValue(f.attribute, [f.initial, ...f.any, f.final], token);
    const compared = f instanceof GreaterThanEqualsFilter || f instanceof LessThanEqualsFilter || f instanceof ApproximateFilter || f instanceof ExtensibleFilter;
    if (compared && has(f.value)) {
      throw new UnlistableFilterError(`LDAPFilter compares *USERNAME* in ${f.toString().split(token).join('*USERNAME*')}: only equality or substring matches can be listed for a directory sync`);
    }
    return f;
  };
  return walk(FilterParser.parseString(fillFilter(template, token)));
}

/** Lookups per entry (the login's search, the group search) in flight at once on the listing's one connection. */
const LOOKUPS_IN_FLIGHT = 8;

/** `fn` over `items` with at most `limit` calls pending, results in the items' order; the first error stops it. */
async function inParallel<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * What the person would type, when the filter compares an attribute with *USERNAME* and the entry has it:
 * the entry's RDN value when that attribute holds it (uid=alice), else its first value. Undefined when the
 * username goes elsewhere (inside a value: "(mail=*USERNAME*@example.org)"): what is typed is then unknown.
 */
function typedFor(entry: Entry, attrs: string[]): string | undefined {
  const rdn = normalizeUsername(firstRdnValue(entry.dn));
  for (const attr of attrs) {
    const key = Object.keys(entry).find((k) => k.toLowerCase() === attr.toLowerCase() && k !== 'dn');
    const v = key === undefined ? undefined : entry[key];
    const list = (v === undefined ? [] : Array.isArray(v) ? v : [v]).map((x) => normalizeUsername(x.toString())).filter(Boolean);
    if (list.length === 0) continue;
    return list.find((x) => x.toLowerCase() === rdn.toLowerCase()) ?? (list[0] as string);
  }
  return undefined;
}

/**
 * Every person the login could let in, as the login builds them. Skipped, as the login would refuse them:
 * an entry without a username (no filter attribute, no RDN value), an entry that the login's own search for
 * that username does not find alone (another entry shares the name, or the filter's other branches match
 * more; checked when the filter compares an attribute with *USERNAME*, so what a person types is known), and every entry whose user id another shares (SlugifyUserName: the SSO key would be ambiguous).
 * Password checks are the login's: an entry whose password cannot bind (locked) is still listed.
 */
export async function listPeople(src: PeopleSource, opts: PeopleOptions = {}): Promise<Identity[]> {
  const { cfg } = src;
  const { signal } = opts;
  if (!src.asServiceAccount) {
    throw new Error(
      `profile "${src.profileId}": a directory sync needs a search account: set ProviderConfig.LDAPAdminUser and LDAPAdminPassword (with LDAPUserDN alone each login binds as its user, so the broker has no account to list the directory with)`,
    );
  }
  const filter = anyUsernameFilter(cfg.LDAPFilter);
  const scope = (['base', 'one', 'sub'] as const)[cfg.LDAPSearchScope] ?? 'base';
  const max = Math.min(opts.maxEntries ?? MAX_PEOPLE, MAX_PEOPLE);
  const pageSize = Math.max(1, Math.min(opts.pageSize ?? PAGE_SIZE, max));
  return src.asServiceAccount(async (client) => {
    const entries: Entry[] = [];
    signal?.throwIfAborted();
    for await (const page of client.searchPaginated(cfg.LDAPBaseDN, { scope, filter, attributes: src.attributes, paged: { pageSize } })) {
      signal?.throwIfAborted();
      entries.push(...page.searchEntries);
      if (entries.length > max) {
        throw new Error(`profile "${src.profileId}": LDAPFilter under LDAPBaseDN matches more than ${max} entries; narrow the filter or the base DN for a directory sync`);
      }
    }
    // Per entry, as its login: the search for what the person types must find this entry alone, then groups.
    const found = await inParallel(entries, LOOKUPS_IN_FLIGHT, async (entry) => {
      signal?.throwIfAborted();
      const typed = typedFor(entry, src.usernameAttrs);
      // With one value (the usual case) directoryUsername gives it whatever is typed; else the RDN's value.
      const username = directoryUsername(entry, src.usernameAttrs, typed ?? normalizeUsername(firstRdnValue(entry.dn)));
      if (username === '') return 'unnamed';
      if (typed !== undefined) {
        const hits = await src.findForLogin(client, typed);
        if (hits.length !== 1 || hits[0]?.dn !== entry.dn) return 'refused';
      }
      const groups = cfg.LDAPGroupBaseDN ? await src.groupsOf(client, username, entry.dn) : undefined;
      return src.identityFrom(entry, username, groups);
    });
    const people = found.filter((x): x is Identity => typeof x !== 'string');
    const unnamed = found.filter((x) => x === 'unnamed').length;
    const refused = found.filter((x) => x === 'refused').length;
    const counts = new Map<string, number>();
    for (const p of people) counts.set(p.userId, (counts.get(p.userId) ?? 0) + 1);
    const shared = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
    if (shared.length > 0) {
      src.log.warn(`profile "${src.profileId}": directory sync leaves out entries that share a user id (SlugifyUserName makes their SSO keys one): ${shared.slice(0, 20).join(', ')}${shared.length > 20 ? ', ...' : ''}`);
    }
    const listed = people.filter((p) => counts.get(p.userId) === 1);
    const left = [unnamed > 0 && `${unnamed} without a username`, refused > 0 && `${refused} the login's search does not find alone`].filter(Boolean);
    src.log.info(`profile "${src.profileId}": directory sync listed ${listed.length} people from ${entries.length} entries${left.length > 0 ? ` (left out: ${left.join(', ')})` : ''}`);
    return listed;
  });
}
