/**
 * profiles.json on disk. Loading validates everything; saving never corrupts the file: the previous
 * content is backed up, the new content goes to a temp file in the same directory that is fsynced and
 * renamed over the target (atomic on POSIX), then the directory is fsynced. Any failing step leaves the old
 * file intact and no temp file behind. The file holds secrets: the new file keeps the old one's mode and
 * owner (0600 when there was none), backups are always 0600, and temp files a crash left are removed at start.
 */
import { createHash, randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { jsonSyntaxProblem } from '../config/json-syntax.js';
import { orderedProfile, type Profile } from './profile.js';
import { validateProfileList, type ValidationResult, type ValidationRules } from './validate.js';

/** Permission bits and owner a new file is given. */
export interface FileMode {
  mode: number;
  /** Applied only when running as root (only root can give a file away). */
  uid?: number;
  gid?: number;
}

/** Mode for a profiles file that did not exist, and for every backup: owner only. */
export const PRIVATE: FileMode = { mode: 0o600 };

/** The file operations a save uses; injectable so tests can fail each step. */
export interface FsOps {
  readFile(p: string): Promise<string>;
  /** Mode and owner of an existing file (rejects with ENOENT when there is none). */
  stat(p: string): Promise<Required<FileMode>>;
  writeNew(p: string, data: string, mode?: FileMode): Promise<void>;
  fsyncDir(dir: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(p: string): Promise<void>;
  readdir(dir: string): Promise<string[]>;
  /** The file a path names once symbolic links are followed (rejects with ENOENT when there is none). */
  realpath?(p: string): Promise<string>;
}

export const realFs: FsOps = {
  readFile: (p) => fsp.readFile(p, 'utf8'),
  async stat(p) {
    const st = await fsp.stat(p);
    return { mode: st.mode & 0o777, uid: st.uid, gid: st.gid };
  },
  /** Create (never overwrite) with the given mode and owner, write and fsync. */
  async writeNew(p, data, mode = PRIVATE) {
    const fh = await fsp.open(p, 'wx', 0o600);
    try {
      // Mode and owner before any byte is written; chmod because the umask may have narrowed open's mode.
      await fh.chmod(mode.mode);
      if (process.getuid?.() === 0 && mode.uid !== undefined && mode.gid !== undefined) await fh.chown(mode.uid, mode.gid);
      await fh.writeFile(data, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
  },
  async fsyncDir(dir) {
    const fh = await fsp.open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  },
  rename: (a, b) => fsp.rename(a, b),
  unlink: (p) => fsp.unlink(p),
  readdir: (d) => fsp.readdir(d),
  realpath: (p) => fsp.realpath(p),
};

/**
 * Where a save must write: through a symbolic link to the file it names, as TIB's os.WriteFile does. A rename
 * over the link itself would replace it with a regular file, which the link's target (a ConfigMap volume,
 * a file in a config repository) would never see again.
 */
async function writeTarget(file: string, ops: FsOps): Promise<string> {
  try {
    return ops.realpath ? await ops.realpath(file) : file;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return file;
    throw err;
  }
}

/**
 * Whether `named` is a mount point of its own: a single-file bind mount (`docker run -v .../profiles.json:...`).
 * Such a file can be read but never replaced, and a save replaces it: rename(2) onto a mount point answers
 * EBUSY. /proc/self/mountinfo lists it even when host and container share a filesystem (same st_dev); where
 * there is no mountinfo, a device that differs from its directory's.
 */
export async function isSingleFileMount(named: string): Promise<boolean> {
  let file: string;
  try {
    file = await fsp.realpath(named);
  } catch {
    return false;
  }
  let mountinfo: string;
  try {
    mountinfo = await fsp.readFile('/proc/self/mountinfo', 'utf8');
  } catch {
    const [f, d] = await Promise.all([fsp.stat(file), fsp.stat(path.dirname(file))]).catch(() => []);
    return f !== undefined && d !== undefined && f.dev !== d.dev;
  }
  // The fifth field is the mount point, with space, tab, newline and backslash written as octal escapes.
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return mountinfo.split('\n').some((line) => unescape(line.split(' ')[4] ?? '') === file);
}

/** What to do about a single-file mount (docs/container.md#mount-a-directory-not-the-file). */
export function singleFileMountFix(file: string): string {
  return `${file} is a single-file bind mount, which the broker can read but never replace (a save writes a new file and renames it over the old one): mount the directory that holds it instead (docs/container.md#mount-a-directory-not-the-file)`;
}

/** The broker's user, for "not writable" answers: in the image, node (uid 1000). */
export function brokerUser(): string {
  const uid = process.getuid?.();
  if (uid === undefined) return "the broker's user";
  let name = '';
  try {
    name = os.userInfo().username;
  } catch {
    // A uid without a passwd entry (docker run -u 1234): the number says it.
  }
  return name ? `${name} (uid ${uid})` : `uid ${uid}`;
}

/** A failed save's error with the fix for what an operator fixes outside the broker (the mount, the owner). */
function withHint(err: unknown, file: string, dir: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  const hint =
    code === 'EBUSY'
      ? singleFileMountFix(file)
      : code === 'EACCES' || code === 'EPERM'
        ? `${dir} is not writable by the broker's user, ${brokerUser()}: make that user its owner (the image's user is node, uid 1000: chown 1000:1000 on the host directory)`
        : code === 'EROFS'
          ? `${dir} is on a read-only filesystem: mount it read-write (the image's read-only root filesystem leaves a -v directory writable)`
          : undefined;
  return hint ? Object.assign(new Error(`${(err as Error).message}: ${hint}`), { code }) : err;
}

export function contentHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export interface LoadedProfiles extends ValidationResult {
  /** Hash of the bytes loaded, so a file watcher can tell our own writes from an operator's edit. */
  hash: string;
}

export async function loadProfilesFile(file: string, ops: FsOps = realFs, rules: ValidationRules): Promise<LoadedProfiles> {
  const name = path.basename(file);
  let text: string;
  try {
    text = await ops.readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' ? `file not found: ${file}` : `cannot read ${file}: ${code ?? String(err)}`;
    return { profiles: [], problems: [{ file: name, profileId: '', index: -1, field: '', message }], warnings: [], hash: '' };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    // Position only: V8's message quotes the text around the error, which may be a secret.
    return { profiles: [], problems: [{ file: name, profileId: '', index: -1, field: '', message: jsonSyntaxProblem(text, err) }], warnings: [], hash: contentHash(text) };
  }
  return { ...validateProfileList(json, name, rules), hash: contentHash(text) };
}

/** Pretty JSON in TIB's field order. */
export function serializeProfiles(profiles: readonly Profile[]): string {
  const ordered = profiles.map(orderedProfile);
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

const BACKUP = /^profiles_backup_(\d+)(?:_(\d+))?\.json$/;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Remove the temp files an interrupted save left next to `file` (they hold every secret, and nothing
 * else ever removes them). Only names of our exact pattern; call at start, before any save can run.
 * Returns the names removed.
 */
export async function removeStaleTempFiles(named: string, ops: FsOps = realFs): Promise<string[]> {
  const file = await writeTarget(named, ops).catch(() => named);
  const dir = path.dirname(file);
  const ours = new RegExp(`^\\.${escapeRegExp(path.basename(file))}\\.\\d+\\.[0-9a-f]{12}\\.tmp$`);
  let names: string[];
  try {
    names = await ops.readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names.filter((n) => ours.test(n))) {
    try {
      await ops.unlink(path.join(dir, name));
      removed.push(name);
    } catch {
      // Gone already, or not ours to remove: nothing to do.
    }
  }
  return removed;
}

export interface SaveOptions {
  backupDir: string;
  /** How many backups to keep (the newest). */
  keep: number;
  ops?: FsOps;
  now?: () => number;
}

/** Returns the hash of what was written, and any warning (a failed pruning of old backups). */
export async function saveProfilesFile(named: string, profiles: readonly Profile[], opts: SaveOptions): Promise<{ hash: string; warnings: string[] }> {
  const ops = opts.ops ?? realFs;
  const file = await writeTarget(named, ops);
  const dir = path.dirname(file);
  const warnings: string[] = [];

  // 1. Back up what is there now (TIB does this too); a new file is fine.
  let previous: string | undefined;
  let mode = PRIVATE;
  try {
    previous = await ops.readFile(file);
    mode = await ops.stat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (previous !== undefined) await writeBackup(previous, opts.backupDir, ops, (opts.now ?? Date.now)()).catch((err: unknown) => Promise.reject(withHint(err, file, opts.backupDir)));

  // 2. Temp file, fsync, rename, fsync the directory.
  const data = serializeProfiles(profiles);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await ops.writeNew(tmp, data, mode);
    await ops.rename(tmp, file);
  } catch (err) {
    await ops.unlink(tmp).catch(() => undefined);
    throw withHint(err, file, dir);
  }
  try {
    await ops.fsyncDir(dir);
  } catch (err) {
    // The rename is done; only its durability across a power cut is in doubt.
    warnings.push(`fsync of ${dir} failed: ${(err as Error).message}`);
  }

  // 3. Keep the newest `keep` backups. The new file is in place already, so a failure here is a warning.
  try {
    await pruneBackups(opts.backupDir, opts.keep, ops);
  } catch (err) {
    warnings.push(`pruning backups in ${opts.backupDir} failed: ${(err as Error).message}`);
  }
  return { hash: contentHash(data), warnings };
}

async function writeBackup(content: string, backupDir: string, ops: FsOps, nowMs: number): Promise<void> {
  const unix = Math.floor(nowMs / 1000);
  // Never overwrite a backup (TIB does, for two changes in the same second).
  for (let n = 0; n < 1000; n++) {
    const name = n === 0 ? `profiles_backup_${unix}.json` : `profiles_backup_${unix}_${n}.json`;
    try {
      await ops.writeNew(path.join(backupDir, name), content, PRIVATE);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new Error(`too many backups for second ${unix} in ${backupDir}`);
}

async function pruneBackups(backupDir: string, keep: number, ops: FsOps): Promise<void> {
  const backups = (await ops.readdir(backupDir))
    .map((name) => ({ name, m: BACKUP.exec(name) }))
    .filter((b): b is { name: string; m: RegExpExecArray } => b.m !== null)
    .sort((a, b) => Number(b.m[1]) - Number(a.m[1]) || Number(b.m[2] ?? 0) - Number(a.m[2] ?? 0));
  for (const b of backups.slice(keep)) await ops.unlink(path.join(backupDir, b.name));
}
