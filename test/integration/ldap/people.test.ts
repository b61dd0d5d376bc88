/**
 * ADProvider's people() for directory sync (issue 20, `Sync.Source: "ldap"`, src/providers/ldap/people.ts)
 * against the real slapd: every person the profile's login could find, each identity equal to the one that
 * person's own login builds (memberOf groups, or the group search for posixGroups), paged, the operator's
 * filter escaping kept, and a clear error without a search account.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client } from 'ldapts';
import { defaultConfig } from '../../../src/config/load.js';
import type { Identity } from '../../../src/identity/identity.js';
import type { Profile } from '../../../src/profiles/profile.js';
import { createLdapProvider } from '../../../src/providers/ldap/ldap.js';
import type { LdapConfig } from '../../../src/providers/ldap/ldap-config.js';
import { anyUsernameFilter, UnlistableFilterError } from '../../../src/providers/ldap/people.js';
import type { LoginRequest } from '../../../src/providers/provider.js';
import { ProviderRegistry } from '../../../src/providers/registry.js';
import { createServices, type Services } from '../../../src/services.js';
import { GROUPS, ldapProfile, ROOT_DN, ROOT_PW, SPECIAL_UID, startSlapd, SUFFIX, TEAMS, USERS, type Slapd } from '../../support/slapd.js';

let slapd: Slapd;
let services: Services;
const registry = new ProviderRegistry();
const providers: Array<ReturnType<typeof createLdapProvider>> = [];

function provider(id: string, over: Record<string, unknown> = {}, providerConfig: Record<string, unknown> = {}) {
  const raw = ldapProfile(slapd, { id, returnUrl: 'http://127.0.0.1:1/tap', credential: 'unused', profile: { CustomUserGroupField: 'memberOf', ...over }, providerConfig: { LDAPTimeout: 3000, LDAPConnectTimeout: 1000, ...providerConfig } });
  const built = registry.providerProfile(raw as unknown as Profile);
  const p = createLdapProvider({ profile: built.profile, config: built.config as LdapConfig }, services.provider);
  providers.push(p);
  return p;
}

/** A form post of the login, straight to the provider. */
function post(username: string, password: string): LoginRequest {
  return {
    method: 'POST',
    url: '/auth/p/ldap',
    path: '/auth/p/ldap',
    query: {},
    body: { username, password },
    header: () => undefined,
    is: (type) => type === 'application/x-www-form-urlencoded',
    wantsHtml: false,
    clientIp: '127.0.0.1',
    ownOrigin: 'http://127.0.0.1',
    setCookie: () => undefined,
    raw: {} as LoginRequest['raw'],
  };
}

async function login(p: ReturnType<typeof createLdapProvider>, username: string, password: string): Promise<Identity> {
  const out = await p.start(post(username, password), 'ldap');
  if (out.kind !== 'identity') throw new Error(`login of ${username} failed: ${JSON.stringify(out)}`);
  return out.identity;
}

/** Search operations slapd has completed (cn=Monitor), this query's own included. */
async function searches(): Promise<number> {
  const client = new Client({ url: slapd.url });
  try {
    await client.bind(ROOT_DN, ROOT_PW);
    const { searchEntries } = await client.search('cn=Search,cn=Operations,cn=Monitor', { scope: 'base', attributes: ['monitorOpCompleted'] });
    return Number(searchEntries[0]?.monitorOpCompleted);
  } finally {
    await client.unbind();
  }
}

const byId = (people: Identity[]) => new Map(people.map((p) => [p.userId, p]));
const people = USERS.filter((u) => u.ou === undefined);
const group = (cn: string) => `cn=${cn},ou=groups,${SUFFIX}`;

beforeAll(async () => {
  slapd = await startSlapd();
  services = await createServices({ ...defaultConfig(), BruteForce: { ...defaultConfig().BruteForce, UsernameLimit: 0, IPLimit: 0 } }, { connect: false });
}, 60_000);
afterAll(async () => {
  await Promise.all(providers.map((p) => p.close()));
  await services?.close();
  await slapd?.stop();
});

describe('people() with a service account', () => {
  it('lists every person under ou=people, each identity equal to what their own login builds', async () => {
    const p = provider('svc');
    const listed = await p.people();
    expect(listed.map((i) => i.userId).sort()).toEqual(people.map((u) => u.uid).sort());
    const found = byId(listed);
    for (const u of people) {
      const person = found.get(u.uid) as Identity;
      expect(person.email).toBe(u.mail ?? `${u.uid}@org-1-ADProvider.com`);
      expect([person.firstName, person.lastName]).toEqual([u.givenName, u.sn]);
      const groups = Object.entries(GROUPS)
        .filter(([, members]) => members.includes(u.uid))
        .map(([cn]) => group(cn));
      expect([...((person.raw.memberOf as string[] | undefined) ?? [])].sort()).toEqual(groups.sort());
    }
    // The login's own identity, person by person (the locked account's password cannot bind).
    for (const u of people.filter((x) => x.uid !== 'locked')) expect(found.get(u.uid)).toEqual(await login(p, u.uid, u.password));
    expect(JSON.stringify(listed)).not.toMatch(/userPassword|-pass/);
  });

  it('pages: a page smaller than the population still returns everyone', async () => {
    const p = provider('paged');
    const all = await p.people();
    const before = await searches();
    const paged = await p.people({ pageSize: 2 });
    // One search request per page (slapd's own count): unpaged, it would be one.
    expect((await searches()) - before).toBeGreaterThanOrEqual(Math.ceil(people.length / 2));
    expect(paged).toEqual(all);
    expect(paged).toHaveLength(people.length);
  });

  it('stops with an error past the bound, and when its signal is aborted', async () => {
    const p = provider('bounded');
    await expect(p.people({ pageSize: 2, maxEntries: 4 })).rejects.toThrow(/more than 4 entries/);
    await expect(p.people({ signal: AbortSignal.abort() })).rejects.toThrow(/abort/i);
    // The connection of a failed listing is closed: the next listing works.
    expect(await p.people()).toHaveLength(people.length);
  });

  it('lists the contractors with their teams from the group search (posixGroups, no memberOf)', async () => {
    const p = provider('contractors', { CustomUserGroupField: 'teams' }, { LDAPBaseDN: `ou=contractors,${SUFFIX}`, LDAPGroupBaseDN: `ou=teams,${SUFFIX}`, LDAPGroupFilter: '(&(objectClass=posixGroup)(memberUid=*USERNAME*))' });
    const listed = await p.people();
    expect(listed.map((i) => i.userId)).toEqual(['erin']);
    const erin = listed[0] as Identity;
    expect([...(erin.raw.teams as string[])].sort()).toEqual(Object.keys(TEAMS).sort());
    expect(erin).toEqual(await login(p, 'erin', 'erin-pass'));
  });

  it('keeps the escaping of the rest of the filter, and lists a placeholder inside a value as a substring', async () => {
    // \2a is a literal "*": nobody's cn is "*", so the NOT keeps everyone; as a wildcard it would keep nobody.
    const escaped = provider('escaped', {}, { LDAPFilter: '(&(objectClass=inetOrgPerson)(!(cn=\\2a))(uid=*USERNAME*))' });
    expect((await escaped.people()).map((i) => i.userId).sort()).toEqual(people.map((u) => u.uid).sort());
    // "(mail=*USERNAME*@example.org)": everyone with a mail there (dave has none); the user id is the RDN's uid, as at login.
    const byMail = provider('by-mail', {}, { LDAPFilter: '(&(objectClass=inetOrgPerson)(mail=*USERNAME*@example.org))' });
    const listed = await byMail.people();
    expect(listed.map((i) => i.userId).sort()).toEqual(people.filter((u) => u.mail).map((u) => u.uid).sort());
    expect(byId(listed).get('alice')).toEqual(await login(byMail, 'alice', 'alice-pass'));
    expect(byId(listed).get('Zoë Müller')).toEqual(await login(byMail, 'zoe', 'zoe-pass'));
    expect(byId(listed).get(SPECIAL_UID)?.email).toBe('special@example.org');
  });

  it("leaves out the people the login's own search does not find alone", async () => {
    // Matches the user and bob (sn=Builder): every login but bob's finds two entries and is refused.
    const p = provider('ambiguous', {}, { LDAPFilter: '(&(objectClass=inetOrgPerson)(|(uid=*USERNAME*)(sn=Builder)))' });
    const listed = await p.people();
    expect(listed.map((i) => i.userId)).toEqual(['bob']);
    expect(listed[0]).toEqual(await login(p, 'bob', 'bob-pass'));
    expect((await p.start(post('alice', 'alice-pass'), 'ldap')).kind).toBe('failure');
  });

  it('turns only the placeholder into a wildcard, and refuses an ordering or approximate match on it', () => {
    expect(anyUsernameFilter('(&(objectClass=inetOrgPerson)(uid=*USERNAME*))').toString()).toBe('(&(objectClass=inetOrgPerson)(uid=*))');
    expect(anyUsernameFilter('(mail=*USERNAME*@example.org)').toString()).toBe('(mail=*@example.org)');
    expect(anyUsernameFilter('(|(uid=*USERNAME*)(cn=a\\2ab))').toString()).toBe('(|(uid=*)(cn=a\\2ab))');
    expect(() => anyUsernameFilter('(uid>=*USERNAME*)')).toThrow(UnlistableFilterError);
  });
});

describe('people() without a search account', () => {
  it('throws naming the setting to add', async () => {
    const p = provider('direct', {}, { LDAPAdminUser: undefined, LDAPAdminPassword: undefined, LDAPUserDN: `uid=*USERNAME*,ou=people,${SUFFIX}` });
    await expect(p.people()).rejects.toThrow(/LDAPAdminUser/);
  });
});
