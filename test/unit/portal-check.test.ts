/**
 * The shared portal-team check (src/portal/check.ts) of `portal check` and the admin API's profile writes: which
 * profiles and values it takes, when it needs a portal, and the "did you mean" it adds for a typo. A fake
 * directory load stands in for the portal (test/integration/portal/check.test.ts uses the real stand-in).
 */
import { describe, expect, it } from '@jest/globals';
import { defaultConfig } from '../../src/config/load.js';
import { PortalApiError } from '../../src/portal/api.js';
import { checkProfileTeams, teamValuesOf, type PortalCheckDeps } from '../../src/portal/check.js';
import type { DirectorySnapshot } from '../../src/portal/directory.js';
import type { Profile } from '../../src/profiles/profile.js';
import type { TykApi } from '../../src/tyk/client.js';

const snapshot: DirectorySnapshot = {
  loadedAt: 0,
  teams: [
    { id: 2, name: 'Developers', organisationId: 1, organisationName: 'Acme' },
    { id: 3, name: 'Testers', organisationId: 1, organisationName: 'Acme' },
  ],
};
const profile = (over: Partial<Profile>): Profile =>
  ({ ID: 'p', ActionType: 'GenerateOrLoginDeveloperProfile', UserGroupMapping: { devs: 'Acme/Developers' }, DefaultUserGroupID: '', ...over }) as Profile;
const deps = (load: PortalCheckDeps['load'], endpoint = 'http://portal:3001'): PortalCheckDeps => {
  const config = defaultConfig();
  config.TykAPISettings.PortalAPIConfig = { Endpoint: endpoint, AdminToken: 'token' };
  return { config, tyk: { withSettings: () => ({}) as TykApi }, load };
};

describe('checkProfileTeams', () => {
  it('takes portal profiles only, every UserGroupMapping value then DefaultUserGroupID', () => {
    expect(teamValuesOf(profile({ DefaultUserGroupID: '3' }))).toEqual([{ field: 'UserGroupMapping', group: 'devs', value: 'Acme/Developers' }, { field: 'DefaultUserGroupID', value: '3' }]);
    expect(teamValuesOf(profile({ ActionType: 'GenerateOrLoginUserProfile' }))).toEqual([]);
  });

  it('resolves names and IDs; a typo gets the closest name, an unknown organisation the closest organisation', async () => {
    const r = await checkProfileTeams(profile({ UserGroupMapping: { a: 'Acme/Developers', b: 'Acme/Developrs', c: 'Acmee/Testers' }, DefaultUserGroupID: '9' }), deps(() => Promise.resolve(snapshot)));
    expect(r.kind === 'checked' && r.problems.map((x) => x.reason)).toEqual([
      'organisation "Acme" has no team named "Developrs" (did you mean "Acme/Developers"?)',
      'no organisation is named "Acmee" (did you mean "Acme/Testers"?)',
      'no team has ID 9',
    ]);
  });

  it('no portal configured: names need one (a problem), plain IDs are left unchecked; a failing portal is "unreachable"', async () => {
    const load = () => Promise.reject(new Error('not called'));
    expect((await checkProfileTeams(profile({}), deps(load, ''))).kind).toBe('no-portal');
    expect((await checkProfileTeams(profile({ UserGroupMapping: { devs: '2' } }), deps(load, ''))).kind).toBe('unchecked');
    const down = await checkProfileTeams(profile({}), deps(() => Promise.reject(new PortalApiError('unreachable', 'GET /portal-api/organisations: connection refused'))));
    expect(down).toMatchObject({ kind: 'unreachable', portal: 'http://portal:3001/portal-api', reason: 'GET /portal-api/organisations: connection refused' });
  });
});
