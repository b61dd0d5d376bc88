/**
 * profiles.json is never corrupted: every failing step of a save leaves the old file (and no temp file);
 * backups are named as TIB names them, never overwritten, and pruned to the newest N; a process killed in
 * the middle of saving leaves a file that parses and is either the old or the new content.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { realFs, saveProfilesFile, serializeProfiles, type FsOps } from '../../src/profiles/file-store.js';
import { validateProfileList } from '../../src/profiles/validate.js';
import type { Profile } from '../../src/profiles/profile.js';

const root = path.resolve(import.meta.dirname, '../..');
const profile = (id: string): Profile =>
  validateProfileList([
    {
      ID: id,
      ActionType: 'GenerateOrLoginUserProfile',
      ProviderName: 'ADProvider',
      ProviderConfig: { LDAPServer: 'ldap.example.com', LDAPPort: '389', LDAPUserDN: 'uid=*USERNAME*,dc=example,dc=org' },
    },
  ]).profiles[0] as Profile;

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'persist-'));
});
afterAll(() => fs.rm(dir, { recursive: true, force: true }));

async function fresh(name: string, content: Profile[]) {
  const d = path.join(dir, name);
  await fs.mkdir(d);
  const file = path.join(d, 'profiles.json');
  await fs.writeFile(file, serializeProfiles(content));
  return { d, file };
}

describe('each failing step leaves the old file intact and no temp file', () => {
  const steps: Array<[string, (ops: FsOps) => FsOps]> = [
    ['reading the current file', (o) => ({ ...o, readFile: () => Promise.reject(Object.assign(new Error('EIO'), { code: 'EIO' })) })],
    ['writing the backup', (o) => ({ ...o, writeNew: (p, d) => (p.includes('profiles_backup_') ? Promise.reject(new Error('ENOSPC: injected')) : o.writeNew(p, d)) })],
    ['writing the temp file', (o) => ({ ...o, writeNew: (p, d) => (p.endsWith('.tmp') ? o.writeNew(p, d.slice(0, 10)).then(() => Promise.reject(new Error('ENOSPC: injected'))) : o.writeNew(p, d)) })],
    ['renaming', (o) => ({ ...o, rename: () => Promise.reject(new Error('EXDEV: injected')) })],
  ];
  for (const [name, inject] of steps) {
    it(name, async () => {
      const { d, file } = await fresh(name.replace(/\W/g, '-'), [profile('old')]);
      const before = await fs.readFile(file, 'utf8');
      await expect(saveProfilesFile(file, [profile('new')], { backupDir: d, keep: 5, ops: inject(realFs) })).rejects.toThrow();
      expect(await fs.readFile(file, 'utf8')).toBe(before);
      expect((await fs.readdir(d)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    });
  }

  it('a failed directory fsync after the rename is only a warning (the new file is in place)', async () => {
    const { d, file } = await fresh('fsync', [profile('old')]);
    const r = await saveProfilesFile(file, [profile('new')], { backupDir: d, keep: 5, ops: { ...realFs, fsyncDir: () => Promise.reject(new Error('EINVAL')) } });
    expect(r.warnings[0]).toContain('fsync');
    expect(validateProfileList(JSON.parse(await fs.readFile(file, 'utf8'))).profiles[0]?.ID).toBe('new');
  });
});

describe('backups', () => {
  it('are named profiles_backup_<unix>.json, never overwritten in the same second, pruned to the newest N', async () => {
    const { d, file } = await fresh('backups', [profile('v0')]);
    const second = 1_700_000_000;
    for (let i = 1; i <= 5; i++) {
      await saveProfilesFile(file, [profile(`v${i}`)], { backupDir: d, keep: 3, now: () => (i < 4 ? second : second + i) * 1000 });
    }
    const backups = (await fs.readdir(d)).filter((f) => f.startsWith('profiles_backup_')).sort();
    expect(backups).toEqual([`profiles_backup_${second}_2.json`, `profiles_backup_${second + 4}.json`, `profiles_backup_${second + 5}.json`]);
    const v2 = validateProfileList(JSON.parse(await fs.readFile(path.join(d, `profiles_backup_${second}_2.json`), 'utf8'))).profiles[0];
    expect(v2?.ID).toBe('v2');
  });
});

describe('a crash in the middle of saving', () => {
  it('leaves a file that parses and holds the old or the new set (SIGKILL during a save loop)', async () => {
    // A plain node child imports the real save code from dist/ (built by the suite's global setup).
    const { d, file } = await fresh('crash', [profile('start')]);
    const big = (tag: string) => Array.from({ length: 400 }, (_, i) => ({ ...profile(`${tag}-${i}`), Name: tag.repeat(200) }));
    const sets = { a: big('a'), b: big('b') };
    const script = `
      import { saveProfilesFile } from ${JSON.stringify(path.join(root, 'dist/profiles/file-store.js'))};
      import fs from 'node:fs';
      const sets = JSON.parse(fs.readFileSync(process.argv[1], 'utf8'));
      process.send('ready');
      for (let i = 0; ; i++) await saveProfilesFile(${JSON.stringify(file)}, i % 2 ? sets.b : sets.a, { backupDir: ${JSON.stringify(d)}, keep: 2 });
    `;
    const setsFile = path.join(dir, 'sets.json');
    await fs.writeFile(setsFile, JSON.stringify(sets));
    const valid = new Set([serializeProfiles([profile('start')]), serializeProfiles(sets.a), serializeProfiles(sets.b)]);
    for (let round = 0; round < 5; round++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script, setsFile], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      await new Promise((r) => child.once('message', r));
      await new Promise((r) => setTimeout(r, 40 + round * 37));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const text = await fs.readFile(file, 'utf8');
      expect(valid.has(text)).toBe(true);
    }
  }, 120_000);
});
