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
import { createBroker } from '../../../src/broker.js';
import { defaultConfig } from '../../../src/config/load.js';
import { loadProfilesFile, realFs, removeStaleTempFiles, saveProfilesFile, serializeProfiles, type FsOps } from '../../../src/profiles/file-store.js';
import { captureLogs } from '../../support/logs.js';
import { validateProfileList } from '../../../src/profiles/validate.js';
import type { Profile } from '../../../src/profiles/profile.js';
import { offlineLdapProfile } from '../../support/profiles.js';
import { TIB_RULES } from '../../support/rules.js';

const root = path.resolve(import.meta.dirname, '../../..');
const profile = (id: string): Profile =>
  validateProfileList([
    {
      ID: id,
      ActionType: 'GenerateOrLoginUserProfile',
      ProviderName: 'ADProvider',
      ProviderConfig: { LDAPServer: 'ldap.example.com', LDAPPort: '389', LDAPUserDN: 'uid=*USERNAME*,dc=example,dc=org' },
    },
  ], undefined, TIB_RULES).profiles[0] as Profile;

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
    expect(validateProfileList(JSON.parse(await fs.readFile(file, 'utf8')), undefined, TIB_RULES).profiles[0]?.ID).toBe('new');
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
    const v2 = validateProfileList(JSON.parse(await fs.readFile(path.join(d, `profiles_backup_${second}_2.json`), 'utf8')), undefined, TIB_RULES).profiles[0];
    expect(v2?.ID).toBe('v2');
  });
});

describe('file permissions: profiles.json holds every secret', () => {
  const mode = async (p: string) => (await fs.stat(p)).mode & 0o777;

  it('a save keeps the mode of the file it replaces, and backups are 0600 whatever the original', async () => {
    for (const original of [0o600, 0o640]) {
      const { d, file } = await fresh(`mode-${original.toString(8)}`, [profile('old')]);
      await fs.chmod(file, original);
      await saveProfilesFile(file, [profile('new')], { backupDir: d, keep: 5 });
      expect(await mode(file)).toBe(original);
      const backups = (await fs.readdir(d)).filter((f) => f.startsWith('profiles_backup_'));
      expect(backups).toHaveLength(1);
      expect(await mode(path.join(d, backups[0]!))).toBe(0o600);
    }
  });

  it('a new file is 0600, whatever the umask allows', async () => {
    const d = path.join(dir, 'mode-new');
    await fs.mkdir(d);
    const file = path.join(d, 'profiles.json');
    await saveProfilesFile(file, [profile('new')], { backupDir: d, keep: 5 });
    expect(await mode(file)).toBe(0o600);
  });

  // Only root can give a file to another user, so only a broker running as root can keep the owner.
  (process.getuid?.() === 0 ? it : it.skip)('running as root, a save keeps the owner and group of the file it replaces', async () => {
    const { d, file } = await fresh('owner', [profile('old')]);
    await fs.chown(file, 4321, 4322);
    await saveProfilesFile(file, [profile('new')], { backupDir: d, keep: 5 });
    const st = await fs.stat(file);
    expect([st.uid, st.gid]).toEqual([4321, 4322]);
  });

  it('temp files an interrupted save left are removed at start, and nothing else', async () => {
    const { d, file } = await fresh('stale', [profile('a')]);
    const stale = ['.profiles.json.4242.0123456789ab.tmp', '.profiles.json.1.fedcba987654.tmp'];
    const others = ['.profiles.json.swp', '.other.json.4242.0123456789ab.tmp', 'profiles.json.4242.0123456789ab.tmp', '.profiles.json.x.0123456789ab.tmp'];
    for (const f of [...stale, ...others]) await fs.writeFile(path.join(d, f), 'secret-bearing leftovers');
    const logs = captureLogs();
    try {
      const broker = await createBroker({ config: { ...defaultConfig(), ProfileDir: d }, profilesPath: file, watch: false });
      await broker.close();
    } finally {
      logs.stop();
    }
    expect((await fs.readdir(d)).sort()).toEqual([...others, 'profiles.json'].sort());
    for (const f of stale) expect(logs.lines.join('\n')).toContain(`removed ${f}, left by an interrupted save`);
  });

  it('--check (validation only) removes nothing', async () => {
    const { d, file } = await fresh('stale-check', [profile('a')]);
    await fs.writeFile(path.join(d, '.profiles.json.4242.0123456789ab.tmp'), 'x');
    const broker = await createBroker({ config: { ...defaultConfig(), ProfileDir: d }, profilesPath: file, watch: false, check: true });
    await broker.close();
    expect(await fs.readdir(d)).toContain('.profiles.json.4242.0123456789ab.tmp');
    expect(await removeStaleTempFiles(file)).toEqual(['.profiles.json.4242.0123456789ab.tmp']);
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
    // Whatever temp files the kills left are ours to remove at the next start.
    await removeStaleTempFiles(file);
    expect((await fs.readdir(d)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  }, 120_000);
});

describe('a profiles.json that is a symbolic link', () => {
  // Kubernetes ConfigMap style: profiles.json -> ..data/profiles.json, ..data -> ..2026_11_25/ (a writable one here).
  it('is written through the link, which stays a link, keeping the target mode', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'review-symlink-'));
    try {
      await fs.mkdir(path.join(dir, '..2026_11_25'));
      await fs.symlink('..2026_11_25', path.join(dir, '..data'));
      const target = path.join(dir, '..2026_11_25', 'profiles.json');
      await fs.writeFile(target, JSON.stringify([offlineLdapProfile('one')]), { mode: 0o640 });
      await fs.chmod(target, 0o640);
      const link = path.join(dir, 'profiles.json');
      await fs.symlink(path.join('..data', 'profiles.json'), link);

      const loaded = await loadProfilesFile(link, undefined, TIB_RULES);
      expect(loaded.problems).toEqual([]);
      const two = (await loadProfilesFile(link, undefined, TIB_RULES)).profiles.map((p) => ({ ...p, ID: 'two' }));
      await saveProfilesFile(link, [...loaded.profiles, ...two], { backupDir: dir, keep: 3 });

      expect((await fs.lstat(link)).isSymbolicLink()).toBe(true);
      expect((await loadProfilesFile(target, undefined, TIB_RULES)).profiles.map((p) => p.ID)).toEqual(['one', 'two']);
      expect((await fs.stat(target)).mode & 0o777).toBe(0o640);
      // A temp file left by a crash next to the target is found through the link too.
      const stale = path.join(dir, '..2026_11_25', `.profiles.json.${process.pid}.0123456789ab.tmp`);
      await fs.writeFile(stale, 'secrets');
      expect(await removeStaleTempFiles(link)).toEqual([path.basename(stale)]);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
