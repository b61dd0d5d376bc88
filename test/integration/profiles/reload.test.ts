/**
 * Hot reload: a good file replaces the set atomically, a bad one is rejected and the last good set keeps
 * serving; the directory watch sees an editor's rename-replace and ignores the broker's own writes.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { getLogger } from '../../../src/log.js';
import { loadProfilesFile } from '../../../src/profiles/file-store.js';
import { reloadProfiles, watchProfiles } from '../../../src/profiles/reload.js';
import { ProfileStore } from '../../../src/profiles/store.js';
import { startTestBroker } from '../../support/broker.js';
import { bareLdapProfile } from '../../support/profiles.js';
import { TIB_RULES } from '../../support/rules.js';

const ldap = (id: string, name = '') => bareLdapProfile(id, { Name: name });
const log = getLogger('TEST');

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'reload-'));
});
afterAll(() => fs.rm(dir, { recursive: true, force: true }));

async function storeFor(name: string, initial: unknown[]) {
  const file = path.join(dir, `${name}.json`);
  await fs.writeFile(file, JSON.stringify(initial));
  const loaded = await loadProfilesFile(file, undefined, TIB_RULES);
  return { file, store: new ProfileStore(loaded.profiles, { path: file, backupDir: dir, keep: 3, hash: loaded.hash, rules: TIB_RULES }) };
}

function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const end = Date.now() + ms;
    const tick = () => (cond() ? resolve() : Date.now() > end ? reject(new Error('timed out')) : setTimeout(tick, 20));
    tick();
  });
}

describe('reloadProfiles', () => {
  it('replaces the set with a valid file and keeps unchanged profiles as the same objects', async () => {
    const { file, store } = await storeFor('good', [ldap('a'), ldap('b')]);
    const a = store.get('a');
    let changes = 0;
    store.on('change', () => changes++);
    await fs.writeFile(file, JSON.stringify([ldap('a'), ldap('b', 'changed'), ldap('c')]));
    const r = await reloadProfiles(store, log);
    expect(r).toMatchObject({ ok: true, unchanged: false });
    expect(store.list().map((p) => p.ID)).toEqual(['a', 'b', 'c']);
    expect(store.get('a')).toBe(a);
    expect(store.get('b')?.Name).toBe('changed');
    expect(changes).toBe(1);
  });

  it('rejects an invalid file with every problem and keeps the last good set', async () => {
    const { file, store } = await storeFor('bad', [ldap('a')]);
    await fs.writeFile(file, JSON.stringify([ldap('a', 'new'), { ...ldap('b'), ProviderName: 'Nope' }, { ...ldap('c'), ID: 'c d' }]));
    const r = await reloadProfiles(store, log);
    expect(r.ok).toBe(false);
    expect(r.problems.map((p) => p.field)).toEqual(['ProviderName', 'ID']);
    expect(store.list().map((p) => [p.ID, p.Name])).toEqual([['a', '']]);
    await fs.writeFile(file, '[{"ID": "x",');
    expect((await reloadProfiles(store, log)).ok).toBe(false);
    expect(store.list().map((p) => p.ID)).toEqual(['a']);
  });
});

describe('a JSON syntax error', () => {
  it('is reported with line and column only, never the text around it (it may be a secret)', async () => {
    const { file, store } = await storeFor('syntax', [ldap('a')]);
    await fs.writeFile(file, '[\n  {"ID": "a", "ProviderConfig": {"LDAPAdminPassword": "hunter2-ldap-pw",, "x": 1}}\n]');
    const r = await reloadProfiles(store, log);
    expect(r.problems.map((p) => p.message)).toEqual(['invalid JSON at line 2 column 73: expected double-quoted property name']);
  });
});

describe('a deeply nested value', () => {
  it('is a rejected reload naming the profile and field, not an exception that kills the process', async () => {
    const { file, store } = await storeFor('deep', [ldap('a')]);
    const deep = `${'{"x":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    await fs.writeFile(file, `[{"ID":"a","ActionType":"GenerateOrLoginUserProfile","ProviderName":"ADProvider","ProviderConfig":{"LDAPServer":"h","LDAPPort":"389","LDAPUserDN":"u","Extra":${deep}}}]`);
    const r = await reloadProfiles(store, log);
    expect(r.ok).toBe(false);
    expect(r.problems.map((p) => [p.profileId, p.field])).toEqual([['a', 'ProviderConfig.Extra.x']]);
    expect(store.list().map((p) => p.ID)).toEqual(['a']);
    // The same file blocks an API write with the same clean message (the store adopts edits first).
    await expect(store.create(ldap('b') as never)).rejects.toMatchObject({ kind: 'flush', message: expect.stringMatching(/nested more than 32 levels deep/) });
  });
});

describe('watchProfiles', () => {
  it("reloads on an editor's rename-replace and ignores the broker's own writes", async () => {
    const { file, store } = await storeFor('watched', [ldap('a')]);
    let reloads = 0;
    const results: boolean[] = [];
    const watcher = watchProfiles(file, () => {
      reloads++;
      void reloadProfiles(store, log).then((r) => results.push(r.unchanged));
    }, 50);
    try {
      // The broker's own write (through the store) fires the watch but is recognised as unchanged.
      await store.create(ldap('b') as never);
      await waitFor(() => results.length >= 1);
      expect(results.every((u) => u)).toBe(true);
      // An operator replaces the file by rename, as editors and ConfigMaps do.
      const tmp = path.join(dir, 'watched.json.swp');
      await fs.writeFile(tmp, JSON.stringify([ldap('a'), ldap('b'), ldap('z')]));
      await fs.rename(tmp, file);
      await waitFor(() => store.get('z') !== undefined);
      expect(reloads).toBeGreaterThanOrEqual(2);
    } finally {
      watcher.close();
    }
  });
});

describe('reloads and API writes together', () => {
  const ids = async (file: string) => ((JSON.parse(await fs.readFile(file, 'utf8')) as Array<{ ID: string }>).map((p) => p.ID));

  it("an API write lands on top of an operator's edit that was not reloaded yet, never over it", async () => {
    const { file, store } = await storeFor('edited', [ldap('a')]);
    await fs.writeFile(file, JSON.stringify([ldap('a', 'edited by hand'), ldap('b')]));
    await store.create(ldap('c') as never);
    expect(await ids(file)).toEqual(['a', 'b', 'c']);
    expect(store.list().map((p) => [p.ID, p.Name])).toEqual([['a', 'edited by hand'], ['b', ''], ['c', '']]);
    // And the API answers against the adopted set: b exists now.
    await expect(store.create(ldap('b') as never)).rejects.toMatchObject({ kind: 'exists' });
  });

  it('a half-finished (invalid) edit on disk blocks API writes and is left as it is', async () => {
    const { file, store } = await storeFor('half-edited', [ldap('a')]);
    const halfDone = '[{"ID": "a", "ProviderName": "ADProvider",';
    await fs.writeFile(file, halfDone);
    await expect(store.create(ldap('c') as never)).rejects.toMatchObject({ kind: 'flush', message: expect.stringMatching(/edited on disk and does not validate/) });
    expect(await fs.readFile(file, 'utf8')).toBe(halfDone);
    expect(store.list().map((p) => p.ID)).toEqual(['a']);
  });

  it('an edit on disk, an API write and a reload at once: memory and disk end up the same, with both changes', async () => {
    const { file, store } = await storeFor('racing', [ldap('a')]);
    await fs.writeFile(file, JSON.stringify([ldap('a'), ldap('x')]));
    // The reload reads while the write is queued: it must not swap in what it read after the write lands.
    await Promise.all([store.create(ldap('b') as never), reloadProfiles(store, log), store.create(ldap('c') as never)]);
    expect(store.list().map((p) => p.ID)).toEqual(['a', 'b', 'c', 'x']);
    expect(await ids(file)).toEqual(['a', 'b', 'c', 'x']);
  });
});

describe('after a rejected reload', () => {
  it('the next good one is logged at INFO, also when it puts back the set being served (file watch and SIGHUP)', async () => {
    const b = await startTestBroker({ profiles: [ldap('a')], watch: true });
    try {
      const good = await fs.readFile(b.profilesPath, 'utf8');
      const lines = () => b.logs.filter((l) => /profiles file (rejected|is valid again)|profiles reloaded/.test(l));
      // The file watch: a bad edit, then the edit undone.
      await fs.writeFile(b.profilesPath, '[{"ID": "a",');
      await waitFor(() => lines().length === 1);
      await fs.writeFile(b.profilesPath, good);
      await waitFor(() => lines().length === 2);
      expect(lines()[1]).toMatch(/\[INFO\] .*profiles file is valid again, the same as the set being served \(1 profiles\)/);
    } finally {
      await b.close();
    }
    // SIGHUP calls broker.reload() (src/main.ts), here without a watch: a good file after a rejected one says so too.
    const h = await startTestBroker({ profiles: [ldap('a')] });
    try {
      const good = await fs.readFile(h.profilesPath, 'utf8');
      const lines = () => h.logs.filter((l) => /profiles file (rejected|is valid again)|profiles reloaded/.test(l));
      await fs.writeFile(h.profilesPath, '[{"ID": "a",');
      expect((await h.broker.reload()).ok).toBe(false);
      await fs.writeFile(h.profilesPath, good);
      expect((await h.broker.reload()).ok).toBe(true);
      await waitFor(() => lines().length === 2);
      expect(lines()[1]).toMatch(/\[INFO\] .*profiles file is valid again/);
      // Once said, an unchanged file is quiet again.
      expect((await h.broker.reload()).ok).toBe(true);
      expect(lines()).toHaveLength(2);
    } finally {
      await h.close();
    }
  });
});
