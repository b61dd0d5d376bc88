/**
 * profiles.json where a container puts it (issue 18, point 1; docs/container.md): bind-mounted as a single file
 * (`docker run -v .../profiles.json:...`), the broker warns at start with the fix and a save answers EBUSY with
 * that fix; a directory it cannot write names its user and uid; a read-only directory refuses the start with
 * the admin API on and is served read-only with it off. Real bind mounts (root only: skipped with the reason
 * elsewhere).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { preflight } from '../../../src/preflight.js';
import { isSingleFileMount, saveProfilesFile, realFs, type FsOps } from '../../../src/profiles/file-store.js';
import { ProfileStore } from '../../../src/profiles/store.js';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { offlineLdapProfile } from '../../support/profiles.js';
import { TIB_RULES } from '../../support/rules.js';

const SECRET = 'single-file-mount-test-secret';
let dir: string;
const mounts: string[] = [];
/** Why bind mounts cannot be made here, or '' when they can. */
let cannotMount = '';

function mount(args: string[], target: string): void {
  execFileSync('mount', [...args, target], { stdio: 'pipe' });
  mounts.push(target);
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'single-file-mount-'));
  await fs.writeFile(path.join(dir, 'probe-src'), '');
  await fs.writeFile(path.join(dir, 'probe'), '');
  try {
    mount(['--bind', path.join(dir, 'probe-src')], path.join(dir, 'probe'));
  } catch (err) {
    cannotMount = `bind mounts need root (CAP_SYS_ADMIN): ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`;
    process.stderr.write(`single-file-mount.test.ts: skipped: ${cannotMount}\n`);
  }
});

afterAll(async () => {
  for (const m of mounts.reverse()) execFileSync('umount', [m], { stdio: 'pipe' });
  await fs.rm(dir, { recursive: true, force: true });
});

describe('profiles.json bind-mounted as a single file', () => {
  it('is recognised as a mount point (same filesystem as its directory, so by /proc/self/mountinfo); a plain file is not', async () => {
    if (cannotMount) return;
    expect(await isSingleFileMount(path.join(dir, 'probe'))).toBe(true);
    expect(await isSingleFileMount(path.join(dir, 'probe-src'))).toBe(false);
    expect(await isSingleFileMount(path.join(dir, 'missing.json'))).toBe(false);
  });

  it('warns at start with the fix (mount the directory), instead of at the first admin-API change', async () => {
    if (cannotMount) return;
    const d = await fs.mkdtemp(path.join(dir, 'store-'));
    await fs.writeFile(path.join(d, 'host.json'), '[]\n');
    await fs.writeFile(path.join(d, 'profiles.json'), '');
    mount(['--bind', path.join(d, 'host.json')], path.join(d, 'profiles.json'));
    const store = new ProfileStore([], { path: path.join(d, 'profiles.json'), backupDir: d, keep: 3, rules: TIB_RULES });
    const warning = await new Promise<string>((resolve) => {
      store.once('warning', resolve);
      setTimeout(() => resolve('no warning within 5 s'), 5000).unref();
    });
    expect(warning).toContain(`${path.join(d, 'profiles.json')} is a single-file bind mount`);
    expect(warning).toContain('mount the directory that holds it instead');
    expect(warning).toContain('docs/container.md');
  });

  it('an admin-API change answers EBUSY with that fix, and nothing changes', async () => {
    if (cannotMount) return;
    let b: TestBroker | undefined;
    try {
      b = await startTestBroker({ profiles: [offlineLdapProfile('a'), offlineLdapProfile('b')], config: { Secret: SECRET } });
      const host = path.join(dir, 'host-profiles.json');
      await fs.copyFile(b.profilesPath, host);
      mount(['--bind', host], b.profilesPath);
      const before = await fs.readFile(host, 'utf8');
      const res = await request(b.url).delete('/api/profiles/a').set('Authorization', SECRET);
      expect(res.status).toBe(400);
      const message = (res.body as { Error: string }).Error;
      expect(message).toMatch(/^flush failed: EBUSY/);
      expect(message).toContain('profiles.json is a single-file bind mount');
      expect(message).toContain('mount the directory that holds it instead');
      expect(await fs.readFile(host, 'utf8')).toBe(before);
      expect((await request(b.url).get('/api/profiles/a').set('Authorization', SECRET)).status).toBe(200);
    } finally {
      const m = mounts.pop();
      if (m) execFileSync('umount', [m], { stdio: 'pipe' });
      await b?.close();
    }
  });
});

describe('a profiles directory the broker cannot write', () => {
  it('a read-only mount: the save says the directory is on a read-only filesystem', async () => {
    if (cannotMount) return;
    const d = await fs.mkdtemp(path.join(dir, 'ro-'));
    await fs.writeFile(path.join(d, 'profiles.json'), '[]\n');
    mount(['--bind', d], d);
    execFileSync('mount', ['-o', 'remount,ro,bind', d], { stdio: 'pipe' });
    await expect(saveProfilesFile(path.join(d, 'profiles.json'), [], { backupDir: d, keep: 3 })).rejects.toThrow(`${d} is on a read-only filesystem: mount it read-write`);
  });

  it('a read-only directory (docs/container.md, docs/profiles.md): with Secret set the start refuses, saying so; with Secret empty it serves read-only', async () => {
    if (cannotMount) return;
    const d = await fs.mkdtemp(path.join(dir, 'ro-start-'));
    await fs.writeFile(path.join(d, 'profiles.json'), '[]\n');
    const conf = path.join(dir, 'ro-start-tib.conf');
    await fs.writeFile(conf, '{}\n');
    mount(['--bind', d], d);
    execFileSync('mount', ['-o', 'remount,ro,bind', d], { stdio: 'pipe' });
    const check = (secret: string) => preflight({ confPath: conf, profilesPath: path.join(d, 'profiles.json'), env: { TYK_IB_SECRET: secret }, strict: false });
    const on = await check(SECRET);
    expect(on.errors).toEqual([expect.stringContaining(`${d}, the directory of profiles.json, is not writable by the broker's user`)]);
    const off = await check('');
    expect(off.errors).toEqual([]);
    expect(off.warnings).toEqual(expect.arrayContaining([expect.stringContaining('(only used by the admin API, which is off)')]));
  });

  it('permission denied names the broker\'s user and uid, and the image\'s (node, uid 1000)', async () => {
    // Root writes anywhere, so the refusal is injected; the container test (test/slow/container.test.ts) runs as node.
    const denied: FsOps = { ...realFs, writeNew: () => Promise.reject(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' })) };
    const d = await fs.mkdtemp(path.join(dir, 'denied-'));
    const user = `${os.userInfo().username} (uid ${process.getuid?.()})`;
    await expect(saveProfilesFile(path.join(d, 'profiles.json'), [], { backupDir: d, keep: 3, ops: denied })).rejects.toThrow(
      `EACCES: permission denied: ${d} is not writable by the broker's user, ${user}: make that user its owner (the image's user is node, uid 1000: chown 1000:1000 on the host directory)`,
    );
  });
});
