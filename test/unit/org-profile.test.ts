/**
 * The Dashboard organisation keys in a profile (issue 19, item 4): validated at load with the field named,
 * "did you mean" for typos, a warning where they do nothing, and left out of a profile that does not set them.
 */
import { describe, expect, it } from '@jest/globals';
import { orderedProfile } from '../../src/profiles/profile.js';
import { validateProfile } from '../../src/profiles/validate.js';
import { FIRST } from '../support/rules.js';

const base = {
  ID: 'dash',
  OrgID: 'profile-org',
  ActionType: 'GenerateOrLoginUserProfile',
  ProviderName: 'ADProvider',
  ReturnURL: 'http://dash.example.com/tap',
  IdentityHandlerConfig: { DashboardCredential: 'dash-credential-value' },
  ProviderConfig: { LDAPServer: 'ldap.example.com', LDAPPort: '389', LDAPUserDN: 'uid=*USERNAME*,ou=people,dc=example,dc=org' },
};
const check = (over: Record<string, unknown>) => validateProfile({ ...base, ...over }, FIRST);
const messages = (list: { field: string; message: string }[]) => list.map((p) => `${p.field}: ${p.message}`);

describe('CustomUserOrgField, OrgMapping, DefaultOrgID', () => {
  it('are kept as written on a Dashboard profile, and absent from one that does not set them', () => {
    const r = check({ CustomUserOrgField: 'org', OrgMapping: { acme: 'org-acme' }, DefaultOrgID: 'org-default' });
    expect(r.problems).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.profile).toMatchObject({ CustomUserOrgField: 'org', OrgMapping: { acme: 'org-acme' }, DefaultOrgID: 'org-default' });
    // As the file and Redis stores write it: after TIB's fields, and read back the same.
    const written = JSON.parse(JSON.stringify(orderedProfile(r.profile!))) as Record<string, unknown>;
    expect(Object.keys(written).slice(-3)).toEqual(['CustomUserOrgField', 'OrgMapping', 'DefaultOrgID']);
    expect(validateProfile(written, FIRST).profile).toEqual(r.profile);
    const plain = check({}).profile;
    expect(Object.keys(plain ?? {})).not.toEqual(expect.arrayContaining(['CustomUserOrgField']));
    expect(JSON.stringify(plain)).not.toMatch(/OrgMapping|DefaultOrgID|CustomUserOrgField/);
  });

  it('a wrong type or an empty organisation ID is an error naming the field', () => {
    expect(messages(check({ CustomUserOrgField: 7 }).problems)).toEqual([expect.stringMatching(/^CustomUserOrgField: must be a string, got number/)]);
    expect(messages(check({ CustomUserOrgField: 'org', OrgMapping: { acme: 5 } }).problems)).toEqual([expect.stringMatching(/^OrgMapping: must be an object of string values/)]);
    expect(messages(check({ CustomUserOrgField: 'org', OrgMapping: { acme: '' } }).problems)).toEqual(['OrgMapping: the value of "acme" must be an organisation ID, got ""']);
    expect(messages(check({ DefaultOrgID: ['x'] }).problems)).toEqual([expect.stringMatching(/^DefaultOrgID: must be a string/)]);
  });

  it('a misspelt key is a warning with "did you mean"', () => {
    expect(messages(check({ CustomUserOrgFeild: 'org' }).warnings)).toEqual(['CustomUserOrgFeild: unknown key, ignored; did you mean CustomUserOrgField?']);
  });

  it('warns when they do nothing: another action, or no CustomUserOrgField', () => {
    const portal = check({ ActionType: 'GenerateOrLoginDeveloperProfile', CustomUserOrgField: 'org' });
    expect(messages(portal.warnings)).toEqual(['CustomUserOrgField: only GenerateOrLoginUserProfile (Dashboard SSO) reads it, ignored for GenerateOrLoginDeveloperProfile']);
    expect(messages(check({ DefaultOrgID: 'org-default' }).warnings)).toEqual(["DefaultOrgID: ignored without CustomUserOrgField: the profile's OrgID is used"]);
  });
});
