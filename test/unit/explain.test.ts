/**
 * explain: for claims or LDAP attributes, the email, user id, constraint outcome and teams a profile gives,
 * each with its rule; and the login pipeline deciding from that same explanation (logged at debug).
 */
import { describe, expect, it } from '@jest/globals';
import type { ActionInput } from '../../src/actions/action.js';
import { formatExplanation } from '../../src/cli/explain.js';
import { explainIdentity, type Explanation } from '../../src/identity/explain.js';
import { getLogger } from '../../src/log.js';
import { completeLogin } from '../../src/login/complete.js';
import { explainClaims as explainWith } from '../../src/login/explain.js';
import { ClaimsError } from '../../src/providers/module.js';
import { builtinProviders } from '../../src/providers/registry.js';
import type { Profile } from '../../src/profiles/profile.js';
import { validateProfile } from '../../src/profiles/validate.js';
import { captureLogs } from '../support/logs.js';
import { FIRST } from '../support/rules.js';

const DEVS = 'cn=devs,ou=groups,dc=example,dc=org';
const OPS = 'cn=ops,ou=groups,dc=example,dc=org';

function profile(raw: Record<string, unknown>): Profile {
  const v = validateProfile(raw, FIRST);
  if (!v.profile) throw new Error(JSON.stringify(v.problems));
  return v.profile;
}

const ldapProfile = (over: Record<string, unknown> = {}) =>
  profile({
    ID: 'ldap-dev',
    ActionType: 'GenerateOrLoginDeveloperProfile',
    ProviderName: 'ADProvider',
    OrgID: 'org1',
    ReturnURL: 'http://portal.example.com/sso',
    IdentityHandlerConfig: { DashboardCredential: 'dash-credential-value' },
    ProviderConfig: {
      LDAPServer: 'ldap.example.com',
      LDAPPort: '389',
      LDAPUserDN: 'uid=*USERNAME*,ou=people,dc=example,dc=org',
      LDAPBaseDN: 'ou=people,dc=example,dc=org',
      LDAPFilter: '(uid=*USERNAME*)',
      LDAPEmailAttribute: 'mail',
      LDAPFirstNameAttribute: 'givenName',
      LDAPLastNameAttribute: 'sn',
    },
    CustomUserGroupField: 'memberOf',
    UserGroupMapping: { [DEVS]: 'team-devs', [OPS]: 'team-ops' },
    DefaultUserGroupID: 'team-readers',
    ...over,
  });

const oidcProfile = (over: Record<string, unknown> = {}) =>
  profile({
    ID: 'oidc-admin',
    ActionType: 'GenerateOrLoginUserProfile',
    ProviderName: 'SocialProvider',
    ReturnURL: 'http://dash.example.com/tap',
    IdentityHandlerConfig: { DashboardCredential: 'dash-credential-value' },
    ProviderConfig: {
      CallbackBaseURL: 'http://tib.example.com',
      UseProviders: [{ Name: 'openid-connect', Key: 'client', Secret: 'client-secret-value', DiscoverURL: 'https://idp.example.com/.well-known/openid-configuration' }],
    },
    CustomUserGroupField: 'groups',
    UserGroupSeparator: ',',
    UserGroupMapping: { devs: 'dev-group', admins: 'admin-group' },
    DefaultUserGroupID: 'viewer-group',
    ...over,
  });

const alice = { dn: 'uid=alice,ou=people,dc=example,dc=org', uid: 'alice', mail: 'alice@example.org', givenName: 'Alice', sn: 'Liddell', memberOf: [OPS, 'cn=staff,ou=groups,dc=example,dc=org', DEVS] };
const explainClaims = (p: Profile, claims: unknown, username?: string) => explainWith(builtinProviders, p, claims, username);
/** What the profile's provider module builds from claims: the function its logins use. */
const identityFromClaims = (p: Profile, claims: Record<string, unknown>, username = '') => builtinProviders.identityFromClaims(p, claims, username);
const allowed = (x: Explanation) => {
  if (x.outcome !== 'allowed') throw new Error(`refused: ${x.failure.reason}`);
  return x;
};

describe('an LDAP-shaped identity', () => {
  it('matched groups: each team names the directory groups that gave it, in directory order', () => {
    const x = allowed(explainClaims(ldapProfile(), alice));
    expect(x.provider).toBe('ADProvider');
    expect(x.email).toEqual({ value: 'alice@example.org', rule: "the provider's email" });
    expect(x.userId).toEqual({ value: 'alice', rule: "the provider's user id" });
    expect(x.displayName).toBe('Alice Liddell');
    expect(x.groups).toEqual({ value: alice.memberOf, rule: 'CustomUserGroupField "memberOf": a list' });
    expect(x.teams).toEqual([
      { team: 'team-ops', groups: [OPS], rule: `UserGroupMapping: "${OPS}"` },
      { team: 'team-devs', groups: [DEVS], rule: `UserGroupMapping: "${DEVS}"` },
    ]);
    expect(x.constraints).toEqual({ Domain: { want: '', passed: true, rule: 'no domain constraint' }, Group: { want: '', passed: true, rule: 'no group constraint' } });
  });

  it('the default team when no directory group is mapped, and TIB\'s made-up address when the entry has no mail', () => {
    const x = allowed(explainClaims(ldapProfile(), { dn: 'uid=bob,ou=people,dc=example,dc=org', uid: 'bob', memberOf: ['cn=staff,ou=groups,dc=example,dc=org'] }));
    expect(x.teams).toEqual([{ team: 'team-readers', groups: [], rule: 'DefaultUserGroupID (no IdP group is in UserGroupMapping)' }]);
    expect(x.email).toEqual({ value: 'bob@org1-ADProvider.com', rule: "ADProvider's made-up address <username>@<OrgID>-ADProvider.com, as TIB (no LDAPEmailAttribute value)" });
    const none = allowed(explainClaims(ldapProfile(), { dn: 'uid=carol,ou=people,dc=example,dc=org', uid: 'carol', mail: 'carol@example.org' }));
    expect(none.groups).toEqual({ value: undefined, rule: 'CustomUserGroupField "memberOf": no such claim' });
    expect(none.teams).toEqual([{ team: 'team-readers', groups: [], rule: 'DefaultUserGroupID (no IdP groups)' }]);
  });

  it('the user id in the directory\'s spelling, whatever was typed; Custom*Field rules named', () => {
    expect(allowed(explainClaims(ldapProfile(), alice, ' ALICE ')).userId?.value).toBe('alice');
    const x = allowed(explainClaims(ldapProfile({ CustomUserIDField: 'employeeNumber', CustomEmailField: 'otherMail' }), { ...alice, employeeNumber: 'E-42', otherMail: 'a.liddell@example.net' }));
    expect(x.userId).toEqual({ value: 'E-42', rule: 'CustomUserIDField "employeeNumber"' });
    expect(x.email).toEqual({ value: 'a.liddell@example.net', rule: 'CustomEmailField "otherMail"' });
  });

  it('a group constraint the user fails: refused at constraints, with the pipeline\'s reason', () => {
    const x = explainClaims(ldapProfile({ ProviderConstraints: { Domain: '', Group: 'cn=admins,ou=groups,dc=example,dc=org' } }), alice);
    expect(x.outcome).toBe('refused');
    if (x.outcome !== 'refused') return;
    expect(x.failure).toEqual({ stage: 'constraints', reason: 'constraint failed: user is not in the required group cn=admins,ou=groups,dc=example,dc=org' });
    expect(x.constraints?.Group.passed).toBe(false);
    expect(x.teams).toBeUndefined();
  });

  it('SlugifyUserName: the user id is the slug a real login sends, by the provider\'s own function', () => {
    const base = ldapProfile().ProviderConfig as Record<string, unknown>;
    const zoe = { dn: 'uid=Zoë Smith,ou=people,dc=example,dc=org', uid: 'Zoë Smith', mail: 'zoe@example.org' };
    const x = allowed(explainClaims(ldapProfile({ ProviderConfig: { ...base, SlugifyUserName: true } }), zoe));
    expect(x.identity.userId).toBe('zoe-smith');
    expect(x.userId?.value).toBe('zoe-smith');
    // Without it, the directory's spelling.
    expect(allowed(explainClaims(ldapProfile(), zoe)).userId?.value).toBe('Zoë Smith');
  });

  it('attributes that are not strings are refused, naming the attribute', () => {
    expect(() => identityFromClaims(ldapProfile(), { ...alice, uidNumber: 1001 })).toThrow(new ClaimsError('LDAP attribute "uidNumber" is a number, expected a string or a list of strings'));
    expect(() => explainClaims(ldapProfile(), ['not', 'an', 'object'])).toThrow(new ClaimsError('the claims must be a JSON object, got an array'));
  });
});

describe('an OIDC-shaped identity', () => {
  const claims = { sub: 'u-123', email: 'dana@example.com', given_name: 'Dana', family_name: 'Scully', groups: 'admins,devs,auditors' };

  it('separator split: the string claim is split on UserGroupSeparator and each match is named', () => {
    const x = allowed(explainClaims(oidcProfile(), claims));
    expect(x.provider).toBe('openid-connect');
    expect(x.groups).toEqual({ value: ['admins', 'devs', 'auditors'], rule: 'CustomUserGroupField "groups": a string split on UserGroupSeparator ","' });
    expect(x.teams).toEqual([
      { team: 'admin-group', groups: ['admins'], rule: 'UserGroupMapping: "admins"' },
      { team: 'dev-group', groups: ['devs'], rule: 'UserGroupMapping: "devs"' },
    ]);
    expect(x.userId).toEqual({ value: 'u-123', rule: "the provider's user id" });
  });

  it('an empty separator splits on a space, and two groups mapped to one team are both named', () => {
    const p = oidcProfile({ UserGroupSeparator: '', UserGroupMapping: { devs: 'dev-group', 'devs-contractors': 'dev-group' } });
    const x = allowed(explainClaims(p, { ...claims, groups: 'devs devs-contractors' }));
    expect(x.groups?.rule).toBe('CustomUserGroupField "groups": a string split on a space (UserGroupSeparator is empty)');
    expect(x.teams).toEqual([{ team: 'dev-group', groups: ['devs', 'devs-contractors'], rule: 'UserGroupMapping: "devs", "devs-contractors"' }]);
  });

  it('the default team when no group is mapped', () => {
    const x = allowed(explainClaims(oidcProfile(), { ...claims, groups: 'auditors' }));
    expect(x.teams).toEqual([{ team: 'viewer-group', groups: [], rule: 'DefaultUserGroupID (no IdP group is in UserGroupMapping)' }]);
  });

  it('a domain constraint: passed names the domain; failed refuses and the group is not checked', () => {
    const ok = allowed(explainClaims(oidcProfile({ ProviderConstraints: { Domain: 'example.com', Group: 'admins' } }), claims));
    expect(ok.constraints).toEqual({ Domain: { want: 'example.com', passed: true, rule: 'domain "example.com" matched' }, Group: { want: 'admins', passed: true, rule: 'group "admins" matched' } });
    const no = explainClaims(oidcProfile({ ProviderConstraints: { Domain: 'example.org', Group: 'admins' } }), claims);
    expect(no.outcome).toBe('refused');
    expect(no.constraints?.Domain).toEqual({ want: 'example.org', passed: false, rule: 'email domain example.com is not example.org' });
    expect(no.constraints?.Group.rule).toBe('not checked: the domain constraint failed');
  });

  it('no email: the fallback address is named; a CustomEmailField with nothing behind it refuses at email', () => {
    expect(allowed(explainClaims(oidcProfile(), { sub: 'x' })).email).toEqual({ value: 'ssoSession@ssoSession.com', rule: "TIB's fallback address (no email from the provider)" });
    const x = explainClaims(oidcProfile({ CustomEmailField: 'upn' }), { sub: 'x' });
    expect(x.outcome === 'refused' && x.failure).toEqual({ stage: 'email', reason: 'CustomEmailField "upn": the identity provider sent no such claim (and no email)' });
  });

  it('a group claim of the wrong type refuses at groups', () => {
    const x = explainClaims(oidcProfile(), { ...claims, groups: { admins: true } });
    expect(x.outcome === 'refused' && x.failure.stage).toBe('groups');
  });
});

describe('the login pipeline decides from the explanation', () => {
  const recording = () => {
    const calls: ActionInput[] = [];
    return { calls, action: { run: async (input: ActionInput) => (calls.push(input), { kind: 'redirect' as const, url: 'http://portal.example.com/sso?nonce=n' }) } };
  };

  it('the action gets the explained teams and email, and the explanation is logged at debug', async () => {
    const p = oidcProfile();
    const identity = identityFromClaims(p, { sub: 'u-1', email: 'dana@example.com', groups: 'devs,auditors,admins' });
    const { calls, action } = recording();
    const logs = captureLogs();
    try {
      await completeLogin(p, identity, action, getLogger('AUTH HANDLERS'));
    } finally {
      logs.stop();
    }
    const x = allowed(explainIdentity(p, identity));
    expect(calls).toHaveLength(1);
    expect(calls[0]?.teams).toEqual(x.teams.map((t) => t.team));
    expect(calls[0]?.teams).toEqual(['dev-group', 'admin-group']);
    expect(calls[0]?.email).toBe('dana@example.com');
    const line = logs.lines.find((l) => l.includes('login explained'));
    expect(line).toBeDefined();
    expect(line).toContain('UserGroupMapping: \\"devs\\"');
    expect(line).toContain('[DEBUG]');
  });

  it('a refusal in the explanation ends the login before the action, with the same reason', async () => {
    const p = oidcProfile({ ProviderConstraints: { Domain: 'example.org', Group: '' } });
    const { calls, action } = recording();
    const r = await completeLogin(p, identityFromClaims(p, { sub: 'u-1', email: 'dana@example.com' }), action, getLogger('AUTH HANDLERS'));
    expect(calls).toHaveLength(0);
    expect(r.result).toEqual({ kind: 'failure', failure: { reason: 'constraint failed: email domain example.com is not example.org', status: 400, message: 'Constraint failed', class: 'constraint' } });
    expect(r.explanation.outcome).toBe('refused');
  });
});

describe('the printed explanation (identity-broker explain)', () => {
  const claims = { sub: 'u-1', email: 'dana@example.com', groups: 'admins' };
  const rows = (x: Explanation) => formatExplanation(x).split('\n').map((l) => l.trim().replace(/ {2,}/, ' '));

  it('says "skipped" for every step after the refusal, never leaves it out', () => {
    const atEmail = rows(explainClaims(oidcProfile({ CustomEmailField: 'upn' }), { sub: 'x' }));
    for (const step of ['user id', 'IdP groups', 'Domain', 'Group', 'teams']) expect(atEmail).toContain(`${step} skipped: the login was refused at email`);
    const atGroups = rows(explainClaims(oidcProfile(), { ...claims, groups: { admins: true } }));
    expect(atGroups).toEqual(expect.arrayContaining(['Domain skipped: the login was refused at groups', 'teams skipped: the login was refused at groups']));
  });

  it('a group constraint not checked because the domain failed is "skipped", not "failed"', () => {
    const x = rows(explainClaims(oidcProfile({ ProviderConstraints: { Domain: 'example.org', Group: 'admins' } }), claims));
    expect(x).toContain('Group skipped: the domain constraint failed');
    expect(x.some((l) => l.startsWith('Group failed'))).toBe(false);
    expect(x).toContain('teams skipped: the login was refused at constraints');
  });

  it('an allowed login has no skipped step', () => {
    expect(formatExplanation(explainClaims(oidcProfile(), claims))).not.toContain('skipped');
  });
});
