/**
 * SCIM resources (issue 20, item 5; src/sync/scim/resources.ts): PATCH in the shapes Entra ID and Okta send
 * (test/fixtures/scim/README.md), filters with RFC 7643's case rules, and hostile input refused as SCIM 400s.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { compileFilter, groupBody, loadScimLibraries, patchResource, project, ScimError, userBody } from '../../src/sync/scim/resources.js';

// The libraries are imported on first use (the SCIM routes await this before a request, src/http/scim.ts).
beforeAll(() => loadScimLibraries());

const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const user = { id: 'u1', ...userBody({ userName: 'Ann@Example.org', name: { givenName: 'Ann', familyName: 'Lee' }, emails: [{ value: 'ann@example.org', type: 'work', primary: true }], active: true }) };
const patch = (ops: unknown[], r: Record<string, unknown> = user) => patchResource('User', { id: 'u1', ...r }, { schemas: [PATCH], Operations: ops });
const refused = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return err instanceof ScimError ? { status: err.status, scimType: err.scimType } : { thrown: String(err) };
  }
  return undefined;
};

describe('PATCH as Entra ID sends it', () => {
  it('capitalised ops, a boolean as the string "False", path-less dotted keys', () => {
    expect(userBody(patch([{ op: 'Replace', path: 'active', value: 'False' }])).active).toBe(false);
    const p = userBody(patch([{ op: 'Replace', value: { 'name.givenName': 'Anna', 'name.familyName': 'Leigh', 'emails[type eq "work"].value': 'anna@example.org', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber': '7' } }]));
    expect(p.name).toEqual({ givenName: 'Anna', familyName: 'Leigh' });
    expect(p.emails).toEqual([{ value: 'anna@example.org', type: 'work', primary: true }]);
    expect(userBody(patch([{ op: 'Replace', path: 'emails[type eq "work"].value', value: 'x@example.org' }, { op: 'Add', path: 'name.familyName', value: 'Z' }])).emails).toEqual([{ value: 'x@example.org', type: 'work', primary: true }]);
  });

  it('members added and removed by a value list, or by a filter path', () => {
    const g = { id: 'g1', ...groupBody({ displayName: 'Developers', members: [{ value: 'a' }, { value: 'b' }] }, 10) };
    const gp = (ops: unknown[]) => groupBody(patchResource('Group', g, { schemas: [PATCH], Operations: ops }), 10).members;
    expect(gp([{ op: 'Add', path: 'members', value: [{ $ref: null, value: 'c' }] }])).toEqual([{ value: 'a' }, { value: 'b' }, { value: 'c' }]);
    expect(gp([{ op: 'Remove', path: 'members', value: [{ $ref: null, value: 'a' }] }])).toEqual([{ value: 'b' }]);
    expect(gp([{ op: 'remove', path: 'members[value eq "b"]' }, { op: 'add', path: 'members', value: [{ value: 'd', display: 'Dee' }] }])).toEqual([{ value: 'a' }, { value: 'd' }]);
    // Okta renames with a path-less replace that repeats the id.
    expect(groupBody(patchResource('Group', g, { schemas: [PATCH], Operations: [{ op: 'replace', value: { id: 'g1', displayName: 'Devs' } }] }), 10).displayName).toBe('Devs');
  });
});

describe('hostile PATCH and bodies', () => {
  it('refuses unknown paths, read-only ones, wrong types and bad bodies with a SCIM 400', () => {
    expect(refused(() => patch([{ op: 'replace', path: 'password', value: 'x' }]))).toEqual({ status: 400, scimType: 'invalidPath' });
    expect(refused(() => patch([{ op: 'replace', path: 'id', value: 'x' }]))).toEqual({ status: 400, scimType: 'mutability' });
    expect(refused(() => patch([{ op: 'move', path: 'userName', value: 'x' }]))).toEqual({ status: 400, scimType: 'invalidSyntax' });
    expect(refused(() => patch([{ op: 'remove' }]))).toEqual({ status: 400, scimType: 'noTarget' });
    expect(refused(() => patchResource('User', user, { Operations: [] }))).toEqual({ status: 400, scimType: 'invalidSyntax' });
    expect(refused(() => userBody(patch([{ op: 'replace', path: 'active', value: 'maybe' }])))).toEqual({ status: 400, scimType: 'invalidValue' });
    expect(refused(() => userBody({ userName: 42 }))).toEqual({ status: 400, scimType: 'invalidValue' });
    expect(refused(() => userBody({ userName: 'a', emails: 'a@b' }))).toEqual({ status: 400, scimType: 'invalidValue' });
    expect(refused(() => userBody([]))).toEqual({ status: 400, scimType: 'invalidSyntax' });
    expect(refused(() => groupBody({ displayName: 'g', members: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] }, 2))).toEqual({ status: 400, scimType: 'invalidValue' });
  });
});

describe('filters', () => {
  it('userName compares without case, externalId with case; and/or; emails by value', () => {
    const u = { ...user, externalId: 'X1' };
    expect(compileFilter('User', 'userName eq "ann@example.org"')(u)).toBe(true);
    expect(compileFilter('User', 'externalId eq "x1"')(u)).toBe(false);
    expect(compileFilter('User', 'externalId eq "X1" and userName eq "nobody"')(u)).toBe(false);
    expect(compileFilter('User', 'externalId eq "X1" or userName eq "nobody"')(u)).toBe(true);
    expect(compileFilter('User', 'emails[type eq "work" and value eq "ANN@example.org"]')(u)).toBe(true);
    expect(compileFilter('Group', 'displayName eq "developers"')({ id: 'g', displayName: 'Developers' })).toBe(true);
  });

  it('refuses malformed, deep, long or unknown-attribute filters as invalidFilter, without a crash', () => {
    for (const f of ['userName eq', 'userName xx "a"', `${'('.repeat(5000)}userName eq "a"${')'.repeat(5000)}`, `userName eq "${'a'.repeat(2000)}"`, 'password eq "x"', 'userName eq "a" and']) {
      expect(refused(() => compileFilter('User', f))).toEqual({ status: 400, scimType: 'invalidFilter' });
    }
  });

  it('excludedAttributes and attributes keep id and schemas', () => {
    const g = { id: 'g', schemas: ['s'], displayName: 'D', members: [{ value: 'a' }] };
    expect(project(g, undefined, ['members'])).toEqual({ id: 'g', schemas: ['s'], displayName: 'D' });
    expect(project(user, ['userName', 'name.givenName'], undefined)).toEqual({ id: 'u1', schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'Ann@Example.org', name: { givenName: 'Ann' } });
  });
});
