/**
 * Team references (src/portal/team-ref.ts), their resolution against a snapshot of a portal's teams, and the
 * cache that keeps the snapshot (src/portal/directory.ts PortalDirectory). The cache is given a fake PortalApi
 * and a fake clock: this tests the cache, not the portal (test/integration/portal/ does that).
 */
import { describe, expect, it } from '@jest/globals';
import type { PortalApi, PortalOrganisationEntry, PortalTeamEntry } from '../../src/portal/api.js';
import { PortalApiError } from '../../src/portal/api.js';
import { PortalDirectory, REFRESH_MS, resolveTeamRef, type DirectorySnapshot, type PortalTeam } from '../../src/portal/directory.js';
import { isNamedRef, isTeamId, namedTeamValues, parseTeamRef, type TeamRef } from '../../src/portal/team-ref.js';
import type { Logger } from '../../src/log.js';

describe('parseTeamRef and friends', () => {
  it('a team ID, a CID, or an organisation and team name split on the first "/"', () => {
    expect(parseTeamRef('12')).toEqual({ kind: 'id', raw: '12' });
    expect(parseTeamRef('cid:2r7p8aUnkzby17hCJk8w2XvK3K6')).toEqual({ kind: 'cid', raw: 'cid:2r7p8aUnkzby17hCJk8w2XvK3K6', cid: '2r7p8aUnkzby17hCJk8w2XvK3K6' });
    expect(parseTeamRef('Acme/Developers')).toEqual({ kind: 'name', raw: 'Acme/Developers', organisation: 'Acme', team: 'Developers' });
    expect(parseTeamRef('Acme/Dev/Ops')).toEqual({ kind: 'name', raw: 'Acme/Dev/Ops', organisation: 'Acme', team: 'Dev/Ops' });
    // TIB's free-form group IDs stay IDs (validation decides whether a portal accepts them).
    expect(parseTeamRef('team-devs')).toEqual({ kind: 'id', raw: 'team-devs' });
  });

  it('an empty CID or an empty name is a problem', () => {
    for (const raw of ['cid:', 'cid: ']) expect(parseTeamRef(raw)).toEqual({ problem: 'names no CID after "cid:"' });
    for (const raw of ['/Developers', 'Acme/', ' /x', '/']) expect(parseTeamRef(raw)).toEqual({ problem: 'must be "<organisation name>/<team name>" with both names' });
  });

  it('isNamedRef: CIDs and names need the admin API; isTeamId: positive integers only', () => {
    expect(['cid:x', 'Acme/Dev'].map(isNamedRef)).toEqual([true, true]);
    expect(['12', 'team-devs', ''].map(isNamedRef)).toEqual([false, false, false]);
    expect(['1', '12', '9007199254740991'].map(isTeamId)).toEqual([true, true, true]);
    expect(['0', '012', '-1', '1.5', ' 1', 'abc', '', '12345678901234567'].map(isTeamId)).toEqual(Array(8).fill(false));
  });

  it('namedTeamValues: the mapping values and DefaultUserGroupID that are names or CIDs', () => {
    expect(namedTeamValues({ UserGroupMapping: { a: '12', b: 'Acme/Dev', c: 'cid:X' }, DefaultUserGroupID: 'Acme/Readers' })).toEqual(['Acme/Dev', 'cid:X', 'Acme/Readers']);
    expect(namedTeamValues({ UserGroupMapping: null, DefaultUserGroupID: '' })).toEqual([]);
  });
});

const team = (id: number, name: string, organisationId: number, organisationName: string, cid?: string): PortalTeam => ({ id, name, organisationId, organisationName, ...(cid && { cid }) });
const ref = (raw: string): TeamRef => {
  const r = parseTeamRef(raw);
  if ('problem' in r) throw new Error(r.problem);
  return r;
};

describe('resolveTeamRef', () => {
  const plain: DirectorySnapshot = { loadedAt: 0, teams: [team(11, 'Developers', 1, 'Acme'), team(12, 'Testers', 1, 'Acme'), team(21, 'Partners', 2, 'Globex')] };
  const withCids: DirectorySnapshot = { loadedAt: 0, teams: [team(11, 'Developers', 1, 'Acme', 'CIDDEV'), team(21, 'Partners', 2, 'Globex', 'CIDPART')] };

  it('by ID: the team must exist', () => {
    expect(resolveTeamRef(plain, ref('12'))).toEqual({ team: plain.teams[1] });
    expect(resolveTeamRef(plain, ref('99'))).toEqual({ problem: 'no team has ID 99' });
  });

  it('by CID, when the portal shows CIDs', () => {
    expect(resolveTeamRef(withCids, ref('cid:CIDPART'))).toEqual({ team: withCids.teams[1] });
    expect(resolveTeamRef(withCids, ref('cid:NOPE'))).toEqual({ problem: 'no team has CID "NOPE"' });
  });

  it('by CID against a portal that shows none (the 1.14.0 document): the problem says so and what to use instead', () => {
    const r = resolveTeamRef(plain, ref('cid:CIDDEV'));
    expect(r).toEqual({ problem: expect.stringContaining('the portal shows no team CIDs') });
    expect((r as { problem: string }).problem).toContain('"<organisation>/<team>"');
  });

  it('by name, with "did you mean" (a pasteable reference) for a case slip or a typo in the organisation or the team', () => {
    expect(resolveTeamRef(plain, ref('Acme/Developrs'))).toEqual({ problem: 'organisation "Acme" has no team named "Developrs" (did you mean "Acme/Developers"?)' });
    expect(resolveTeamRef(plain, ref('Globex/Partners'))).toEqual({ team: plain.teams[2] });
    expect(resolveTeamRef(plain, ref('acme/Developers'))).toEqual({ problem: 'no organisation is named "acme" (did you mean "Acme/Developers"?)' });
    expect(resolveTeamRef(plain, ref('Initech/Developers'))).toEqual({ problem: 'no organisation is named "Initech"' });
    expect(resolveTeamRef(plain, ref('Acme/developers'))).toEqual({ problem: 'organisation "Acme" has no team named "developers" (did you mean "Acme/Developers"?)' });
    expect(resolveTeamRef(plain, ref('Acme/Partners'))).toEqual({ problem: 'organisation "Acme" has no team named "Partners"' });
  });

  it('an ambiguous name is refused: two organisations, or two teams, of that name', () => {
    const twoOrgs: DirectorySnapshot = { loadedAt: 0, teams: [team(11, 'Developers', 1, 'Acme'), team(31, 'Developers', 3, 'Acme')] };
    expect(resolveTeamRef(twoOrgs, ref('Acme/Developers'))).toEqual({ problem: 'several organisations are named "Acme": name the team by ID or CID' });
    const twoTeams: DirectorySnapshot = { loadedAt: 0, teams: [team(11, 'Developers', 1, 'Acme'), team(13, 'Developers', 1, 'Acme')] };
    expect(resolveTeamRef(twoTeams, ref('Acme/Developers'))).toEqual({ problem: 'organisation "Acme" has several teams named "Developers": name it by ID or CID' });
  });
});

/** A portal's organisations and teams behind a fake PortalApi that counts its listings and can fail. */
function fakePortal() {
  const orgs: PortalOrganisationEntry[] = [{ ID: 1, Name: 'Acme' }];
  const teams = new Map<number, PortalTeamEntry[]>([[1, [{ ID: 11, Name: 'Developers', Default: false }]]]);
  const state = { orgListings: 0, fail: false, gate: undefined as Promise<void> | undefined };
  const api: Pick<PortalApi, 'listOrganisations' | 'listTeams'> = {
    async listOrganisations() {
      state.orgListings++;
      if (state.gate) await state.gate;
      if (state.fail) throw new PortalApiError('unreachable', 'GET /portal-api/organisations: connection refused');
      return orgs.map((o) => ({ ...o }));
    },
    listTeams: (id) => Promise.resolve((teams.get(id) ?? []).map((t) => ({ ...t }))),
  };
  return { api: api as PortalApi, orgs, teams, state };
}

/** Lets a background refresh run to its end. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

function fakeLog() {
  const warnings: Array<{ message: string; meta: unknown }> = [];
  const log = { warn: (message: string, meta: unknown) => void warnings.push({ message, meta }) } as unknown as Logger;
  return { log, warnings };
}

describe('PortalDirectory', () => {
  const setup = () => {
    const portal = fakePortal();
    const { log, warnings } = fakeLog();
    const clock = { now: 1_000_000 };
    const directory = new PortalDirectory(portal.api, log, () => clock.now);
    return { portal, warnings, clock, directory };
  };

  it('reads the portal once, serves the snapshot, and once it is REFRESH_MS old refreshes it in the background', async () => {
    const { portal, clock, directory } = setup();
    const first = await directory.current();
    expect(first.teams).toEqual([team(11, 'Developers', 1, 'Acme')]);
    clock.now += REFRESH_MS - 1;
    expect(await directory.current()).toBe(first);
    expect(portal.state.orgListings).toBe(1);
    clock.now += 1;
    // Old: still served to this caller (no login waits for the listing), and read again meanwhile.
    portal.teams.get(1)?.push({ ID: 12, Name: 'Testers', Default: false });
    expect(await directory.current()).toBe(first);
    await settle();
    expect(portal.state.orgListings).toBe(2);
    expect((await directory.current()).teams.map((t) => t.name)).toEqual(['Developers', 'Testers']);
    expect(portal.state.orgListings).toBe(2);
  });

  it('concurrent callers share one load', async () => {
    const { portal, directory } = setup();
    let open!: () => void;
    portal.state.gate = new Promise<void>((resolve) => (open = resolve));
    const both = Promise.all([directory.current(), directory.current(), directory.resolve([ref('11')])]);
    open();
    const [a, b, c] = await both;
    expect(a).toBe(b);
    expect(c).toEqual([{ team: a.teams[0] }]);
    expect(portal.state.orgListings).toBe(1);
  });

  it('an unknown reference reloads the snapshot once, so a team made a moment ago is found', async () => {
    const { portal, clock, directory } = setup();
    await directory.current();
    portal.teams.get(1)?.push({ ID: 12, Name: 'Newcomers', Default: false });
    clock.now += 1;
    expect(await directory.resolve([ref('Acme/Developers'), ref('Acme/Newcomers')])).toEqual([{ team: team(11, 'Developers', 1, 'Acme') }, { team: team(12, 'Newcomers', 1, 'Acme') }]);
    expect(portal.state.orgListings).toBe(2);
  });

  it('unknown references reload at most once every 30 s, and never a snapshot loaded this instant', async () => {
    const { portal, clock, directory } = setup();
    await directory.current();
    // Loaded this very instant: asking again would not tell anything new.
    expect(await directory.resolve([ref('Acme/Nobody')])).toEqual([{ problem: 'organisation "Acme" has no team named "Nobody"' }]);
    expect(portal.state.orgListings).toBe(1);
    clock.now += 1;
    await directory.resolve([ref('Acme/Nobody')]);
    expect(portal.state.orgListings).toBe(2);
    for (const step of [1_000, 10_000, 18_999]) {
      clock.now += step;
      await directory.resolve([ref('Acme/Nobody')]);
    }
    expect(portal.state.orgListings).toBe(2);
    clock.now += 2;
    await directory.resolve([ref('Acme/Nobody')]);
    expect(portal.state.orgListings).toBe(3);
    // Known references never reload.
    clock.now += 60_000;
    await directory.resolve([ref('Acme/Developers')]);
    expect(portal.state.orgListings).toBe(3);
  });

  it('a failed refresh keeps the previous snapshot with a WARN, until it is an hour old', async () => {
    const { portal, warnings, clock, directory } = setup();
    const first = await directory.current();
    portal.state.fail = true;
    clock.now += REFRESH_MS;
    expect(await directory.current()).toBe(first);
    await settle();
    expect(warnings).toEqual([{ message: "the portal's teams could not be refreshed: using the previous list", meta: { reason: 'GET /portal-api/organisations: connection refused' } }]);
    expect(await directory.resolve([ref('Acme/Developers')])).toEqual([{ team: first.teams[0] }]);
    await settle();
    clock.now = 1_000_000 + 60 * 60_000 + 1;
    await expect(directory.current()).rejects.toThrow(PortalApiError);
    // Back up: a fresh snapshot.
    portal.state.fail = false;
    expect(await directory.current()).not.toBe(first);
  });

  it('in an outage, a failed background refresh is tried again only after 30 s: one attempt and one WARN, not one per login', async () => {
    const { portal, warnings, clock, directory } = setup();
    await directory.current();
    portal.state.fail = true;
    clock.now += REFRESH_MS;
    for (let i = 0; i < 5; i++) {
      await directory.current();
      await settle();
      clock.now += 1000;
    }
    expect([portal.state.orgListings, warnings.length]).toEqual([2, 1]);
    clock.now += 30_000;
    await directory.current();
    await settle();
    expect([portal.state.orgListings, warnings.length]).toEqual([3, 2]);
  });

  it('without any snapshot, a failed load is the caller\'s error', async () => {
    const { portal, directory } = setup();
    portal.state.fail = true;
    await expect(directory.resolve([ref('Acme/Developers')])).rejects.toThrow('connection refused');
  });

  it('invalidate: the next use reads the portal again', async () => {
    const { portal, directory } = setup();
    await directory.current();
    directory.invalidate();
    await directory.current();
    expect(portal.state.orgListings).toBe(2);
  });
});
