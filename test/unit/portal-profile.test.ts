/**
 * The portal keys of a profile (issue 19, items 2, 3, 5; src/profiles/portal-keys.ts) as profile validation
 * reads them: `Membership` on developer profiles only, its roles and modes with "did you mean", team references
 * that an "idp" profile can send to the admin API, a profile's own `TykAPISettings`, and a profile without
 * these keys written back byte for byte as TIB writes it.
 */
import { describe, expect, it } from '@jest/globals';
import { redact } from '../../src/cli/compare.js';
import { serializeProfiles } from '../../src/profiles/file-store.js';
import { orderedProfile } from '../../src/profiles/profile.js';
import { actionSecrets, validateProfile } from '../../src/profiles/validate.js';
import { tykTargetsOf } from '../../src/profiles/tyk-settings.js';
import { FIRST } from '../support/rules.js';

const base = {
  ID: 'portal-devs',
  OrgID: '0',
  ActionType: 'GenerateOrLoginDeveloperProfile',
  ProviderName: 'ADProvider',
  ReturnURL: 'http://portal.example.com/sso',
  IdentityHandlerConfig: { DashboardCredential: 'portal-api-secret-value' },
  ProviderConfig: { LDAPServer: 'ldap.example.com', LDAPPort: '389', LDAPUserDN: 'uid=*USERNAME*,ou=people,dc=example,dc=org' },
  CustomUserGroupField: 'memberOf',
  UserGroupMapping: { devs: '12', partners: 'Acme/Partners' },
};
const check = (over: Record<string, unknown>) => validateProfile({ ...base, ...over }, FIRST);
const messages = (list: { field: string; message: string }[]) => list.map((p) => `${p.field}: ${p.message}`);

describe('Membership', () => {
  it('defaults every key it does not set, and is written after TIB\'s fields', () => {
    const r = check({ Membership: { Authority: 'idp' } });
    expect(r.problems).toEqual([]);
    expect(r.profile?.Membership).toEqual({ Authority: 'idp', Teams: 'all', RegisteredOnly: false, DefaultRole: 'consumer-team-member', RoleMapping: {}, OnPortalError: 'fail' });
    const written = JSON.parse(JSON.stringify(orderedProfile(r.profile!))) as Record<string, unknown>;
    expect(Object.keys(written).at(-1)).toBe('Membership');
    expect(validateProfile(written, FIRST).profile).toEqual(r.profile);
  });

  it('applies to GenerateOrLoginDeveloperProfile only: on another action it is an error', () => {
    const r = check({ ActionType: 'GenerateOrLoginUserProfile', UserGroupMapping: {}, Membership: { Authority: 'idp' } });
    expect(messages(r.problems)).toEqual(['Membership: applies to GenerateOrLoginDeveloperProfile (Portal SSO) only, got ActionType "GenerateOrLoginUserProfile": remove it']);
    expect(r.profile).toBeUndefined();
  });

  it('a role that is not a consumer role is an error with "did you mean"', () => {
    const r = check({ Membership: { DefaultRole: 'consumer-admn', RoleMapping: { admins: 'consumer-teammember' } } });
    expect(messages(r.problems).sort()).toEqual([
      'Membership.DefaultRole: must be a portal consumer role, "consumer-admin" or "consumer-team-member", got "consumer-admn"; did you mean consumer-admin?',
      'Membership.RoleMapping.admins: must be a portal consumer role, "consumer-admin" or "consumer-team-member", got "consumer-teammember"; did you mean consumer-team-member?',
    ]);
  });

  it('Authority, Teams and OnPortalError take their values only; unknown keys are errors', () => {
    const r = check({ Membership: { Authority: 'IdP', Teams: 'some', OnPortalError: 'ignore', RegisteredOnl: true } });
    expect(messages(r.problems)).toEqual(expect.arrayContaining([
      expect.stringMatching(/^Membership\.Authority: must be "portal" or "idp", got "IdP".*did you mean "?idp"?/),
      expect.stringMatching(/^Membership\.Teams: must be "all" or "first", got "some"/),
      expect.stringMatching(/^Membership\.OnPortalError: must be "fail" or "continue", got "ignore"/),
      expect.stringMatching(/^Membership\.RegisteredOnl: is not a Membership key.*did you mean "?RegisteredOnly"?/),
    ]));
    expect(r.problems).toHaveLength(4);
  });

  it('"idp" mode: a plain team value must be a portal team ID (an integer); "portal" mode keeps TIB\'s free-form IDs', () => {
    const mapping = { UserGroupMapping: { devs: 'team-devs', partners: 'Acme/Partners', ops: 'cid:ABC' }, DefaultUserGroupID: '007' };
    const idp = check({ ...mapping, Membership: { Authority: 'idp' } });
    expect(messages(idp.problems)).toEqual([
      'UserGroupMapping.devs: must be a portal team: its ID (an integer), "cid:<team CID>" or "<organisation name>/<team name>", got "team-devs"',
      'DefaultUserGroupID: must be a portal team: its ID (an integer), "cid:<team CID>" or "<organisation name>/<team name>", got "007"',
    ]);
    expect(check({ ...mapping, Membership: { Authority: 'portal' } }).problems).toEqual([]);
    expect(check(mapping).problems).toEqual([]);
  });

  it('a team reference that does not parse is an error in any mode of a portal profile, and none on a Dashboard profile', () => {
    expect(messages(check({ UserGroupMapping: { devs: 'cid:' }, DefaultUserGroupID: 'Acme/' }).problems)).toEqual([
      'UserGroupMapping.devs: "cid:" names no CID after "cid:"',
      'DefaultUserGroupID: "Acme/" must be "<organisation name>/<team name>" with both names',
    ]);
    expect(check({ ActionType: 'GenerateOrLoginUserProfile', UserGroupMapping: { devs: 'cid:' } }).problems).toEqual([]);
  });
});

describe("a profile's own TykAPISettings", () => {
  const own = {
    DashboardConfig: { Endpoint: 'http://portal-b', Port: '3001', AdminSecret: 'profile-dashboard-admin-secret' },
    PortalAPIConfig: { Endpoint: 'http://portal-b:3001', AdminToken: 'profile-portal-admin-token' },
  };

  it('is kept on any action, each key over tib.conf\'s, and written after TIB\'s fields', () => {
    const r = check({ TykAPISettings: own });
    expect(r.problems).toEqual([]);
    expect(r.profile?.TykAPISettings).toEqual(own);
    const written = JSON.parse(JSON.stringify(orderedProfile(r.profile!))) as Record<string, unknown>;
    expect(Object.keys(written).at(-1)).toBe('TykAPISettings');
    expect(validateProfile(written, FIRST).profile).toEqual(r.profile);
    const dash = check({ ActionType: 'GenerateOrLoginUserProfile', UserGroupMapping: {}, TykAPISettings: { DashboardConfig: { Port: '3000' } } });
    expect(dash.problems).toEqual([]);
    const conf = { TykAPISettings: { DashboardConfig: { Endpoint: 'http://dash', Port: '3000', AdminSecret: 'conf' }, GatewayConfig: { Endpoint: 'http://gw', Port: '8080', AdminSecret: 'gw' }, PortalAPIConfig: { Endpoint: '', AdminToken: '' } } };
    expect(tykTargetsOf(conf as never, dash.profile!).DashboardConfig).toEqual({ Endpoint: 'http://dash', Port: '3000', AdminSecret: 'conf' });
    expect(tykTargetsOf(conf as never, r.profile!)).toEqual({ DashboardConfig: own.DashboardConfig, GatewayConfig: conf.TykAPISettings.GatewayConfig, PortalAPIConfig: own.PortalAPIConfig });
  });

  it('unknown keys are errors naming the known ones, with "did you mean"', () => {
    const r = check({ TykAPISettings: { PortalApiConfig: {}, DashboardConfig: { Secret: 'x' }, PortalAPIConfig: { Token: 'x' } } });
    expect(messages(r.problems)).toEqual(expect.arrayContaining([
      expect.stringMatching(/^TykAPISettings\.PortalApiConfig: is not a key of a profile's TykAPISettings \(DashboardConfig, GatewayConfig, PortalAPIConfig\).*did you mean "?PortalAPIConfig"?/),
      expect.stringMatching(/^TykAPISettings\.DashboardConfig\.Secret: is not a key of DashboardConfig \(Endpoint, Port, AdminSecret\)/),
      expect.stringMatching(/^TykAPISettings\.PortalAPIConfig\.Token: is not a key of PortalAPIConfig \(Endpoint, AdminToken\)/),
    ]));
    expect(r.problems).toHaveLength(3);
  });

  it('endpoints and ports are checked', () => {
    const r = check({ TykAPISettings: { DashboardConfig: { Endpoint: 'portal-b', Port: 'http' }, PortalAPIConfig: { Endpoint: 'ftp://portal' } } });
    expect(messages(r.problems)).toEqual([
      expect.stringMatching(/^TykAPISettings\.DashboardConfig\.Endpoint: must be a scheme and host/),
      expect.stringMatching(/^TykAPISettings\.DashboardConfig\.Port: must be a port number as a string, got "http"/),
      expect.stringMatching(/^TykAPISettings\.PortalAPIConfig\.Endpoint: must be the portal's base URL/),
    ]);
  });

  it('its AdminSecret and AdminToken are secrets of the profile: masked in logs and redacted by the export', () => {
    const p = check({ TykAPISettings: own }).profile!;
    expect(actionSecrets(p)).toEqual(expect.arrayContaining(['profile-dashboard-admin-secret', 'profile-portal-admin-token']));
    const out = redact(p);
    expect(JSON.stringify(out)).not.toMatch(/profile-dashboard-admin-secret|profile-portal-admin-token/);
    expect(out.TykAPISettings).toEqual({ DashboardConfig: { ...own.DashboardConfig, AdminSecret: '[redacted]' }, PortalAPIConfig: { ...own.PortalAPIConfig, AdminToken: '[redacted]' } });
  });
});

describe('a profile without the portal keys', () => {
  it('is written back byte for byte as TIB writes it (every field, TIB\'s order, no extra key)', () => {
    const tib = {
      ID: 'portal-devs',
      Name: 'Developers',
      OrgID: '0',
      ActionType: 'GenerateOrLoginDeveloperProfile',
      MatchedPolicyID: '',
      Type: 'passthrough',
      ProviderName: 'ADProvider',
      CustomEmailField: '',
      CustomUserIDField: '',
      ProviderConfig: { LDAPServer: 'ldap.example.com', LDAPPort: '389', LDAPUserDN: 'uid=*USERNAME*,ou=people,dc=example,dc=org' },
      IdentityHandlerConfig: { DashboardCredential: 'portal-api-secret-value' },
      ProviderConstraints: { Domain: '', Group: '' },
      ReturnURL: 'http://portal.example.com/sso',
      DefaultUserGroupID: '12',
      CustomUserGroupField: 'memberOf',
      UserGroupMapping: { devs: '12', partners: 'team-partners' },
      UserGroupSeparator: '',
      SSOOnlyForRegisteredUsers: false,
    };
    const r = validateProfile(tib, FIRST);
    expect(r.problems).toEqual([]);
    expect(serializeProfiles([r.profile!])).toBe(`${JSON.stringify([tib], null, 2)}\n`);
  });
});

describe('an "idp" profile that could let nobody in', () => {
  it('without UserGroupMapping and DefaultUserGroupID is warned about at load', () => {
    const r = check({ Membership: { Authority: 'idp' }, UserGroupMapping: null, DefaultUserGroupID: '' });
    expect(r.problems).toEqual([]);
    expect(messages(r.warnings)).toContain('Membership.Authority: is "idp" but the profile has neither UserGroupMapping nor DefaultUserGroupID, so every login is refused (an account without a team has no organisation)');
    expect(messages(check({ Membership: { Authority: 'idp' }, UserGroupMapping: null, DefaultUserGroupID: '7' }).warnings)).toEqual([]);
  });
});
