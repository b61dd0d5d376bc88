/**
 * The SCIM store's bounds (issue 20, item 5; src/state/scim-store.ts, src/http/scim.ts): past the users, groups
 * or members a profile may hold, a write is refused with a SCIM 400 and nothing is stored. The router is served
 * alone here, with a store of small limits and a push that records what it was given.
 */
import fs from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import type { Identity } from '../../../src/identity/identity.js';
import { getLogger } from '../../../src/log.js';
import type { Profile } from '../../../src/profiles/profile.js';
import { scimRouter } from '../../../src/http/scim.js';
import { MemoryScimStore } from '../../../src/state/scim-store.js';
import { ScimTokens } from '../../../src/sync/scim/token.js';

const SCIM_TOKEN = 'scim-bearer-token-for-limit-tests-0123456789';
let dir: string;
let url: string;
let server: import('node:http').Server;
const pushed: string[] = [];

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'scim-limits-'));
  await fs.writeFile(path.join(dir, 'scim.token'), SCIM_TOKEN);
  const profile = { ID: 'p', ProviderName: 'ProxyProvider', CustomUserGroupField: 'groups', Sync: { Source: 'scim', IntervalSeconds: 0, Deprovision: 'deactivate', MaxDeprovisionPercent: 10, SCIM: { TokenFile: path.join(dir, 'scim.token') } } } as unknown as Profile;
  const app = express();
  app.use(
    '/scim/v2/:profile',
    scimRouter({
      profiles: () => [profile],
      store: new MemoryScimStore({ users: 2, groups: 1, membersPerGroup: 2 }),
      tokens: new ScimTokens(),
      push: {
        people: (_p: Profile, people: readonly Identity[]) => {
          pushed.push(...people.map((x) => x.userId));
          return Promise.resolve();
        },
        remove: () => Promise.resolve(),
      },
      log: getLogger('SCIM'),
    }),
  );
  server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/scim/v2/p`;
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

const post = (p: string, body: unknown) => request(url).post(p).set('Authorization', `Bearer ${SCIM_TOKEN}`).send(body as object);

describe('bounds', () => {
  it('users, groups and members past the profile bound are a SCIM 400; nothing more is stored', async () => {
    const ids: string[] = [];
    for (const n of ['a', 'b']) ids.push(((await post('/Users', { userName: n })).body as { id: string }).id);
    const third = await post('/Users', { userName: 'c' });
    expect(third.status).toBe(400);
    expect(third.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', detail: 'this profile holds at most 2 users' });
    const list = await request(url).get('/Users').set('Authorization', `Bearer ${SCIM_TOKEN}`);
    expect((list.body as { totalResults: number }).totalResults).toBe(2);

    const tooMany = await post('/Groups', { displayName: 'g', members: [...ids, 'x'].map((value) => ({ value })) });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body).toMatchObject({ scimType: 'invalidValue' });
    expect((await post('/Groups', { displayName: 'g', members: ids.map((value) => ({ value })) })).status).toBe(201);
    expect((await post('/Groups', { displayName: 'h' })).status).toBe(400);
    // The members' identities went to the portal push, each with the group's name.
    expect(pushed).toEqual(expect.arrayContaining(['a', 'b']));
  });
});
