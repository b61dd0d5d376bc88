/**
 * Organisation from a claim for Dashboard profiles (issue 19, item 4): CustomUserOrgField, OrgMapping,
 * DefaultOrgID resolved by src/identity/org.ts, decided in the explanation and carried by /api/sso's OrgID.
 */
import { describe, expect, it } from '@jest/globals';
import type { ActionDeps } from '../../src/actions/action.js';
import { createDashboardSso } from '../../src/actions/dashboard-sso.js';
import { ssoBody } from '../../src/actions/sso-nonce.js';
import { formatExplanation } from '../../src/cli/explain.js';
import { explainIdentity } from '../../src/identity/explain.js';
import type { Identity } from '../../src/identity/identity.js';
import { resolveOrgRule, type OrgSettings } from '../../src/identity/org.js';
import { getLogger } from '../../src/log.js';
import type { Profile } from '../../src/profiles/profile.js';

const MAPPED: OrgSettings = { OrgID: 'profile-org', CustomUserOrgField: 'org', OrgMapping: { acme: 'org-acme', globex: 'org-globex' }, DefaultOrgID: 'org-default' };

const identity = (raw: Record<string, unknown>): Identity => ({
  userId: 'alice',
  email: 'alice@example.org',
  displayName: 'Alice',
  firstName: 'Alice',
  lastName: '',
  raw,
  provider: 'openid-connect',
});

/** A Dashboard profile with the organisation keys (as a validated profile will carry them). */
const dashboard = (org: Partial<OrgSettings>, action: Profile['ActionType'] = 'GenerateOrLoginUserProfile') =>
  ({
    ID: 'dash',
    Name: '',
    OrgID: 'profile-org',
    ActionType: action,
    MatchedPolicyID: '',
    Type: 'redirect',
    ProviderName: 'SocialProvider',
    CustomEmailField: '',
    CustomUserIDField: '',
    ProviderConfig: null,
    IdentityHandlerConfig: { DashboardCredential: 'dash-credential-value' },
    ProviderConstraints: { Domain: '', Group: '' },
    ReturnURL: 'http://dash.example.com/tap',
    DefaultUserGroupID: '',
    CustomUserGroupField: '',
    UserGroupMapping: null,
    UserGroupSeparator: '',
    SSOOnlyForRegisteredUsers: false,
    ...org,
  }) as Profile;

describe('resolveOrgRule', () => {
  it("an empty CustomUserOrgField keeps the profile's OrgID, whatever the claims", () => {
    expect(resolveOrgRule({ OrgID: 'profile-org' }, { org: 'acme' })).toEqual({ ok: true, value: { value: 'profile-org', rule: "the profile's OrgID (no CustomUserOrgField)" } });
    expect(resolveOrgRule({ ...MAPPED, CustomUserOrgField: '' }, { org: 'acme' })).toMatchObject({ ok: true, value: { value: 'profile-org' } });
  });

  it('a mapped claim gives its organisation; a list gives its first mapped value', () => {
    expect(resolveOrgRule(MAPPED, { org: 'globex' })).toEqual({ ok: true, value: { value: 'org-globex', rule: 'OrgMapping: CustomUserOrgField "org" is "globex"' } });
    expect(resolveOrgRule(MAPPED, { org: ['initech', 'acme', 'globex'] })).toMatchObject({ ok: true, value: { value: 'org-acme' } });
  });

  it('an absent or unmapped claim gives DefaultOrgID, never the profile OrgID', () => {
    expect(resolveOrgRule(MAPPED, {})).toEqual({ ok: true, value: { value: 'org-default', rule: 'DefaultOrgID (no such claim)' } });
    expect(resolveOrgRule(MAPPED, { org: 'initech' })).toEqual({ ok: true, value: { value: 'org-default', rule: 'DefaultOrgID (no value is in OrgMapping ("initech"))' } });
  });

  it('an absent or unmapped claim without DefaultOrgID refuses the login, naming the field', () => {
    const noDefault = { ...MAPPED, DefaultOrgID: '' };
    expect(resolveOrgRule(noDefault, {})).toEqual({ ok: false, reason: 'CustomUserOrgField "org": no such claim, and the profile has no DefaultOrgID' });
    expect(resolveOrgRule(noDefault, { org: 'initech' })).toMatchObject({ ok: false });
    // A mapping key inherited from Object.prototype is not a mapping.
    expect(resolveOrgRule(noDefault, { org: 'constructor' })).toMatchObject({ ok: false });
  });

  it('a claim of the wrong type is a failure with a reason', () => {
    expect(resolveOrgRule(MAPPED, { org: 42 })).toEqual({ ok: false, reason: 'CustomUserOrgField "org" is a number, expected a string or an array of strings' });
    expect(resolveOrgRule(MAPPED, { org: ['acme', {}] })).toMatchObject({ ok: false });
  });
});

describe('the explanation and the Dashboard SSO call', () => {
  it('explain shows the organisation and why; an unresolvable one refuses at the org stage', () => {
    const x = explainIdentity(dashboard(MAPPED), identity({ org: 'acme' }));
    expect(x).toMatchObject({ outcome: 'allowed', org: { value: 'org-acme' } });
    expect(formatExplanation(x)).toContain('org         "org-acme"  <- OrgMapping: CustomUserOrgField "org" is "acme"');
    const refused = explainIdentity(dashboard({ ...MAPPED, DefaultOrgID: '' }), identity({}));
    expect(refused).toMatchObject({ outcome: 'refused', failure: { stage: 'org', reason: 'CustomUserOrgField "org": no such claim, and the profile has no DefaultOrgID' } });
  });

  it('only Dashboard profiles resolve an organisation', () => {
    const x = explainIdentity(dashboard({ ...MAPPED, DefaultOrgID: '' }, 'GenerateOrLoginDeveloperProfile'), identity({}));
    expect(x.outcome).toBe('allowed');
    expect(x.org).toBeUndefined();
  });

  it("the /api/sso body carries the resolved OrgID, and the profile's without one (TIB's body)", async () => {
    const p = dashboard(MAPPED);
    const base = { profile: p, identity: identity({ org: 'globex' }), teams: [], email: 'alice@example.org', displayName: 'Alice', userId: 'alice' };
    expect(ssoBody('dashboard', base).OrgID).toBe('profile-org');
    const sent: unknown[] = [];
    const tyk = {
      dashboard: (_path: string, opts: { body?: unknown }) => {
        sent.push(opts.body);
        return Promise.resolve({ status: 200, json: { Meta: 'nonce-1' } });
      },
    };
    const deps = { tyk, log: getLogger('org-test'), config: { TykAPISettings: { DashboardConfig: { Endpoint: 'http://127.0.0.1', Port: '3000' }, GatewayConfig: {} } } } as unknown as ActionDeps;
    const orgId = explainIdentity(p, base.identity).org?.value;
    const result = await createDashboardSso(p, deps).run({ ...base, orgId });
    expect(result).toEqual({ kind: 'redirect', url: 'http://dash.example.com/tap?nonce=nonce-1' });
    expect(sent).toEqual([expect.objectContaining({ ForSection: 'dashboard', OrgID: 'org-globex' })]);
  });
});
